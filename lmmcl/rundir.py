"""The run's directory, read the one safe way under several processes.

``Trainer.log_dir`` is a collective: it broadcasts rank 0's directory to every rank, so every rank must read
it, the same number of times, in the same order. Read only on rank 0 (``if trainer.is_global_zero and
trainer.log_dir``), rank 0 waits in the broadcast for ranks that never join it and a DDP/FSDP run hangs.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Trainer


def run_dir(trainer: Trainer) -> Path | None:
    """The run's log directory on every rank (call it on all of them), or None when the run has no logger."""
    if trainer.logger is None:
        return None
    path = trainer.log_dir  # collective: every rank takes part, whatever it then does with the answer
    return Path(path) if path else None
