"""The comparison's figures: learning against forgetting, one point per recipe (a scatter of runs), or one curve per
recipe through its budgets (the frontiers)."""

from __future__ import annotations

from typing import Any


def _axes():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=120, layout="constrained")
    return fig, fig.subplots()


def scatter(rows: list[dict[str, Any]]):
    """Learning (y) against held-out change after the last stage (x), one point per row, bars: std over seeds."""
    fig, ax = _axes()
    for r in rows:
        if r["learning"] is None or r["heldout_final"] is None:
            continue
        ax.errorbar(r["heldout_final"], r["learning"], xerr=r.get("heldout_final_std"), yerr=r.get("learning_std"),
                    fmt="o", ms=6, capsize=3)
        ax.annotate(r["recipe"], (r["heldout_final"], r["learning"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("held-out change after last stage (points)  <- forgetting")
    ax.set_ylabel("learning on target skills (points)")
    ax.set_title("learning vs forgetting")
    return fig


def frontier_figure(per_budget: dict[str, list[dict[str, Any]]], fronts: dict[str, list[list[float]]],
                    configured: dict[str, float]):
    """Every recipe's budgets (seed means; bars: seed std on both axes; the configured budget filled, the others
    hollow) and its frontier through its Pareto points; forgetting = -held-out final."""
    fig, ax = _axes()
    for k, (recipe, points) in enumerate(per_budget.items()):
        color = f"C{k % 10}"
        for p in points:
            if p["learning"] is None or p["heldout_final"] is None:
                continue
            mine = p["lr"] == configured["lr"] and p["steps"] == configured["steps"]
            ax.errorbar(p["learning"], -p["heldout_final"], xerr=p.get("learning_std"), yerr=p.get("heldout_final_std"),
                        fmt="o", ms=6, capsize=3, color=color, mfc=color if mine else "white")
        front = fronts.get(recipe) or []
        if front:
            ax.plot([f[0] for f in front], [f[1] for f in front], "-", color=color, lw=1.5, label=recipe)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("learning on target skills (points)")
    ax.set_ylabel("forgetting: -held-out change after last stage (points)")
    ax.set_title("learning-forgetting frontiers (filled: configured budget)")
    ax.legend(fontsize=8, loc="upper left")
    return fig
