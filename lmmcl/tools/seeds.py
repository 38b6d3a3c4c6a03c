"""Several seeds of one comparison: per-recipe mean, spread and per-seed values of the summary metrics.

``lmmcl compare --seeds 0 1 2`` trains every recipe once per seed and writes these rows to summary.json;
claims are judged on the means with the spread beside them (:mod:`lmmcl.tools.claims`).
"""

from __future__ import annotations

import statistics
from typing import Any

METRICS = ("learning", "heldout_final", "heldout_mean")


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (0 for one value; None for none)."""
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def aggregate(rows: list[dict[str, Any]], by: tuple[str, ...] = ("recipe",)) -> list[dict[str, Any]]:
    """One row per recipe (per value of the ``by`` fields, e.g. recipe, lr and steps: one per recipe and budget; in
    first-seen order) from per-seed rows (each with those fields and ``seed``).

    Each metric gets its mean under its own name (the schema of a one-seed row), ``<metric>_std`` and
    ``<metric>_per_seed`` (in the order of ``seeds``).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in by), []).append(row)
    out = []
    for key, runs in groups.items():
        agg: dict[str, Any] = {**dict(zip(by, key)), "model": runs[0].get("model"),
                               "seeds": [r.get("seed") for r in runs],
                               "trainable_params": runs[0].get("trainable_params"),
                               "total_params": runs[0].get("total_params")}
        for metric in METRICS:
            values = [r[metric] for r in runs if r.get(metric) is not None]
            agg[metric], agg[f"{metric}_std"] = mean_std(values)
            agg[f"{metric}_per_seed"] = [r.get(metric) for r in runs]
        walls = [r["wall_time_s"] for r in runs if r.get("wall_time_s") is not None]
        agg["wall_time_s"] = statistics.fmean(walls) if walls else None
        agg["run_dirs"] = [r.get("run_dir") for r in runs]
        out.append(agg)
    return out


def with_spread(value: float | None, std: float | None) -> str:
    """``+12.3 ± 1.4`` (or ``-`` for a missing value)."""
    if value is None:
        return "-"
    return f"{value:+.1f}" + (f" ± {std:.1f}" if std else "")
