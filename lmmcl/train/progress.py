"""Progress as plain lines: readable in a log file or a pipe, where a live progress bar draws nothing.

- :class:`LineProgress`: one run (the base pre-training), a line every twentieth of its steps.
- :class:`StageProgress`: the stage loop (``lmmcl fit`` adds it): a line when a stage starts and when it ends (time
  taken, time left for the run) and, when no progress bar is drawn (output to a file or a pipe), a line every tenth
  of each stage.
- :func:`evaluation_line`: one evaluation in one line (the stage loop prints it after every accuracy-matrix row).
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.contracts import StageData, stage_loop


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def step_line(what: str, step: int, total: int, elapsed: float, outputs: Any) -> str:
    """``[lmmcl] <what> step i/n: loss x, elapsed, ~left``, the time left extrapolated from the steps so far."""
    left = elapsed / step * (total - step) if step else 0.0
    loss = outputs["loss"].item() if isinstance(outputs, dict) and "loss" in outputs else float("nan")
    return f"[lmmcl] {what} step {step}/{total}: loss {loss:.3f}, {minutes(elapsed)}, ~{minutes(left)} left"


def step_due(step: int, every: int, total: int, printed: int) -> bool:
    """Whether optimizer step ``step`` gets a line: every ``every`` steps and the last, once each. Batch hooks run
    once per micro-batch, so under gradient accumulation a step is seen as often as it accumulates."""
    return step != printed and step > 0 and (step % every == 0 or step == total)


class LineProgress(L.Callback):
    """Print ``[lmmcl] <what> step i/n: loss x, elapsed, ~left`` every ``every`` optimizer steps (default: a
    twentieth of the run) and at the last."""

    def __init__(self, what: str, every: int | None = None) -> None:
        self.what, self.every = what, every
        self.start, self.total, self.printed = 0.0, 0, 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start, self.total = time.monotonic(), int(trainer.estimated_stepping_batches)
        self.every = self.every or max(1, self.total // 20)
        self.printed = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        step = trainer.global_step
        if step_due(step, self.every, self.total, self.printed):
            self.printed = step
            print(step_line(self.what, step, self.total, time.monotonic() - self.start, outputs), flush=True)


class StageProgress(L.Callback):
    """A line when a stage starts, one when it ends (time taken, time left for the run) and, when no progress bar
    is drawn, one every ``fraction`` of the stage's optimizer steps (and at its last).

    Args:
        fraction: the most of a stage between two progress lines.
    """

    def __init__(self, fraction: float = 0.1) -> None:
        self.fraction = fraction
        self.fit_start: float | None = None
        self.stage_start, self.first_step, self.stages_done = 0.0, 0, 0
        self.steps, self.every, self.printed = 0, 1, 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        now = time.monotonic()
        self.fit_start = now if self.fit_start is None else self.fit_start
        self.stage_start, self.first_step, self.printed = now, trainer.global_step, 0
        loop = stage_loop(trainer)
        self.steps = (loop.stage_steps(trainer) if loop else None) or \
            math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches)
        self.every = max(1, int(self.steps * self.fraction))
        rank_zero_info(f"[lmmcl] {self.stage(trainer)}: {self.steps} steps")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        step = trainer.global_step - self.first_step
        if trainer.progress_bar_callback is None and step_due(step, self.every, self.steps, self.printed):
            self.printed = step
            rank_zero_info(step_line(self.stage(trainer), step, self.steps, time.monotonic() - self.stage_start,
                                     outputs))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        now = time.monotonic()
        self.stages_done += 1
        left = len(stage_names(trainer)) - trainer.current_epoch - 1
        per_stage = (now - self.fit_start) / self.stages_done
        rest = f"; ~{minutes(per_stage * left)} left for {left} more stage{'s' * (left != 1)}" if left else ""
        rank_zero_info(f"[lmmcl] {self.stage(trainer)} done in {minutes(now - self.stage_start)} (its evaluation "
                       f"included){rest}")

    @staticmethod
    def stage(trainer: L.Trainer) -> str:
        names = stage_names(trainer)
        name = names[trainer.current_epoch] if trainer.current_epoch < len(names) else "?"
        return f"stage {trainer.current_epoch + 1}/{len(names)} {name}"


def stage_names(trainer: L.Trainer) -> list[str]:
    """The run's stages: its datamodule's target skills (:class:`~lmmcl.contracts.StageData`)."""
    return list(trainer.datamodule.skill_names) if isinstance(trainer.datamodule, StageData) else []


def evaluation_line(row: dict[str, Any], base: dict[str, Any], targets: list[str], heldout: list[str]) -> str:
    """``[lmmcl] evaluation <row>: targets t (+x from the base), held-out h (-y from the base)``: the mean score of
    each group, and its change from the base row (``base``; the base row itself shows no change)."""
    parts = []
    for label, names in (("targets", targets), ("held-out", heldout)):
        if names:
            mean = sum(row["scores"][n] for n in names) / len(names)
            change = mean - sum(base["scores"][n] for n in names) / len(names)
            parts.append(f"{label} {mean:.1f}" + ("" if row is base else f" ({change:+.1f} from the base)"))
    return f"[lmmcl] evaluation {row['name']}: {', '.join(parts)}"
