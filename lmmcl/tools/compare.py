"""Runs side by side: learning versus forgetting.

    lmmcl compare RUN_DIR [RUN_DIR ...]                  # existing runs
    lmmcl compare --train --model tiny --recipes full llm sa_proj mlp_gate_up mlp [-- CLI overrides]
    lmmcl compare --train --recipes mlp mlp+lwf mlp+wise_ft mlp+moe lora   # recipe+baseline entries
    lmmcl compare --list                                                    # recipes, baselines, defaults
    lmmcl compare --train --seeds 0 1 2                # every entry once per seed: mean ± std
    lmmcl compare --train --select-lr 3e-4 1e-3 3e-3 --seeds 0 1 2   # the LR chosen first, on seed 100 (below)
    lmmcl compare --train --seeds 0 1 2 --jobs 2       # two runs at a time, one thread each (lmmcl.tools.jobs)
    lmmcl compare --train --seeds 0 1 2 --no-layers    # without each run's layer contribution (layers.json)
    lmmcl compare --train --seeds 0 1 2 --resume       # a stopped compare: only the runs it had not finished

An entry is a recipe (configs/recipe/) optionally followed by baselines (configs/baseline/) joined with
``+``; its run logs to logs/<model>/<entry>/. The options after ``--`` go to every run, before the run's own
model, recipe, seed and baselines, which a ``--config`` among them therefore cannot replace. The default list is the paper's recipes and its baselines
(LoRA; LwF, WiSE-FT and MoE on the MLP recipe, so each compares with the plain ``mlp`` row).

Writes summary.json, summary.md and learning_vs_forgetting.png (also into TensorBoard) in
logs/compare/<model>/ (or --out). Every run trains on the same base model, sequence and seed; only the
recipe differs, so the base model is evaluated once per seed: the first run stores its base row in
<out>/base_rows/ and the others reuse it (lmmcl.train.base_row; --no-base-cache evaluates it in every run).
After every trained run, in the process that ran it, its layer contribution (lmmcl.eval.layers.measure_run: which
language-model blocks' outputs moved, base model against final weights, on the counting probe's prompts) is written
to layers.json and layers.png in its run directory, where claims.md reads it for finding (d); --no-layers skips it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.report import atomic_write
from lmmcl.tables import markdown_table

PAPER_RECIPES = ["full", "llm", "sa_proj", "mlp_gate_up", "mlp"]
PAPER_BASELINES = ["lora", "mlp+lwf", "mlp+wise_ft", "mlp+moe"]
COLUMNS = ("recipe", "learning", "heldout_final", "heldout_mean", "trainable_params", "wall_time_s")


def row_from_run(run_dir: str | Path, wall_time_s: float | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    report_path = run_dir / "report.json"
    if not report_path.exists():
        raise FileNotFoundError(f"{run_dir} has no report.json: is it a run directory (logs/<model>/<recipe>/version_<n>)?")
    report = json.loads(report_path.read_text())
    if wall_time_s is None:
        wall_time_s = report.get("wall_time_s")
    if "baselines" in report:
        label = "+".join([report["recipe"], *report["baselines"]])
    else:  # reports rebuilt from TensorBoard events: the baselines are in the run's config.yaml
        label = run_label(run_dir, report["recipe"])
    return {"recipe": label, "model": report["model"], **report["summary"],
            "trainable_params": report["trainable_params"], "total_params": report["total_params"],
            "wall_time_s": wall_time_s, "run_dir": str(run_dir)}


def measure_layers(cli: Any) -> Path | None:
    """layers.json/png of the run ``cli`` has just trained, in its run directory (:func:`lmmcl.eval.layers.measure_run`).

    Every run is measured, whatever its recipe: the measurement is of each block's output, not of its weights, and a
    recipe that leaves a block's weights frozen still moves its output through its inputs (claims.md says which
    blocks each recipe trained); it costs two forward passes over the probe's prompts. Runs on several processes are
    not measured (a sharded model is not whole on one process: ``lmmcl layers`` on their checkpoint). A failure is
    printed, not raised (raised under ``LMMCL_DEBUG=1``): the run itself succeeded and its row counts; claim (d)
    then lacks that run.
    """
    from lmmcl.eval.layers import measure_run
    from lmmcl.failures import debug, paragraph

    trainer = cli.trainer
    if trainer.world_size > 1:
        print(f"[lmmcl compare] layer contribution not measured for {trainer.log_dir}: it ran on {trainer.world_size} "
              f"processes (measure it with lmmcl layers on its checkpoint)")
        return None
    try:
        path = measure_run(cli.model, trainer.callbacks, trainer.log_dir, trainer.strategy.root_device)
    except Exception as err:  # noqa: BLE001 - reported; the run's row must not be lost to it
        if debug():
            raise
        print(f"[lmmcl compare] layer contribution not measured for {trainer.log_dir}: {paragraph(err, 'lmmcl compare')}")
        return None
    print(f"[lmmcl compare] layer contribution: {path}")
    return path


def finish_run(cli: Any, wall_time_s: float, layers: bool) -> dict[str, Any]:
    """The summary row of the run ``cli`` has just trained (its wall time: the training alone), after measuring its
    layer contribution (``layers``). Called where the run ran: in this process, or in a ``--jobs`` worker."""
    if layers:
        measure_layers(cli)
    return row_from_run(cli.trainer.log_dir, wall_time_s=wall_time_s)


def run_label(run_dir: Path, recipe: str) -> str:
    """The recipe plus the baselines among the run's callbacks (its config.yaml), e.g. ``mlp_gate_up+lwf``."""
    import yaml

    from lmmcl.baselines import baseline_names

    config = run_dir / "config.yaml"
    if not config.exists():
        return recipe
    callbacks = ((yaml.safe_load(config.read_text()) or {}).get("trainer") or {}).get("callbacks") or []
    classes = [c.get("class_path", "").rpartition(".")[2] for c in callbacks if isinstance(c, dict)]
    return "+".join([recipe, *baseline_names(classes)])


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

    return "\n".join(markdown_table(COLUMNS, [[cell(k, r.get(k)) for k in COLUMNS] for r in rows]))


