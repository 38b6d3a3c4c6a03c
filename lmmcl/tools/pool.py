"""Many ``lmmcl fit`` runs trained as one pool: every run of a compare (each entry at each budget, each seed) or of a
calibration grid, so that no worker waits for a group's last run.

With ``jobs`` = 1 the runs train one after another in this process (every torch thread); with more, as that many
single-thread processes (:mod:`lmmcl.tools.jobs`). Every run records its time by phase
(:class:`lmmcl.train.perf.PhaseTimer`) and shares the base-row cache it is given (the base model is evaluated once
per seed: :mod:`lmmcl.train.base_row`). Every finished run is recorded in the pool's work directory; with
``resume``, the runs recorded there with the same arguments are not trained again (:mod:`lmmcl.tools.finished`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lmmcl.tools.finish import PHASE_TIMER
from lmmcl.tools.jobs import Task


def split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """A pool command's own arguments, and the options after ``--`` that go to every run's ``lmmcl fit``."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def seeding(seed: int | None) -> list[str]:
    return [] if seed is None else ["--seed_everything", str(seed), "--data.seed", str(seed)]


def fit_args(model: str, entry: str, overrides: list[str], seed: int | None, base_cache: Path | None,
             log_name: str | None = None) -> list[str]:
    """``lmmcl fit`` arguments of one run of ``entry`` (a recipe, optionally ``+baseline``...). The overrides come
    first: a ``--config`` among them must not replace the entry's model, recipe, seed or baselines (the baselines'
    callbacks are appended to the list such a config sets)."""
    from lmmcl.train.baseline_registry import baseline_args, parse_entry

    recipe, baselines = parse_entry(entry)
    caching = [] if base_cache is None else ["--stages.base_cache", str(base_cache)]
    naming = [] if log_name is None else ["--trainer.logger.init_args.name", log_name]
    return ["fit", *overrides, "--model.preset", model, "--recipe.name", recipe, *seeding(seed), *caching,
            *baseline_args(baselines), *naming, PHASE_TIMER]


def check_entries(entries: list[str]) -> None:
    """Unknown recipes or baselines fail here, before any training."""
    from lmmcl.train.baseline_registry import parse_entry
    from lmmcl.train.recipes import get_recipe

    for entry in entries:
        get_recipe(parse_entry(entry)[0])


def run_pool(tasks: list[Task], jobs: int, work_dir: Path, resume: bool = False) -> list[Task]:
    """Train ``tasks`` (filling each one's row); returns those that failed (``jobs`` > 1 only: a serial run's failure
    raises)."""
    from lmmcl.tools import finished
    from lmmcl.tools.finish import finish_run
    from lmmcl.train.cli import run

    todo = finished.reuse(work_dir, tasks) if resume else tasks
    if jobs > 1 and todo:
        from lmmcl.tools.jobs import run_parallel

        prepare(todo[0].args)
        run_parallel(todo, jobs, work_dir, on_done=lambda task: finished.record(work_dir, task))
    else:
        for task in todo:
            print(f"\n[lmmcl] === {task.label} ===", flush=True)
            start = time.time()
            cli = run(task.args)
            task.row = finish_run(cli, time.time() - start, task.restore)
            task.seconds = time.time() - start
            finished.record(work_dir, task)
    return [t for t in tasks if t.row is None]


def prepare(args: list[str]) -> None:
    """Before parallel runs of ``lmmcl fit args``: build the tiny base they load if it is not cached (once here, not
    by two runs at once)."""
    from lmmcl.train.cli import resolve
    from lmmcl.train.prepare import prepare_model

    config = resolve(args)
    prepare_model(config["model"]["preset"], config["model"].get("model_path"))


def run_seed(run_dir: str | Path | None) -> int | None:
    """``seed_everything`` from a run directory's recorded config.yaml (None where there is none)."""
    from lmmcl.yamlfile import load_yaml

    path = Path(run_dir) / "config.yaml" if run_dir else None
    if path is None or not path.exists():
        return None
    seed = (load_yaml(path) or {}).get("seed_everything")
    return seed if isinstance(seed, int) else None


def task_row(task: Task) -> dict[str, Any]:
    """The run's summary row under its entry's name, with its seed (the one given, else its config's), the task's
    ``extra`` fields (its budget, whether it is the configured one) and ``process_s``: its seconds from start to
    end (a ``--jobs`` worker's process start-up included; None for a resumed run)."""
    extra = {k: v for k, v in task.extra.items() if k not in ("entry", "seed")}
    row = {**task.row, "recipe": task.extra["entry"], **extra,
           "process_s": round(task.seconds, 1) if task.seconds else None}  # start to end, where it ran
    seed = task.extra.get("seed")
    return {**row, "seed": run_seed(row.get("run_dir")) if seed is None else seed}
