"""The stage budget set on the control recipe, by a stated rule, on a seed that is never reported.

    lmmcl calibrate --lrs 1e-5 3e-5 1e-4 --steps 300 600 [--recipe llm] [--seed 100] [--jobs 2] [-- CLI overrides]

The paper's full-LLM control (``llm``: the language model trained, the vision tower frozen; its reference
``llm.sh``) learned +31.8 points on its targets and lost 23.3 on its held-out benchmarks. Every point of the grid
LR x steps per stage (``--model.lr``; ``--data.train_size`` = steps x ``data.batch_size``) trains the control once
on the selection seed, and :data:`RULE` picks the point where the control lands nearest that row. The other recipes
are not in the rule: their numbers at the pick are predictions, not fits.

Writes calibration.json (every point: LR, steps, learning, held-out final, the held-out mean change after each
stage, each target's score right after its own stage, the base scores, the run directory, the wall time; the rule
and the pick) and calibration.md (the grid as tables) in ``--out`` (default: logs/calibrate/<model>), and prints the
config lines that adopt the pick. A pick at the grid's lowest or highest LR is reported as such, with the LR to add:
the grid does not bracket it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.report import atomic_write
from lmmcl.tables import markdown_table
from lmmcl.tools.budgets import SELECTION_SEED, Budget, RunConfig, check_overrides, fmt_lr, run_config
from lmmcl.tools.jobs import Task, default_jobs
from lmmcl.tools.pool import check_entries, fit_args, run_pool, split_overrides

PAPER_CONTROL = {"learning": 31.8, "heldout_final": -23.3}  # the paper's full-LLM row (points)
TIE = 0.5  # points of distance
RULE = (f"the grid point whose (learning, held-out final) of the control is nearest (Euclidean, in points) to the "
        f"paper's full-LLM row ({PAPER_CONTROL['learning']:+.1f}, {PAPER_CONTROL['heldout_final']:+.1f}); distances "
        f"within {TIE} of the nearest tie, and a tie goes to fewer steps per stage, then to the lower LR")


def distance(point: dict[str, Any]) -> float:
    return math.hypot(point["learning"] - PAPER_CONTROL["learning"],
                      point["heldout_final"] - PAPER_CONTROL["heldout_final"])


def pick(points: list[dict[str, Any]]) -> dict[str, Any]:
    """:data:`RULE` over points with ``lr``, ``steps``, ``learning`` and ``heldout_final``."""
    if not points:
        raise LmmclError("no grid point finished: nothing to pick from (see the failed runs above).")
    nearest = min(distance(p) for p in points)
    return min((p for p in points if distance(p) <= nearest + TIE), key=lambda p: (p["steps"], p["lr"]))


def edge(lrs: list[float], lr: float) -> str | None:
    """Why a pick at ``lr`` may not be the best the LR grid can give, with the LR to add; None inside the grid."""
    grid = sorted(set(lrs))
    if len(grid) == 1:
        return f"the grid has one LR: add LRs on both sides of it (e.g. {fmt_lr(lr / 3)} and {fmt_lr(lr * 3)})"
    if lr == grid[0]:
        return f"the pick is the grid's lowest LR: add {fmt_lr(lr * lr / grid[1])} and calibrate again"
    if lr == grid[-1]:
        return f"the pick is the grid's highest LR: add {fmt_lr(lr * lr / grid[-2])} and calibrate again"
    return None


def point_of(row: dict[str, Any]) -> dict[str, Any]:
    """A grid point's numbers from its run's row and report.json."""
    report = json.loads((Path(row["run_dir"]) / "report.json").read_text())
    stages, heldout = report["stages"], report["heldout"]
    base = stages[0]["scores"]
    after = [statistics.fmean(s["scores"][h] - base[h] for h in heldout) for s in stages[1:]]
    own = {s["name"]: s["scores"][s["name"]] for s in stages[1:] if s["name"] in report["skills"]}
    return {"lr": row["lr"], "steps": row["steps"], "learning": row["learning"], "heldout_final": row["heldout_final"],
            "heldout_mean": row["heldout_mean"], "distance": None, "heldout_after_stage": after,
            "target_after_own_stage": own, "base_scores": base, "run_dir": row["run_dir"],
            "wall_time_s": row.get("wall_time_s")}


def grid_tasks(args: argparse.Namespace, config: RunConfig, overrides: list[str], out: Path) -> list[Task]:
    tasks = []
    for budget in sorted({Budget(s, lr) for lr in args.lrs for s in args.steps}, key=lambda b: (-b.steps, b.lr)):
        name = f"{args.model}/{args.recipe}/calibrate_{budget.folder()}" if config.lmmcl_names_logs else None
        extra = ["--model.lr", repr(budget.lr), "--data.train_size", str(config.train_size_for(budget.steps))]
        tasks.append(Task(f"{args.recipe} at {budget.folder()} / seed {args.seed}",
                          fit_args(args.model, args.recipe, [*overrides, *extra], args.seed, out / "base_rows", name),
                          folder=name or "*", extra={"lr": budget.lr, "steps": budget.steps}))
    return tasks  # the longest runs first: a pool of runs of unequal length ends sooner so


def render(result: dict[str, Any]) -> str:
    points, chosen = result["points"], result["pick"]
    lrs = sorted({p["lr"] for p in points})
    steps = sorted({p["steps"] for p in points})
    at = {(p["lr"], p["steps"]): p for p in points}

    def grid(metric: str, spec: str = "+.1f") -> list[str]:
        body = [[fmt_lr(lr), *("-" if (lr, s) not in at else
                               format(at[(lr, s)][metric], spec) + (" **(pick)**" if at[(lr, s)] is chosen else "")
                               for s in steps)] for lr in lrs]
        return markdown_table(["LR \\ steps per stage", *map(str, steps)], body)

    lines = ["# Stage-budget calibration", "",
             f"Control recipe `{result['recipe']}`, selection seed {result['seed']}, model `{result['model']}`, batch "
             f"{result['batch_size']}.", "", f"Rule: {result['rule']}.", "",
             f"**Pick: LR {fmt_lr(chosen['lr'])}, {chosen['steps']} steps per stage** (learning "
             f"{chosen['learning']:+.1f}, held-out final {chosen['heldout_final']:+.1f}; "
             f"distance {chosen['distance']:.1f})."]
    if result["edge"]:
        lines += ["", f"At the grid's edge: {result['edge']}."]
    lines += ["", "## Learning (points)", "", *grid("learning"), "", "## Held-out final (points)", "",
              *grid("heldout_final"), "", "## Distance to the paper's row (points)", "", *grid("distance", ".1f"), "",
              "## Every point", "",
              *markdown_table(["LR", "steps", "learning", "held-out final", "held-out after each stage",
                               "targets right after their stage", "run"],
                              [[fmt_lr(p["lr"]), str(p["steps"]), f"{p['learning']:+.1f}", f"{p['heldout_final']:+.1f}",
                                " / ".join(f"{v:+.1f}" for v in p["heldout_after_stage"]),
                                ", ".join(f"{k} {v:.1f}" for k, v in p["target_after_own_stage"].items()),
                                p["run_dir"]] for p in points]),
              "", "```yaml", config_lines(result), "```"]
    return "\n".join(lines) + "\n"


def config_lines(result: dict[str, Any]) -> str:
    chosen = result["pick"]
    lr = format(chosen["lr"], ".12f").rstrip("0").rstrip(".")  # YAML 1.1 reads 3e-05 as a string
    return (f"model:\n  lr: {lr}\ndata:\n  train_size: {chosen['steps'] * result['batch_size']}"
            f"   # {chosen['steps']} steps per stage x batch {result['batch_size']}")


def calibrate(args: argparse.Namespace, overrides: list[str]) -> dict[str, Any] | None:
    check_overrides(overrides, ("--model.lr", "--data.train_size", "--seed_everything", "--data.seed"),
                    "lmmcl calibrate")
    check_entries([args.recipe])
    config = run_config(args.model, overrides)
    out = Path(args.out) if args.out else Path("logs") / "calibrate" / args.model
    tasks = grid_tasks(args, config, overrides, out)
    points = ", ".join(t.label.split(" at ")[1].split(" /")[0] for t in tasks)
    print(f"[lmmcl calibrate] rule: {RULE}.\n[lmmcl calibrate] {len(tasks)} runs of {args.recipe} on seed {args.seed} "
          f"(batch {config.batch_size}): {points}", flush=True)
    if args.dry_run:
        from lmmcl.tools.estimate import print_plan

        print_plan(tasks, config.stages, out / "jobs", args.jobs)
        return None
    start = time.time()
    failed = run_pool(tasks, args.jobs, out / "jobs", args.resume)
    points = [point_of({**t.row, **t.extra}) for t in tasks if t.row is not None]
    for point in points:
        point["distance"] = distance(point)
    chosen = pick(points)
    result = {"rule": RULE, "paper_control": PAPER_CONTROL, "tie": TIE, "recipe": args.recipe, "seed": args.seed,
              "model": args.model, "batch_size": config.batch_size, "lrs": sorted(set(args.lrs)),
              "steps": sorted(set(args.steps)), "points": points, "pick": chosen,
              "edge": edge(args.lrs, chosen["lr"]), "failed": [t.label for t in failed],
              "wall_time_s": round(time.time() - start, 1)}
    atomic_write(out / "calibration.json", json.dumps(result, indent=2) + "\n")
    atomic_write(out / "calibration.md", render(result))
    return result


def main(argv: list[str]) -> int:
    argv, overrides = split_overrides(argv)  # everything after "--" goes to `lmmcl fit` for every run
    parser = argparse.ArgumentParser(prog="lmmcl calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--recipe", default="llm",
                        help="the control recipe (default: %(default)s, the paper's full LLM)")
    parser.add_argument("--lrs", nargs="+", type=float, required=True, metavar="LR", help="the grid's LRs")
    parser.add_argument("--steps", nargs="+", type=int, required=True, help="the grid's optimizer steps per stage")
    parser.add_argument("--seed", type=int, default=SELECTION_SEED,
                        help="the selection seed (default: %(default)s); never one of the seeds a compare reports")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="runs at once, each a single-thread process (default: one per CPU, %(default)s here)")
    parser.add_argument("--resume", action="store_true", help="keep the runs a stopped calibration finished")
    parser.add_argument("--dry-run", action="store_true", help="print the rule and the runs, train nothing")
    parser.add_argument("--out", help="output directory (default: logs/calibrate/<model>)")
    args = parser.parse_args(argv)
    bad = [str(v) for v in [*args.lrs, *args.steps] if not (v > 0 and math.isfinite(v))]
    if bad or args.jobs < 1:
        parser.error(f"LRs and steps must be positive and --jobs at least 1 (got {', '.join(bad) or args.jobs})")
    result = calibrate(args, overrides)
    if result is None:
        return 0
    chosen = result["pick"]
    print(f"\n[lmmcl calibrate] pick: LR {fmt_lr(chosen['lr'])}, {chosen['steps']} steps per stage (learning "
          f"{chosen['learning']:+.1f}, held-out final {chosen['heldout_final']:+.1f})"
          + (f"; AT THE GRID'S EDGE: {result['edge']}" if result["edge"] else "")
          + f"\n[lmmcl calibrate] {Path(args.out or Path('logs') / 'calibrate' / args.model) / 'calibration.md'}"
          + f"\nadopt it in configs/experiment/default.yaml:\n{config_lines(result)}")
    return 1 if result["failed"] else 0