def scatter(rows: list[dict[str, Any]], path: Path):
    """Learning (y) against held-out change after the last stage (x); returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for r in rows:
        if r["learning"] is None or r["heldout_final"] is None:
            continue
        ax.errorbar(r["heldout_final"], r["learning"], xerr=r.get("heldout_final_std"), yerr=r.get("learning_std"),
                    fmt="o", ms=6, capsize=3)  # bars: std over seeds (rows of lmmcl.tools.seeds.aggregate)
        ax.annotate(r["recipe"], (r["heldout_final"], r["learning"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("held-out change after last stage (points)  <- forgetting")
    ax.set_ylabel("learning on target skills (points)")
    ax.set_title("learning vs forgetting")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return fig


def write_summary(out_dir: str | Path, rows: list[dict[str, Any]], runs: list[dict[str, Any]] | None = None) -> Path:
    """summary.json/md and the scatter; with ``runs`` (per-seed rows), ``rows`` are their per-recipe means
    (:func:`lmmcl.tools.seeds.aggregate`) and claims.md judges the paper's findings on them (summary.json's rows
    then also hold each recipe's layer contribution by depth: finding (d)'s numbers)."""
    from torch.utils.tensorboard import SummaryWriter

    out_dir = Path(out_dir)
    claims = None
    if runs:
        from lmmcl.tools.claims import judge

        claims = judge(rows)
        late = claims["d_late_mlp_drives_output_shift"]["per_recipe"]
        rows = [{**r, "layer_contribution": late.get(r["recipe"])} for r in rows]
    atomic_write(out_dir / "summary.json", json.dumps({"rows": rows, **({"runs": runs} if runs else {})}, indent=2) + "\n")
    fig = scatter(rows, out_dir / "learning_vs_forgetting.png")
    atomic_write(out_dir / "summary.md", "# lmmcl compare\n\n" + (seeds_table(rows) if runs else render_table(rows)) +
                 "\n\n![learning vs forgetting](learning_vs_forgetting.png)\n")
    if claims:
        write_claims(out_dir, rows, claims)
    with SummaryWriter(str(out_dir)) as writer:
        writer.add_figure("compare/learning_vs_forgetting", fig)
        writer.add_text("compare/summary", render_table(rows))
    return out_dir / "summary.md"


def compare_tasks(model: str, recipes: list[str], overrides: list[str], seeds: list[int] | None = None,
                  base_cache: Path | None = None, layers: bool = False) -> list[Any]:
    """One :class:`lmmcl.tools.jobs.Task` per run, in the serial order (every entry of a seed, seed after seed);
    ``layers``: each run's layer contribution is measured once it has trained (:func:`finish_run`)."""
    from lmmcl.baselines import baseline_args, parse_entry
    from lmmcl.tools.jobs import Task
    from lmmcl.train.recipes import get_recipe

    entries = [(entry, *parse_entry(entry)) for entry in recipes]  # unknown baselines fail before any training
    for _, recipe, _ in entries:
        get_recipe(recipe)  # and unknown recipes
    caching = [] if base_cache is None else ["--stages.base_cache", str(base_cache)]
    tasks = []
    for seed in seeds or [None]:
        seeding = [] if seed is None else ["--seed_everything", str(seed), "--data.seed", str(seed)]
        for entry, recipe, baselines in entries:
            # the overrides first: a --config among them must not replace the entry's model, recipe, seed or
            # baselines (the baselines' callbacks are appended to the list such a config sets)
            tasks.append(Task(entry + ("" if seed is None else f" / seed {seed}"),
                              ["fit", *overrides, "--model.preset", model, "--recipe.name", recipe, *seeding, *caching,
                               *baseline_args(baselines)], folder=entry, layers=layers,
                              extra={"entry": entry, "seed": seed}))
    return tasks


