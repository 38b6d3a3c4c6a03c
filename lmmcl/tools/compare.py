"""Recipes side by side: learning against forgetting at several stage budgets, frontiers, and the paper's findings.

    lmmcl compare --train --seeds 0 1 2 [--jobs 2]      # full llm sa_proj mlp_gate_up mlp, each at 3 budgets x 3 seeds
    lmmcl compare --train --seeds 0 1 2 --dry-run       # the runs and an estimate of their time; nothing trains
    lmmcl compare --train --recipes sa_proj mlp mlp+lwf lora    # recipe+baseline entries (lmmcl compare --list)
    lmmcl compare --train --lr-scales 0.5 1 2 --step-scales 0.5 1   # the budgets around the configured one
    lmmcl compare --train --seeds 0 1 2 --resume        # a stopped compare: only the runs it had not finished
    lmmcl compare RUN_DIR [RUN_DIR ...]                 # existing runs: a table and a scatter

An entry is a recipe (configs/recipe/) optionally followed by baselines (configs/baseline/) joined with ``+``. The
options after ``--`` go to every run, before the run's own model, recipe, seed, baselines and budget, which a
``--config`` among them therefore cannot replace; they also set the configured budget (e.g. ``-- --model.lr 3e-5``).

Budgets: every entry trains at the configured stage budget (the config's ``model.lr`` and ``data.train_size /
data.batch_size`` steps per stage; :mod:`lmmcl.tools.budgets`) scaled by every ``--lr-scales`` value and every
``--step-scales`` value, once per seed. An entry with its own LR (``model.recipe_lr``, e.g. LoRA) is not trained at
the LR scales, which would not change its runs. The configured budget's runs log to ``logs/<model>/<entry>/``, the
others to ``logs/<model>/<entry>/lr<LR>_steps<N>/``. All runs are one pool (``--jobs`` single-thread processes, by
default one per CPU; ``--jobs 1``: one after another in this process); the base model is evaluated once per seed
(:mod:`lmmcl.train.base_row`); the restore analysis (:mod:`lmmcl.eval.restore`) runs after each plain-recipe run at
the configured budget, in the process that trained it.

Writes, in logs/compare/<model>/ (or ``--out``): summary.json (the configured budget's per-recipe rows: means, std
and per-seed values; every run; per recipe and budget the seed means; the frontiers; the matched-learning comparison
with ``llm`` and its seed-bootstrap intervals; the time line), summary.md, frontier.png (also into TensorBoard),
claims.md / claims.json (:mod:`lmmcl.tools.claims`) and drift_correlation.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.report import atomic_write
from lmmcl.tools.budgets import (
    LR_SCALES,
    SELECTION_SEED,
    STEP_SCALES,
    Budget,
    RunConfig,
    budget_overrides,
    entry_own_lr,
    run_config,
    scaled_budgets,
)
from lmmcl.tools.jobs import Task, default_jobs

PAPER_RECIPES = ["full", "llm", "sa_proj", "mlp_gate_up", "mlp"]
PAPER_BASELINES = ["lora", "mlp+lwf", "mlp+wise_ft", "mlp+moe"]


def restorable(entry: str) -> bool:
    """Whether the restore analysis can run on ``entry``'s runs: a recipe without an adapter and no baseline that
    rewrites the model (their blocks hold weights the base has no counterpart for)."""
    from lmmcl.contracts import ModelAdapter
    from lmmcl.train.baseline_registry import baseline_class, parse_entry
    from lmmcl.train.recipes import get_recipe

    recipe, names = parse_entry(entry)
    adapters = any(issubclass(baseline_class(n), ModelAdapter) for n in names)
    return "adapter" not in get_recipe(recipe).extra and not adapters


def compare_tasks(model: str, entries: list[str], budgets: list[Budget], config: RunConfig, overrides: list[str],
                  seeds: list[int] | None, base_cache: Path | None, restore: bool) -> list[Task]:
    """One task per entry, budget and seed, seed after seed and budget after budget, so the runs a pool has left at
    its end are of different entries (two runs of one log folder never run at once)."""
    from lmmcl.tools.pool import fit_args

    own = entry_own_lr(entries, config.recipe_lr)
    tasks = []
    for seed in seeds or [None]:
        for budget in budgets:
            configured = budget == config.budget
            for entry in entries:
                if entry in own and budget.lr != config.lr:
                    continue  # its own LR: an LR budget would train the same run again
                name = None if configured or not config.lmmcl_names_logs else f"{model}/{entry}/{budget.folder()}"
                label = (entry + ("" if configured else f" at {budget.folder()}")
                         + ("" if seed is None else f" / seed {seed}"))
                args = fit_args(model, entry, [*overrides, *budget_overrides(budget, config)], seed, base_cache, name)
                tasks.append(Task(label, args, folder=(name or entry) if config.lmmcl_names_logs else "*",
                                  restore=restore and configured and restorable(entry),
                                  extra={"entry": entry, "seed": seed, "lr": budget.lr, "steps": budget.steps,
                                         "configured": configured}))
    return tasks


def train_and_compare(args: argparse.Namespace, overrides: list[str]) -> int:
    from lmmcl.tools.pool import check_entries, run_pool, task_row

    if args.seeds and SELECTION_SEED in args.seeds:
        raise LmmclError(f"--seeds {' '.join(map(str, args.seeds))} holds {SELECTION_SEED}, the selection seed the "
                         "stage budget is calibrated on (lmmcl calibrate): a reported seed must not be it.")
    check_entries(args.recipes)
    config = run_config(args.model, overrides)
    budgets = scaled_budgets(config, args.lr_scales, args.step_scales)
    work = Path(args.out) if args.out else Path("logs") / "compare" / args.model
    tasks = compare_tasks(args.model, args.recipes, budgets, config, overrides, args.seeds,
                          None if args.no_base_cache else work / "base_rows", not args.no_restore)
    if args.dry_run:
        from lmmcl.tools.estimate import print_plan

        print(f"[lmmcl compare] configured budget {config.budget.label()}")
        print_plan(tasks, config.stages, work / "jobs", args.jobs)
        return 0
    start = time.time()
    failed = run_pool(tasks, args.jobs, work / "jobs", args.resume)
    pool_s = time.time() - start
    runs = [task_row(t) for t in tasks if t.row is not None]
    rows = [r for r in runs if r["configured"]]
    if not rows:
        raise LmmclError(f"every run of the compare at the configured budget failed ({len(failed)} failed): see the "
                         "logs named above")
    path, claims = analyse_and_write(work, runs, config, budgets, args.jobs, pool_s)
    print("\n" + "\n".join(f"[lmmcl compare] {name}: {c['verdict']}" for name, c in claims.items()))
    finish(path, runs, failed)
    return 1 if failed else 0


def analyse_and_write(work: Path, runs: list[dict[str, Any]], config: RunConfig, budgets: list[Budget], jobs: int,
                      pool_s: float) -> tuple[Path, dict[str, Any]]:
    """The statistics, claims and files of a trained compare (:mod:`lmmcl.tools.summary`): summary.md and the claims."""
    from lmmcl.tools.claims import judge, render_claims
    from lmmcl.tools.seeds import aggregate
    from lmmcl.tools.summary import frontier_numbers, timeline, write_summary

    start = time.time()
    configured = [r for r in runs if r["configured"]]
    rows = aggregate(configured)
    numbers = frontier_numbers(runs)
    claims = judge(rows, runs, numbers["matched"])
    budget = {**config.budget.to_json(), "batch_size": config.batch_size}
    claims_md = render_claims(claims, sorted({r["seed"] for r in configured}, key=str), config.budget.label())
    atomic_write(work / "claims.json", json.dumps(claims, indent=2, default=str) + "\n")
    summary = {"rows": rows, "runs": configured, "budget": budget, "budgets": [b.to_json() for b in budgets],
               **numbers, "all_runs": runs}
    summary["timeline"] = timeline(runs, jobs, pool_s, time.time() - start, sum(bool(r.get("resumed")) for r in runs))
    return write_summary(work, summary, claims_md), claims


def finish(path: Path, runs: list[dict[str, Any]], failed: list[Task]) -> None:
    """Print the summary's place, the drift correlation (written beside it) and the failed runs."""
    from lmmcl.eval import drift_correlation  # does the drift monitor predict the held-out drop?

    correlation = drift_correlation.from_runs(runs)  # one point per run and stage
    atomic_write(path.parent / "drift_correlation.json", json.dumps(correlation, indent=2) + "\n")
    print(f"\n[lmmcl compare] summary: {path}\n" + drift_correlation.render(correlation))
    if failed:
        from lmmcl.tools.jobs import failure_report

        print("\n".join(failure_report(t) for t in failed))
        print(f"[lmmcl compare] {len(failed)} of {len(failed) + len(runs)} runs failed: "
              f"{', '.join(t.label for t in failed)}; the summary holds the others")


