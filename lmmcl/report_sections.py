"""Report sections computed or rendered outside :mod:`lmmcl.report`: one entry per section, so adding a
section touches this table, not the report's core.

``COMPUTED``: report.json key -> fn(skills, heldout, stages), recomputed from the accuracy matrix whenever a
report is built. ``RENDERED``: fns(report) -> Markdown lines, appended to report.md in this order.
"""

from __future__ import annotations

from typing import Any, Callable

from lmmcl.eval.drift import render_drift
from lmmcl.eval.transfer import render_transfer, transfer_metrics

COMPUTED: dict[str, Callable[[list[str], list[str], list[dict[str, Any]]], Any]] = {
    "transfer": transfer_metrics,
}
RENDERED: list[Callable[[dict[str, Any]], list[str]]] = [render_transfer, render_drift]


def computed_sections(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: fn(skills, heldout, stages) for key, fn in COMPUTED.items()}


def rendered_sections(report: dict[str, Any]) -> list[str]:
    return [line for fn in RENDERED for line in fn(report)]