def task_row(task: Any) -> dict[str, Any]:
    """The run's summary row under its entry's name, with its seed (the one given, else its config's)."""
    row = {**task.row, "recipe": task.extra["entry"]}
    seed = task.extra["seed"]
    return {**row, "seed": run_seed(row.get("run_dir")) if seed is None else seed}


def run_seed(run_dir: str | Path | None) -> int | None:
    """``seed_everything`` from a run directory's recorded config.yaml (None where there is none)."""
    from lmmcl.yamlfile import load_yaml

    path = Path(run_dir) / "config.yaml" if run_dir else None
    if path is None or not path.exists():
        return None
    seed = (load_yaml(path) or {}).get("seed_everything")
    return seed if isinstance(seed, int) else None


def train_groups(model: str, recipes: list[str], groups: list[list[str]], seeds: list[int] | None = None,
                 base_cache: Path | None = None, jobs: int = 1, work_dir: Path | None = None,
                 layers: bool = False, resume: bool = False) -> tuple[list[list[dict[str, Any]]], list[Any]]:
    """Train every entry once per group of overrides (one group per grid LR; a plain compare has one group), once
    or once per seed (``--seed_everything`` and ``--data.seed``), as one pool of runs: per group, one row per run in
    the serial order, and the runs that failed (``jobs`` > 1 only: a serial run's failure raises). With ``jobs`` > 1
    the runs are single-thread processes, ``jobs`` at a time (:mod:`lmmcl.tools.jobs`), their logs in
    ``work_dir``, and no worker waits for the last run of a group. With ``base_cache``, every run shares that
    base-row cache (``--stages.base_cache``). With ``layers``, every run's layer contribution goes into its run
    directory (:func:`finish_run`). Every finished run is recorded in ``work_dir``; with ``resume``, the runs
    recorded there with the same arguments are not trained again (:mod:`lmmcl.tools.finished`)."""
    from lmmcl.tools import finished
    from lmmcl.train.cli import run

    work_dir = work_dir or Path("logs") / "compare" / model / "jobs"
    per_group = [compare_tasks(model, recipes, overrides, seeds, base_cache, layers) for overrides in groups]
    tasks = [task for group in per_group for task in group]
    todo = finished.reuse(work_dir, tasks) if resume else tasks
    if jobs > 1 and todo:
        from lmmcl.tools.jobs import run_parallel

        if not prepare(todo[0].args):  # the runs' logger names their folder itself: never two at once
            for task in todo:
                task.folder = "*"
        run_parallel(todo, jobs, work_dir, on_done=lambda task: finished.record(work_dir, task))
    else:
        for task in todo:
            print(f"\n[lmmcl compare] === {model} / {task.label} ===")
            start = time.time()
            cli = run(task.args)
            task.row = finish_run(cli, time.time() - start, task.layers)
            finished.record(work_dir, task)
    return [[task_row(t) for t in group if t.row is not None] for group in per_group], [t for t in tasks if t.row is None]


