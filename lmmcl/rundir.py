"""The run's directory, read the one safe way under several processes.

``lmmcl fit`` chooses it before the loggers exist (:class:`RunFolder`); elsewhere (a Trainer built by hand, an outside
launcher's unpinned version) it is the first logger's directory, ``Trainer.log_dir``:

``Trainer.log_dir`` is a collective: it broadcasts rank 0's directory to every rank, so every rank must read
it, the same number of times, in the same order. Read only on rank 0 (``if trainer.is_global_zero and
trainer.log_dir``), rank 0 waits in the broadcast for ranks that never join it and a DDP/FSDP run hangs.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback, Trainer


class RunFolder(Callback):
    """The run directory ``lmmcl fit`` chose before the loggers were built (:mod:`lmmcl.train.loggers`): the same on
    every rank, so reading it is no collective, and independent of which logger comes first."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)


def run_dir(trainer: Trainer) -> Path | None:
    """The run's log directory on every rank (call it on all of them), or None when the run has no logger."""
    if not trainer.loggers:
        return None
    placed = next((cb.folder for cb in trainer.callbacks if isinstance(cb, RunFolder)), None)
    if placed is not None:  # every rank has it (or no rank does): no collective is skipped on one rank only
        return placed
    path = trainer.log_dir  # collective: every rank takes part, whatever it then does with the answer
    return Path(path) if path else None
