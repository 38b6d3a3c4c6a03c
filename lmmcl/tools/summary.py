"""What a compare writes: summary.json / summary.md (tables, time line), frontier.png (and TensorBoard), claims.md.

Input: every run's row (:func:`lmmcl.tools.pool.task_row`: recipe, seed, lr, steps, whether it is at the configured
budget, its metrics, its time by phase and restore analysis). :func:`frontier_numbers` turns them into per-budget
seed means and the frontiers and matched-learning comparison of :mod:`lmmcl.tools.frontier`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmmcl.report import atomic_write
from lmmcl.tables import markdown_table
from lmmcl.tools.budgets import fmt_lr
from lmmcl.tools.seeds import METRICS, aggregate, with_spread

CONTROL = "llm"  # the recipe every frontier is compared with (the paper's full-LLM control)
SUMMARY_COLUMNS = ("recipe", "learning", "heldout_final", "heldout_mean", "trainable_params", "wall_time_s")


def frontier_numbers(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per recipe: its budgets' seed means (``per_budget``), its frontier's Pareto points as [learning, forgetting]
    (``frontiers``), and against :data:`CONTROL` the matched-learning comparison with intervals (``matched``)."""
    from lmmcl.tools.frontier import bootstrap_matched, frontiers

    per_budget: dict[str, list[dict[str, Any]]] = {}
    for row in aggregate(runs, by=("recipe", "lr", "steps")):
        per_budget.setdefault(row["recipe"], []).append(row)
    cells: dict[str, dict[Any, dict[Any, tuple[float, float]]]] = {}
    for r in runs:
        if r.get("learning") is not None and r.get("heldout_final") is not None:
            cells.setdefault(r["recipe"], {}).setdefault((r["steps"], r["lr"]), {})[r["seed"]] = (
                r["learning"], -r["heldout_final"])
    fronts = {recipe: [[p.learning, p.forgetting] for p in front] for recipe, front in frontiers(cells).items()}
    matched = bootstrap_matched(cells, CONTROL) if CONTROL in cells else {}
    return {"per_budget": per_budget, "frontiers": fronts, "matched": matched}


def timeline(runs: list[dict[str, Any]], jobs: int, pool_s: float, analysis_s: float, resumed: int) -> dict[str, Any]:
    """Where the compare's time went: the pool's wall time and, summed over the runs it trained, their phases."""
    trained = [r for r in runs if not r.get("resumed")]
    total = {k: sum((r.get("phases") or {}).get(f"{k}_s", 0.0) for r in trained)
             for k in ("training", "evaluation", "other")}
    restore = sum((r.get("restore") or {}).get("seconds", 0.0) for r in trained)
    inside = sum(r.get("wall_time_s") or 0.0 for r in trained) + restore  # the runs' fits and restore analyses
    busy = sum(r.get("process_s") or 0.0 for r in trained) or inside  # with the workers' start-up
    return {"jobs": jobs, "runs_trained": len(trained), "runs_resumed": resumed, "pool_wall_s": round(pool_s, 1),
            **{f"{k}_s": round(v, 1) for k, v in total.items()},
            "evaluations": sum((r.get("phases") or {}).get("evaluations", 0) for r in trained),
            "restore_s": round(restore, 1),
            "restore_runs": sum(1 for r in trained if (r.get("restore") or {}).get("path")),
            "startup_s": round(max(busy - inside, 0.0), 1),
            "workers_busy_share": round(busy / (pool_s * jobs), 3) if pool_s > 0 and trained else None,
            "analysis_wall_s": round(analysis_s, 1), "total_wall_s": round(pool_s + analysis_s, 1)}


def render_timeline(t: dict[str, Any]) -> list[str]:
    busy = "-" if t["workers_busy_share"] is None else f"{100 * t['workers_busy_share']:.0f} %"
    return markdown_table(["phase", "wall-clock (s)", "summed over runs (s)"], [
        [f"training pool: {t['runs_trained']} runs on {t['jobs']} worker(s) (busy {busy}); {t['runs_resumed']} resumed",
         f"{t['pool_wall_s']:.0f}", ""],
        ["- training steps (with the drift monitor)", "", f"{t['training_s']:.0f}"],
        [f"- evaluations ({t['evaluations']}: base rows, every stage, the probe)", "", f"{t['evaluation_s']:.0f}"],
        [f"- restore analyses ({t['restore_runs']} runs)", "", f"{t['restore_s']:.0f}"],
        ["- in each run: start-up, checkpoints, the rest", "", f"{t['other_s']:.0f}"],
        ["- before each run: its process starting (imports; --jobs workers only)", "", f"{t['startup_s']:.0f}"],
        ["statistics, figures, claims", f"{t['analysis_wall_s']:.0f}", ""],
        ["total", f"{t['total_wall_s']:.0f}", ""]])


