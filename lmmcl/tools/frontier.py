"""Learning-vs-forgetting frontiers and recipes compared on them at matched learning.

A recipe trained at several stage budgets (LR, steps per stage) gives one point per budget: the means over seeds of
``learning`` and of the forgetting ``-heldout_final`` (points; positive = lost). Its **frontier** is the piecewise
linear curve through its Pareto points (no other point learns at least as much while forgetting no more), in order
of learning: the least forgetting the recipe is seen to pay for each amount of learning, between its smallest and
its largest Pareto learning; nothing is extrapolated.

Two recipes are compared at **matched learning** over the overlap of their frontiers' learning ranges: the mean
forgetting of each over ``GRID`` evenly spaced learning values of the overlap, their difference and their ratio
(recipe / reference; undefined when the reference does not forget). The uncertainty is a seed bootstrap
(:func:`bootstrap_matched`): within each budget the seeds are resampled with replacement (the same draw for every
recipe: the seeds are paired, each seed sharing its data with every recipe), the means, frontiers and comparison are
recomputed, and the 2.5 and 97.5 percentiles of ``RESAMPLES`` resamples (RNG seed ``RNG_SEED``) give the 95 %
interval. A resample whose frontiers do not overlap has no value and is counted, not used; a comparison without a
value on the seed means has no interval either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

GRID = 51  # learning values on the overlap
RESAMPLES = 2000
RNG_SEED = 0


@dataclass(frozen=True)
class Point:
    learning: float
    forgetting: float


def pareto(points: Sequence[Point]) -> list[Point]:
    """The points no other point dominates (at least as much learning and at most as much forgetting, one of them
    strictly), by learning; duplicates kept once."""
    unique = sorted(set(points), key=lambda p: (p.learning, p.forgetting))
    keep = [p for p in unique if not any(q != p and q.learning >= p.learning and q.forgetting <= p.forgetting
                                         for q in unique)]
    return keep  # sorted by learning; along the front forgetting rises with learning


def interpolate(front: Sequence[Point], learning: np.ndarray) -> np.ndarray:
    """Forgetting along the piecewise linear ``front`` (Pareto points by learning) at ``learning`` values inside
    its range."""
    xs = np.array([p.learning for p in front])
    ys = np.array([p.forgetting for p in front])
    return np.interp(learning, xs, ys)


def matched(front: Sequence[Point], reference: Sequence[Point], grid: int = GRID) -> dict[str, Any] | None:
    """``front`` against ``reference`` at matched learning: the overlap of their learning ranges, each one's mean
    forgetting over ``grid`` learning values in it, the difference and the ratio (None when the reference's mean
    forgetting is not positive). None when the ranges do not overlap."""
    if not front or not reference:
        return None
    low = max(front[0].learning, reference[0].learning)
    high = min(front[-1].learning, reference[-1].learning)
    if low > high:
        return None
    learning = np.linspace(low, high, grid) if high > low else np.array([low])
    mine, theirs = float(interpolate(front, learning).mean()), float(interpolate(reference, learning).mean())
    return {"overlap": [low, high], "forgetting": mine, "forgetting_reference": theirs, "difference": mine - theirs,
            "ratio": mine / theirs if theirs > 0 else None}


# --- per budget: seeds -> means ---------------------------------------------------------------------------------
# cells[recipe][budget] = {seed: (learning, forgetting)}: one recipe's runs at one budget, by seed.
Cells = dict[str, dict[Any, dict[Any, tuple[float, float]]]]


def budget_points(cells: Cells, recipe: str, draw: dict[Any, list[Any]] | None = None) -> list[Point]:
    """One point per budget of ``recipe``: the means over its seeds (or over ``draw[budget]``, a resample of the
    seeds with repeats; seeds the recipe lacks there are skipped, and a budget left with none gives no point)."""
    points = []
    for budget, by_seed in cells[recipe].items():
        seeds = draw[budget] if draw is not None else list(by_seed)
        values = [by_seed[s] for s in seeds if s in by_seed]
        if values:
            points.append(Point(float(np.mean([v[0] for v in values])), float(np.mean([v[1] for v in values]))))
    return points


def frontiers(cells: Cells) -> dict[str, list[Point]]:
    return {recipe: pareto(budget_points(cells, recipe)) for recipe in cells}


def percentile_interval(values: Sequence[float]) -> list[float] | None:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))] if len(values) else None


def bootstrap_matched(cells: Cells, reference: str, resamples: int = RESAMPLES, seed: int = RNG_SEED,
                      grid: int = GRID) -> dict[str, dict[str, Any]]:
    """Per recipe other than ``reference``: :func:`matched` on the seed means, with seed-bootstrap 95 % intervals of
    its difference and ratio (module docstring)."""
    fronts = frontiers(cells)
    out: dict[str, dict[str, Any]] = {}
    others = [r for r in cells if r != reference]
    for recipe in others:
        point = matched(fronts[recipe], fronts[reference], grid)
        out[recipe] = {"reference": reference, **(point or {"overlap": None}), "resamples": resamples,
                       "rng_seed": seed}
    budgets = list(dict.fromkeys(b for by_budget in cells.values() for b in by_budget))
    seeds = {b: sorted({s for by_budget in cells.values() for s in by_budget.get(b, {})}, key=str) for b in budgets}
    rng = np.random.default_rng(seed)
    samples: dict[str, dict[str, list[float]]] = {r: {"difference": [], "ratio": []} for r in others}
    missing = dict.fromkeys(others, 0)
    for _ in range(resamples):
        draw = {b: [seeds[b][i] for i in rng.integers(0, len(seeds[b]), len(seeds[b]))] for b in budgets}
        ref_front = pareto(budget_points(cells, reference, draw))
        for recipe in others:
            value = matched(pareto(budget_points(cells, recipe, draw)), ref_front, grid)
            if value is None:
                missing[recipe] += 1
                continue
            samples[recipe]["difference"].append(value["difference"])
            if value["ratio"] is not None:
                samples[recipe]["ratio"].append(value["ratio"])
    for recipe in others:  # no interval around a value that does not exist (its resamples' overlaps are chance)
        out[recipe]["ci95"] = {k: percentile_interval(v) if out[recipe].get(k) is not None else None
                               for k, v in samples[recipe].items()}
        out[recipe]["resamples_without_overlap"] = missing[recipe]
        out[recipe]["resamples_without_ratio"] = resamples - missing[recipe] - len(samples[recipe]["ratio"])
    return out
