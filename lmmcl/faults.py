"""Fault injection for tests: SIGKILL this process at a named point of a run, chosen by environment variables.

``LMMCL_KILL_AT=<point>:<n>`` kills the process (SIGKILL: no cleanup, no ``finally``) the ``n``-th time
``kill_point(<point>)`` runs. ``LMMCL_FAULT_LOG=<file>`` appends each point's name to ``file`` as it passes
(how a test counts the points of an uninterrupted run before choosing where to kill). Unset, both cost one
dictionary lookup. Points: ``train_batch`` (mid-stage), ``eval_batch`` (mid-evaluation), ``checkpoint_write``
(a stage checkpoint written to its temporary file, not yet renamed), ``checkpoint_link`` (stage checkpoint in
place, ``last.ckpt`` not yet updated), ``report_write`` (a report file written to its temporary file).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Any

KILL_AT, FAULT_LOG = "LMMCL_KILL_AT", "LMMCL_FAULT_LOG"
_passed: Counter = Counter()


def kill_point(point: str) -> None:
    """Log and count ``point``; SIGKILL this process if it is the one ``LMMCL_KILL_AT`` names."""
    target, log = os.environ.get(KILL_AT), os.environ.get(FAULT_LOG)
    if not target and not log:
        return
    _passed[point] += 1
    if log:
        with open(log, "a") as f:
            f.write(point + "\n")
    if target == f"{point}:{_passed[point]}":
        os.kill(os.getpid(), signal.SIGKILL)


def armed() -> bool:
    """Whether fault injection is on in this process."""
    return bool(os.environ.get(KILL_AT) or os.environ.get(FAULT_LOG))


def fault_callback() -> Any:
    """A Lightning callback with the batch-level kill points: after a training and after an evaluation batch
    (built on demand, so this module stays importable without Lightning, e.g. by ``lmmcl report``)."""
    from lightning.pytorch import Callback

    class FaultPoints(Callback):
        def on_train_batch_end(self, *args: Any) -> None:
            kill_point("train_batch")

        def on_validation_batch_end(self, *args: Any) -> None:
            kill_point("eval_batch")

    return FaultPoints()