def existing_runs(run_dirs: list[str], out: str | None) -> int:
    """A table and a scatter of runs trained before (no budgets, no claims)."""
    from torch.utils.tensorboard import SummaryWriter

    from lmmcl.tools.figures import scatter
    from lmmcl.tools.finish import row_from_run
    from lmmcl.tools.summary import render_table

    rows = [row_from_run(r) for r in run_dirs]
    folder = Path(out) if out else Path("logs") / "compare" / rows[0]["model"]
    atomic_write(folder / "summary.json", json.dumps({"rows": rows}, indent=2) + "\n")
    fig = scatter(rows)
    fig.savefig(folder / "learning_vs_forgetting.png")
    atomic_write(folder / "summary.md", f"# lmmcl compare\n\n{render_table(rows)}\n\n"
                                        "![learning vs forgetting](learning_vs_forgetting.png)\n")
    with SummaryWriter(str(folder)) as writer:
        writer.add_figure("compare/learning_vs_forgetting", fig)
        writer.add_text("compare/summary", render_table(rows))
    print("\n" + render_table(rows))
    finish(folder / "summary.md", rows, [])
    return 0


def list_entries() -> str:
    from lmmcl.train.baseline_registry import known_baselines
    from lmmcl.train.recipes import known_recipes

    return (f"recipes:   {' '.join(known_recipes())}\n"
            f"baselines: {' '.join(known_baselines())}   (add to a recipe with +, e.g. mlp_gate_up+lwf)\n"
            f"default:   {' '.join(PAPER_RECIPES)}   (the paper's baselines: {' '.join(PAPER_BASELINES)})")