def prepare(args: list[str]) -> bool:
    """Before parallel runs of ``lmmcl fit args``: build the tiny base they load if it is not cached (once here, not
    by two runs at once). Returns whether each entry logs to its own folder (``<model>/<entry>``, the logger's
    name left to lmmcl)."""
    from lmmcl.train.prepare import prepare_model
    from lmmcl.train.cli import resolve

    config = resolve(args)
    prepare_model(config["model"]["preset"], config["model"].get("model_path"))
    logger = (config.get("trainer") or {}).get("logger")
    init = logger.get("init_args") if isinstance(logger, dict) else None
    return isinstance(init, dict) and init.get("name") in (None, "auto") and init.get("version") is None


def seeds_table(rows: list[dict[str, Any]]) -> str:
    """Per-recipe means ± std over seeds, and the per-seed values."""
    from lmmcl.tools.seeds import METRICS, with_spread

    head = ["recipe", "seeds", *METRICS, *(f"{m} per seed" for m in METRICS), "trainable_params"]
    body = []
    for r in rows:
        per_seed = [" / ".join("-" if v is None else f"{v:+.1f}" for v in r[f"{m}_per_seed"]) for m in METRICS]
        body.append([r["recipe"], " ".join(map(str, r["seeds"])), *(with_spread(r[m], r[f"{m}_std"]) for m in METRICS),
                     *per_seed, f"{r['trainable_params']:,}"])
    return "\n".join(markdown_table(head, body))


def write_claims(out_dir: Path, rows: list[dict[str, Any]], claims: dict[str, Any]) -> Path:
    """claims.json and claims.md: the paper's findings as :func:`lmmcl.tools.claims.judge` judged them on ``rows``."""
    from lmmcl.tools.claims import render_claims

    atomic_write(out_dir / "claims.json", json.dumps(claims, indent=2, default=str) + "\n")
    atomic_write(out_dir / "claims.md", render_claims(claims, rows[0]["seeds"] if rows else []))
    return out_dir / "claims.md"


