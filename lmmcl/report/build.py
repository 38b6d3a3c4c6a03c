"""report.json's content: the accuracy matrix rows, the names and counts, the sections the run's callbacks
collected, and what is recomputed from the matrix whenever a report is built (docs/reference/metrics.md)."""

from __future__ import annotations

from typing import Any

from lmmcl.report.metrics import cl_metrics, summarize
from lmmcl.report.sections import COMPUTED, SECTIONS, computed_sections

RECOMPUTED = ("summary", "cl_metrics", *COMPUTED)  # never taken from a logged report: always from the matrix


def build_report(model: str, recipe: str, skills: list[str], heldout: list[str], stages: list[dict[str, Any]],
                 trainable_params: int, total_params: int, **extra: Any) -> dict[str, Any]:
    """The report of a run; ``extra``: the other sections (``counting_bias``, ``drift``, ``samples``, ...)."""
    extra = {k: v for k, v in extra.items() if k not in RECOMPUTED}
    always = {s.key: extra.pop(s.key, None) or s.empty for s in SECTIONS if s.empty is not None}
    extra.update(computed_sections(skills, heldout, stages))
    return {"model": model, "recipe": recipe, "skills": skills, "heldout": heldout,
            "trainable_params": trainable_params, "total_params": total_params, "stages": stages,
            "summary": summarize(skills, heldout, stages), "cl_metrics": cl_metrics(skills, heldout, stages),
            **always, **extra}


def rebuild(report: dict[str, Any]) -> dict[str, Any]:
    """A report rebuilt from a report.json's logged parts: matrix rows, names, counts and other sections."""
    return build_report(**{k: v for k, v in report.items() if k not in RECOMPUTED})
