"""Progress as plain lines: readable in a log file or a pipe, where a live progress bar draws nothing."""

from __future__ import annotations

import time

import lightning as L


class LineProgress(L.Callback):
    """Print ``[lmmcl] <what> step i/n: loss x, elapsed, ~left`` every ``every`` optimizer steps (default: a
    twentieth of the run) and at the last."""

    def __init__(self, what: str, every: int | None = None) -> None:
        self.what, self.every = what, every
        self.start, self.total = 0.0, 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start, self.total = time.monotonic(), int(trainer.estimated_stepping_batches)
        self.every = self.every or max(1, self.total // 20)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        step, total = trainer.global_step, self.total
        if step % self.every and step != total:
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / step * (total - step) if step else 0.0
        loss = outputs["loss"].item() if isinstance(outputs, dict) and "loss" in outputs else float("nan")
        print(f"[lmmcl] {self.what} step {step}/{total}: loss {loss:.3f}, {elapsed / 60:.1f} min, "
              f"~{left / 60:.1f} min left", flush=True)