def list_entries() -> str:
    from lmmcl.baselines import known_baselines
    from lmmcl.train.recipes import known_recipes

    return (f"recipes:   {' '.join(known_recipes())}\n"
            f"baselines: {' '.join(known_baselines())}   (add to a recipe with +, e.g. mlp_gate_up+lwf)\n"
            f"default:   {' '.join(PAPER_RECIPES + PAPER_BASELINES)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run directories to compare (each with a report.json)")
    parser.add_argument("--train", action="store_true", help="train --recipes first, then compare them")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--recipes", nargs="+", default=PAPER_RECIPES + PAPER_BASELINES,
                        help="recipes or recipe+baseline entries to train (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the recipes and baselines an entry can name")
    parser.add_argument("--out", help="output directory (default: logs/compare/<model>)")
    parser.add_argument("--seeds", nargs="+", type=int,
                        help="with --train: train every entry once per seed; summary = mean ± std (without it: the config's seed). A "
                             "--train compare always writes claims.md, the paper's four findings judged on the means")
    parser.add_argument("--jobs", type=int, default=1,
                        help="with --train: run this many entries at once, each a single-thread process "
                             "(default 1: one after another in this process, with every torch thread)")
    parser.add_argument("--no-base-cache", action="store_true",
                        help="with --train: evaluate the base model in every run instead of once per seed")
    parser.add_argument("--resume", action="store_true",
                        help="with --train: do not train again the runs this output directory's compare finished "
                             "before with the same arguments (recorded in <out>/jobs/done/; a stopped compare goes "
                             "on where it stopped); after changing lmmcl's code, leave it out")
    parser.add_argument("--no-layers", action="store_true",
                        help="with --train: do not measure each run's layer contribution (layers.json in its run "
                             "directory, read by claims.md for finding (d))")
    from lmmcl.tools import lr_select

    lr_select.add_arguments(parser)
    if "--" in argv:  # everything after "--" goes to `lmmcl fit` for every run
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1:]
    else:
        overrides = []
    args = parser.parse_args(argv)
    if args.list:
        print(list_entries())
        return 0
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.select_lr and not args.train:
        parser.error("--select-lr trains the selection runs: use it with --train")
    if args.resume and not args.train:
        parser.error("--resume skips runs a --train compare finished before: use it with --train")
    runs = selection = None
    failed: list[Any] = []
    if args.train:
        work = Path(args.out) if args.out else Path("logs") / "compare" / args.model
        base_cache = None if args.no_base_cache else work / "base_rows"

        def train(recipes: list[str], groups: list[list[str]], seeds: list[int] | None,
                  layers: bool = False) -> list[list[dict[str, Any]]]:
            done, failures = train_groups(args.model, recipes, groups, seeds, base_cache=base_cache, jobs=args.jobs,
                                          work_dir=work / "jobs", layers=layers, resume=args.resume)
            failed.extend(failures)
            return done

        if args.select_lr:  # selection runs on their own seed first; the reported runs at the chosen LR
            selection = lr_select.select(args, overrides, train)
            overrides = [*overrides, *selection.overrides()]
        [rows] = train(args.recipes, [overrides], args.seeds, layers=not args.no_layers)  # not the selection runs
        if not rows:
            raise LmmclError(f"every run of the compare failed ({len(failed)}): see the logs named above")
        from lmmcl.tools.seeds import aggregate  # one seed (the config's) or several: claims.md either way

        runs, rows = rows, aggregate(rows)
    elif args.runs:
        rows = [row_from_run(r) for r in args.runs]
    else:
        parser.error("give run directories, or --train to train the recipes first")
    model = rows[0]["model"] if rows else args.model
    path = write_summary(args.out or Path("logs") / "compare" / model, rows, runs)
    if selection:
        lr_select.note_in_summary(path, selection)
    print("\n" + (seeds_table(rows) if runs else render_table(rows)) + f"\n\n[lmmcl compare] summary: {path}")
    from lmmcl.eval import drift_correlation  # does the drift monitor predict the held-out drop?

    correlation = drift_correlation.from_runs(runs or rows)  # one point per run and stage, every seed's runs
    atomic_write(path.parent / "drift_correlation.json", json.dumps(correlation, indent=2) + "\n")
    print(drift_correlation.render(correlation))
    if failed:
        from lmmcl.tools.jobs import failure_report

        print("\n".join(failure_report(t) for t in failed))
        print(f"[lmmcl compare] {len(failed)} of {len(failed) + len(runs or rows)} runs failed: "
              f"{', '.join(t.label for t in failed)}; the summary holds the others")
        return 1
    return 0
