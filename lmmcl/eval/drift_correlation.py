"""Is drift a warning? Its correlation, across runs and stages, with the held-out drop each stage causes.

One point per (run, stage): the drift monitor's KL at the end of the stage and at 10 % of it (report.json
``drift``), against ``heldout_drop`` of that stage (:mod:`lmmcl.eval.transfer`: mean held-out score before
the stage minus after it, in points). Pearson's r and Spearman's rho (ties get their mean rank) with n, for
both drift measures; ``lmmcl compare`` prints them and writes ``drift_correlation.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lmmcl.eval.drift import EARLY, at_fraction

MEASURES = {"kl_end": lambda curve: curve["kl"][-1], "kl_10pct": lambda curve: at_fraction(curve, EARLY)}


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r; None with fewer than 3 points or a constant side."""
    n = len(x)
    if n < 3:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float | None:
    return pearson(ranks(x), ranks(y))


def points(label: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    """(run, stage) points of one report: drift measures and the stage's held-out drop."""
    from lmmcl.eval.transfer import transfer_metrics

    drops = list(transfer_metrics(report["skills"], report["heldout"], report["stages"])["heldout_drop"].values())
    out = []
    for curve, drop in zip(report.get("drift") or [], drops):
        values = {key: fn(curve) for key, fn in MEASURES.items()}
        out.append({"run": label, "stage": curve["stage"], "heldout_drop": drop, **values})
    return out


def correlate(all_points: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {"points": all_points}
    for key in MEASURES:
        pairs = [(p[key], p["heldout_drop"]) for p in all_points if p[key] is not None]
        x, y = [a for a, _ in pairs], [b for _, b in pairs]
        result[key] = {"n": len(pairs), "pearson": pearson(x, y), "spearman": spearman(x, y)}
    return result


def from_runs(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The correlation over the runs of ``lmmcl compare`` rows (each with ``run_dir`` and ``recipe``)."""
    found = []
    for row in rows:
        path = Path(row["run_dir"]) / "report.json"
        if path.exists():
            found += points(row["recipe"], json.loads(path.read_text()))
    return correlate(found)


def render(result: dict[str, Any]) -> str:
    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:+.2f}"

    lines = ["drift vs forgetting (one point per run and stage; y = held-out drop the stage caused, points):"]
    for key, label in (("kl_end", "KL at end of stage"), ("kl_10pct", "KL at 10% of stage")):
        r = result[key]
        lines.append(f"  {label:<19} Pearson r {num(r['pearson'])}, Spearman rho {num(r['spearman'])}, n = {r['n']}")
    if result["kl_end"]["n"] < 3:
        lines.append("  (fewer than 3 points with drift curves: no correlation; runs need the drift monitor on)")
    return "\n".join(lines)
