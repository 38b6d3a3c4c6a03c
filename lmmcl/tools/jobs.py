"""``--jobs N`` (``lmmcl compare``, ``lmmcl calibrate``): a pool's runs as N parallel single-thread processes instead
of one after another.

Each run is ``lmmcl fit`` in its own process (``python -m lmmcl.tools.jobs RESULT.json [--restore] fit ...``) with
one torch / OpenMP thread, its output in ``<out>/jobs/<label>.log``; it writes its summary row to ``RESULT.json``
(the row read from a run's report.json), after the restore analysis with ``--restore``
(:func:`lmmcl.tools.finish.finish_run`, as a serial pool does). Runs start in the given order, at most N at a time,
and two runs that log to the same folder (``logs/<model>/<entry>[/<budget>]``) never run at once, so every run gets
the ``version_<n>`` the serial pool would give it. The rows come back in the given order. A run that fails does not
stop the others; it is reported with its exit code, its log and the log's last lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
TAIL_LINES = 15


def default_jobs() -> int:
    """The CPUs this process may run on (its CPU affinity where the system has one): ``--jobs``'s default, one
    single-thread run per CPU."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class Task:
    """One run of a pool: its label (e.g. ``<entry> / seed <k>``), ``lmmcl fit`` arguments, the log folder it shares
    with other runs (never two at once), whether the restore analysis runs after it, the caller's ``extra`` data,
    and what it returned: its summary row, or its exit code and log."""

    label: str
    args: list[str]
    folder: str
    restore: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] | None = None
    returncode: int | None = None
    log: Path | None = None
    result: Path | None = None
    started: float = 0.0
    seconds: float = 0.0

    def file_stem(self) -> str:
        return self.label.replace(" / seed ", "-seed").replace(" / ", "-").replace("/", "_").replace(" ", "_")


def failure_report(task: Task, tail: bool = True) -> str:
    """The failed run, its exit code, its log and (``tail``) the log's last lines."""
    head = f"[lmmcl] FAILED: {task.label}: exit code {task.returncode}; log: {task.log}"
    lines = task.log.read_text(errors="replace").splitlines() if tail and task.log and task.log.exists() else []
    return "\n".join([head, *(f"    {line}" for line in lines[-TAIL_LINES:])])


def run_parallel(tasks: list[Task], jobs: int, work_dir: Path, poll_s: float = 0.2,
                 on_done: Callable[[Task], None] | None = None) -> list[Task]:
    """Run ``tasks`` (in their order, at most ``jobs`` at once, one per folder at a time); fills each one's row or
    return code, and calls ``on_done`` with each task that finished with a row, as it finishes. Ctrl-C stops the
    runs this started."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": os.pathsep.join(  # the runs import this very lmmcl
        [str(Path(__file__).resolve().parents[2]), *filter(None, [os.environ.get("PYTHONPATH")])])}
    pending, running = list(tasks), {}
    try:
        while pending or running:
            busy = {t.folder for t in running.values()}
            while len(running) < jobs:
                task = next((t for t in pending if t.folder not in busy), None)
                if task is None:
                    break
                pending.remove(task)
                busy.add(task.folder)
                task.log, task.result = work_dir / f"{task.file_stem()}.log", work_dir / f"{task.file_stem()}.json"
                task.result.unlink(missing_ok=True)
                task.started = time.time()
                with task.log.open("w") as out:
                    proc = subprocess.Popen([sys.executable, "-m", "lmmcl.tools.jobs", str(task.result),
                                             *(["--restore"] if task.restore else []), *task.args],
                                            stdout=out, stderr=subprocess.STDOUT, env=env)
                running[proc] = task
                print(f"[lmmcl] started {task.label} ({len(tasks) - len(pending)}/{len(tasks)}, "
                      f"{len(running)} running; log {task.log})", flush=True)
            time.sleep(poll_s)
            for proc in [p for p in running if p.poll() is not None]:
                task = running.pop(proc)
                task.returncode, task.seconds = proc.returncode, time.time() - task.started
                if task.returncode == 0 and task.result.exists():
                    task.row = json.loads(task.result.read_text())
                    if on_done:
                        on_done(task)
                    print(f"[lmmcl] finished {task.label} in {task.seconds:.0f} s", flush=True)
                else:
                    print(failure_report(task, tail=False), flush=True)  # in full once all have ended
    except BaseException:
        for proc in running:  # only the processes this call started
            proc.terminate()
        for proc in running:
            proc.wait()
        raise
    return tasks


def worker(argv: list[str]) -> int:
    """``python -m lmmcl.tools.jobs RESULT.json [--restore] fit ...``: one run with one thread (then, with
    ``--restore``, its restore analysis); its summary row into RESULT.json."""
    import torch

    from lmmcl.atomic import atomic_write
    from lmmcl.failures import guarded
    from lmmcl.tools.finish import finish_run
    from lmmcl.train.cli import run
    from lmmcl.yamlfile import check_config_files

    torch.set_num_threads(1)
    result, args = Path(argv[0]), argv[1:]
    restore = args[:1] == ["--restore"]
    if restore:
        args = args[1:]

    def fit() -> int:
        check_config_files(args)
        start = time.time()
        cli = run(args)
        atomic_write(result, json.dumps(finish_run(cli, time.time() - start, restore)) + "\n")
        return 0

    return guarded("lmmcl fit", fit)


if __name__ == "__main__":
    raise SystemExit(worker(sys.argv[1:]))
