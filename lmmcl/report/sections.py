"""Every report section beyond the accuracy matrix, summary and continual-learning metrics, listed once:
a new probe adds its :class:`~lmmcl.contracts.ReportSection` here (or calls :func:`register` from its own
module) and never edits the report's core.

``COMPUTED``: report.json key -> fn(skills, heldout, stages), recomputed from the matrix whenever a report is
built. ``SECTIONS``: rendered into report.md in this order (and drawn, when they have a figure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmmcl.contracts import ReportSection
from lmmcl.eval.counting_bias_section import CountingBiasSection
from lmmcl.eval.drift import render_drift
from lmmcl.eval.transfer import render_transfer, transfer_metrics


class Rendered(ReportSection):
    """A section that only renders (its data is computed from the matrix or collected by a callback)."""

    def __init__(self, key: str, render: Callable[[dict[str, Any]], list[str]]):
        self.key, self._render = key, render

    def render(self, report: dict[str, Any]) -> list[str]:
        return self._render(report)


COMPUTED: dict[str, Callable[[list[str], list[str], list[dict[str, Any]]], Any]] = {
    "transfer": transfer_metrics,
}
SECTIONS: list[ReportSection] = [Rendered("transfer", render_transfer), Rendered("drift", render_drift),
                                 CountingBiasSection()]


def register(section: ReportSection) -> None:
    """Add ``section`` after the others (its key must be new)."""
    if any(s.key == section.key for s in SECTIONS):
        raise ValueError(f"A report section {section.key!r} exists already.")
    SECTIONS.append(section)


def computed_sections(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: fn(skills, heldout, stages) for key, fn in COMPUTED.items()}