def main(argv: list[str]) -> int:
    from lmmcl.tools.pool import split_overrides

    argv, overrides = split_overrides(argv)  # everything after "--" goes to `lmmcl fit` for every run
    parser = argparse.ArgumentParser(prog="lmmcl compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run directories to compare (each with a report.json)")
    parser.add_argument("--train", action="store_true", help="train --recipes first, then compare them")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--recipes", nargs="+", default=PAPER_RECIPES,
                        help="recipes or recipe+baseline entries to train (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the recipes and baselines an entry can name")
    parser.add_argument("--out", help="output directory (default: logs/compare/<model>)")
    parser.add_argument("--seeds", nargs="+", type=int,
                        help="train every entry at every budget once per seed (default: the config's seed)")
    parser.add_argument("--lr-scales", nargs="+", type=float, default=list(LR_SCALES),
                        help="the budgets' LRs, as multiples of the configured LR (default: %(default)s)")
    parser.add_argument("--step-scales", nargs="+", type=float, default=list(STEP_SCALES),
                        help="the budgets' steps per stage, as multiples of the configured steps "
                             "(default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="runs at once, each a single-thread process (default: one per CPU, %(default)s here; "
                             "1: one after another in this process, with every torch thread)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the runs and an estimate of their time, train nothing")
    parser.add_argument("--no-base-cache", action="store_true",
                        help="evaluate the base model in every run instead of once per seed")
    parser.add_argument("--no-restore", action="store_true",
                        help="skip the restore analysis after the configured budget's runs (claims.md's (d))")
    parser.add_argument("--resume", action="store_true",
                        help="do not train again the runs this output directory's compare finished before with the "
                             "same arguments (<out>/jobs/done/); after changing lmmcl's code, leave it out")
    args = parser.parse_args(argv)
    if args.list:
        print(list_entries())
        return 0
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.train:
        return train_and_compare(args, overrides)
    if args.runs:
        return existing_runs(args.runs, args.out)
    parser.error("give run directories, or --train to train the recipes first")
    return 2
