"""An association between two per-(run, stage) quantities, controlling for stage and recipe, with a run bootstrap.

Points are (run, stage, recipe, x, y). The partial correlation of x and y given stage and recipe fixed effects is
the correlation of their residuals after each is regressed (least squares) on an intercept, one indicator per stage
but the first and one per recipe but the first: what is left of x and y once every stage's and every recipe's own
level is taken out. The points of one run are not independent (they share its weights), so the effective sample is
the runs: the 95 % interval comes from resampling runs with replacement (``RESAMPLES`` times, RNG seed ``RNG_SEED``),
each drawn run bringing all its points, and recomputing; a resample where the residuals of one side are constant has
no value and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmmcl.tools.frontier import RESAMPLES, RNG_SEED, percentile_interval


@dataclass(frozen=True)
class Observation:
    run: str
    stage: Any
    recipe: str
    x: float
    y: float


def indicators(labels: Sequence[Any]) -> np.ndarray:
    """(n, levels - 1) 0/1 columns, one per level but the first seen (the intercept carries it)."""
    levels = list(dict.fromkeys(labels))
    return np.array([[1.0 if label == level else 0.0 for level in levels[1:]] for label in labels]).reshape(
        len(labels), max(len(levels) - 1, 0))


def residuals(values: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def partial_correlation(points: Sequence[Observation]) -> float | None:
    """Correlation of x and y net of stage and recipe fixed effects; None when a side has nothing left (too few
    points, or every point explained by its stage and recipe)."""
    if len(points) < 3:
        return None
    design = np.column_stack([np.ones(len(points)), indicators([p.stage for p in points]),
                              indicators([p.recipe for p in points])])
    x, y = np.array([p.x for p in points]), np.array([p.y for p in points])
    rx, ry = residuals(x, design), residuals(y, design)
    if any(np.linalg.norm(r) <= 1e-9 * (1.0 + np.linalg.norm(v)) for r, v in ((rx, x), (ry, y))):
        return None  # rounding noise is not variation
    return float(rx @ ry / (np.linalg.norm(rx) * np.linalg.norm(ry)))


def bootstrap_partial_correlation(points: Sequence[Observation], resamples: int = RESAMPLES,
                                  seed: int = RNG_SEED) -> dict[str, Any]:
    """:func:`partial_correlation` with its run-bootstrap 95 % interval, the number of runs (the effective n) and
    of points."""
    by_run: dict[str, list[Observation]] = {}
    for p in points:
        by_run.setdefault(p.run, []).append(p)
    runs = list(by_run)
    r = partial_correlation(points)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples if r is not None else 0):
        drawn = [by_run[runs[i]] for i in rng.integers(0, len(runs), len(runs))]
        value = partial_correlation([p for run in drawn for p in run])
        if value is not None:
            values.append(value)
    return {"r": r, "ci95": percentile_interval(values), "runs": len(runs), "points": len(points),
            "resamples": resamples, "resamples_without_value": (resamples - len(values)) if r is not None else None,
            "rng_seed": seed}
