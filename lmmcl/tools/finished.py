"""The runs a pool has finished, recorded so that ``--resume`` (``lmmcl compare``, ``lmmcl calibrate``) does not train
them again.

A three-seed compare of the tiny model trains for hours; stopped halfway (Ctrl-C, a closed terminal, a killed job)
it used to lose the summary of every run it had finished. Now each run, once it has trained (and, where asked, been
analysed: the restore analysis), leaves ``<out>/jobs/done/<label>-<hash>.json``: its ``lmmcl fit``
arguments and its summary row. With ``--resume`` a run whose arguments are exactly those of a record, and whose
run directory still holds its report.json, is taken from the record; every other run trains. The hash is of the
arguments, so the runs of one entry and seed at several budgets keep one record each. Nothing checks that
the code is the same: after changing lmmcl, run the compare without ``--resume``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lmmcl.atomic import atomic_write


def record_path(work_dir: Path, task: Any) -> Path:
    """Where the record of ``task`` (a :class:`lmmcl.tools.jobs.Task`) lies under the compare's ``work_dir``."""
    digest = hashlib.sha1(json.dumps(task.args).encode()).hexdigest()[:12]
    return work_dir / "done" / f"{task.file_stem()}-{digest}.json"


def record(work_dir: Path, task: Any) -> None:
    """Write the record of a task that has finished with a row."""
    atomic_write(record_path(work_dir, task), json.dumps({"label": task.label, "args": task.args, "row": task.row},
                                                         indent=2) + "\n")


def reuse(work_dir: Path, tasks: list[Any]) -> list[Any]:
    """Fill the row of every task that a record says has finished; returns the tasks still to train."""
    todo = []
    for task in tasks:
        path = record_path(work_dir, task)
        done = json.loads(path.read_text()) if path.exists() else None
        run_dir = (done or {}).get("row", {}).get("run_dir")
        if done and done.get("args") == task.args and run_dir and (Path(run_dir) / "report.json").exists():
            task.row = {**done["row"], "resumed": True}
            print(f"[lmmcl compare] resumed {task.label}: finished before, in {run_dir}", flush=True)
        else:
            todo.append(task)
    return todo