def render_table(rows: list[dict[str, Any]]) -> str:
    """One row per run or recipe (existing runs, no seeds)."""
    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key in METRICS:
            return f"{value:+.1f}"
        return f"{value:,}" if key == "trainable_params" else f"{value:.0f}" if key == "wall_time_s" else str(value)

    return "\n".join(markdown_table(SUMMARY_COLUMNS, [[cell(k, r.get(k)) for k in SUMMARY_COLUMNS] for r in rows]))


def seeds_table(rows: list[dict[str, Any]]) -> str:
    """Per-recipe means ± std over seeds, and the per-seed values."""
    head = ["recipe", "seeds", *METRICS, *(f"{m} per seed" for m in METRICS), "trainable_params"]
    body = []
    for r in rows:
        per_seed = [" / ".join("-" if v is None else f"{v:+.1f}" for v in r[f"{m}_per_seed"]) for m in METRICS]
        body.append([r["recipe"], " ".join(map(str, r["seeds"])), *(with_spread(r[m], r[f"{m}_std"]) for m in METRICS),
                     *per_seed, f"{r['trainable_params']:,}"])
    return "\n".join(markdown_table(head, body))


def budgets_table(per_budget: dict[str, list[dict[str, Any]]]) -> list[str]:
    return markdown_table(["recipe", "LR", "steps per stage", "seeds", *METRICS],
                          [[recipe, fmt_lr(p["lr"]), str(p["steps"]), str(len(p["seeds"])),
                            *(with_spread(p[m], p[f"{m}_std"]) for m in METRICS)]
                           for recipe, points in per_budget.items() for p in points])


def matched_table(matched: dict[str, dict[str, Any]]) -> list[str]:
    def interval(m: dict[str, Any], key: str, spec: str) -> str:
        ci = (m.get("ci95") or {}).get(key)
        value = m.get(key)
        return "-" if value is None else format(value, spec) + ("" if ci is None else
                                                                 f" [{format(ci[0], spec)}, {format(ci[1], spec)}]")

    body = [[recipe, "no overlap" if not m.get("overlap") else f"{m['overlap'][0]:+.1f} … {m['overlap'][1]:+.1f}",
             "-" if m.get("forgetting") is None else f"{m['forgetting']:.1f}",
             "-" if m.get("forgetting_reference") is None else f"{m['forgetting_reference']:.1f}",
             interval(m, "difference", "+.1f"), interval(m, "ratio", ".2f")] for recipe, m in matched.items()]
    return markdown_table(["recipe", "learning overlap with " + CONTROL, "forgetting", f"{CONTROL}'s forgetting",
                           "difference (95 %)", "ratio (95 %)"], body)


def write_summary(out: Path, summary: dict[str, Any], claims_md: str | None) -> Path:
    """summary.json, summary.md, frontier.png (and the figure and table into TensorBoard), claims.md."""
    from torch.utils.tensorboard import SummaryWriter

    from lmmcl.tools.figures import frontier_figure

    budget = summary["budget"]
    atomic_write(out / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    fig = frontier_figure(summary["per_budget"], summary["frontiers"], budget)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "frontier.png")
    seeds = sorted({s for r in summary["rows"] for s in r["seeds"]}, key=str)
    lines = ["# lmmcl compare", "",
             f"Configured budget: LR {fmt_lr(budget['lr'])}, {budget['steps']} steps per stage (batch "
             f"{budget['batch_size']}); seeds {', '.join(map(str, seeds))}; budgets "
             + ", ".join(f"{fmt_lr(b['lr'])} x {b['steps']}" for b in summary["budgets"]) + ".", "",
             "## At the configured budget", "", seeds_table(summary["rows"]), "",
             "## Every budget (means ± std over seeds)", "", *budgets_table(summary["per_budget"]), "",
             f"## Frontiers: forgetting at matched learning against {CONTROL}", "",
             "Forgetting = -held-out final (points). Each recipe's frontier runs through its Pareto budgets; the "
             "comparison is the mean over the overlap of the learning ranges; 95 % seed-bootstrap intervals "
             "(lmmcl/tools/frontier.py).", "", *matched_table(summary["matched"]), "",
             "![frontiers](frontier.png)", "", "## Time line", "", *render_timeline(summary["timeline"])]
    if claims_md is not None:
        atomic_write(out / "claims.md", claims_md)
        lines += ["", "Findings: [claims.md](claims.md)."]
    atomic_write(out / "summary.md", "\n".join(lines) + "\n")
    with SummaryWriter(str(out)) as writer:
        writer.add_figure("compare/frontiers", fig)
        writer.add_text("compare/summary", seeds_table(summary["rows"]))
    return out / "summary.md"
