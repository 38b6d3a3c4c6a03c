"""Runs side by side: learning versus forgetting.

    lmmcl compare RUN_DIR [RUN_DIR ...]                  # existing runs
    lmmcl compare --train --model tiny --recipes full llm sa_proj mlp_gate_up mlp [-- CLI overrides]

Writes summary.json, summary.md and learning_vs_forgetting.png (also into TensorBoard) in
logs/compare/<model>/ (or --out). Every run trains on the same base model, sequence and seed; only the
recipe differs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from lmmcl.report import atomic_write

PAPER_RECIPES = ["full", "llm", "sa_proj", "mlp_gate_up", "mlp"]
COLUMNS = ("recipe", "learning", "heldout_final", "heldout_mean", "trainable_params", "wall_time_s")


def row_from_run(run_dir: str | Path, wall_time_s: float | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    report_path = run_dir / "report.json"
    if not report_path.exists():
        raise FileNotFoundError(f"{run_dir} has no report.json: is it a run directory (logs/<model>/<recipe>/version_<n>)?")
    report = json.loads(report_path.read_text())
    if wall_time_s is None:
        wall_time_s = report.get("wall_time_s")
    return {"recipe": report["recipe"], "model": report["model"], **report["summary"],
            "trainable_params": report["trainable_params"], "total_params": report["total_params"],
            "wall_time_s": wall_time_s, "run_dir": str(run_dir)}


def render_table(rows: list[dict[str, Any]]) -> str:
    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key in ("learning", "heldout_final", "heldout_mean"):
            return f"{value:+.1f}"
        if key == "trainable_params":
            return f"{value:,}"
        if key == "wall_time_s":
            return f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(k, r.get(k)) for k in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def scatter(rows: list[dict[str, Any]], path: Path):
    """Learning (y) against held-out change after the last stage (x); returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for r in rows:
        if r["learning"] is None or r["heldout_final"] is None:
            continue
        ax.scatter(r["heldout_final"], r["learning"], s=40)
        ax.annotate(r["recipe"], (r["heldout_final"], r["learning"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("held-out change after last stage (points)  <- forgetting")
    ax.set_ylabel("learning on target skills (points)")
    ax.set_title("learning vs forgetting")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return fig


def write_summary(out_dir: str | Path, rows: list[dict[str, Any]]) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    out_dir = Path(out_dir)
    atomic_write(out_dir / "summary.json", json.dumps({"rows": rows}, indent=2) + "\n")
    fig = scatter(rows, out_dir / "learning_vs_forgetting.png")
    atomic_write(out_dir / "summary.md", "# lmmcl compare\n\n" + render_table(rows) +
                 "\n\n![learning vs forgetting](learning_vs_forgetting.png)\n")
    with SummaryWriter(str(out_dir)) as writer:
        writer.add_figure("compare/learning_vs_forgetting", fig)
        writer.add_text("compare/summary", render_table(rows))
    return out_dir / "summary.md"


def train_recipes(model: str, recipes: list[str], overrides: list[str]) -> list[dict[str, Any]]:
    from lmmcl.train_cli import run

    rows = []
    for recipe in recipes:
        print(f"\n[lmmcl compare] === {model} / {recipe} ===")
        start = time.time()
        cli = run(["fit", "--model.preset", model, "--recipe.name", recipe, *overrides])
        rows.append(row_from_run(cli.trainer.log_dir, wall_time_s=time.time() - start))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run directories to compare (each with a report.json)")
    parser.add_argument("--train", action="store_true", help="train --recipes first, then compare them")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--recipes", nargs="+", default=PAPER_RECIPES)
    parser.add_argument("--out", help="output directory (default: logs/compare/<model>)")
    args, overrides = parser.parse_known_args(argv)
    overrides = [a for a in overrides if a != "--"]
    if args.train:
        rows = train_recipes(args.model, args.recipes, overrides)
    elif args.runs:
        rows = [row_from_run(r) for r in args.runs]
    else:
        parser.error("give run directories, or --train to train the recipes first")
    model = rows[0]["model"] if rows else args.model
    path = write_summary(args.out or Path("logs") / "compare" / model, rows)
    print("\n" + render_table(rows) + f"\n\n[lmmcl compare] summary: {path}")
    return 0
