"""Speed and memory callbacks: activation (gradient) checkpointing, how long each step waits for data, and where a
run's time goes (training, evaluation).

All are plain Lightning callbacks, switched on from a trainer config (configs/trainer/grad_checkpointing.yaml)
or by hand (``--trainer.callbacks+=lmmcl.train.perf.DataWaitTimer``; ``lmmcl compare`` and ``lmmcl calibrate`` add
:class:`PhaseTimer` to their runs). None changes what is computed.
"""

from __future__ import annotations

import time
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info


def enable_activation_checkpointing(model: Any, every_n_layers: int = 1) -> None:
    """Turn on a Hugging Face model's own activation checkpointing, non-reentrant (see
    :class:`GradientCheckpointing`)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(kwargs, every_n_layers=every_n_layers)
    else:  # transformers < 5
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


class GradientCheckpointing(Callback):
    """Recompute each decoder/encoder layer's activations in the backward pass instead of storing them.

    Calls the Hugging Face model's own ``activation_checkpointing_enable`` (``gradient_checkpointing_enable``
    on older transformers) with the non-reentrant checkpoint, which gives gradients to trainable parameters
    behind frozen embeddings (a reentrant checkpoint would silently give them none). Only active in training
    mode: generation in validation is unaffected.

    Args:
        every_n_layers: checkpoint every n-th layer only (1: all), trading memory back for speed.
    """

    def __init__(self, every_n_layers: int = 1):
        self.every_n_layers = every_n_layers

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        enable_activation_checkpointing(pl_module.model, self.every_n_layers)
        rank_zero_info(f"[lmmcl] activation checkpointing on ({type(pl_module.model).__name__}, "
                       f"every {self.every_n_layers} layer(s))")


class DataWaitTimer(Callback):
    """Time spent between steps (waiting for the next batch) against time inside steps, per training epoch.

    ``wait`` is the gap from one ``on_train_batch_end`` to the next ``on_train_batch_start``: Lightning fetches
    the next batch there (plus a little loop bookkeeping), so a loader that keeps up makes it near zero.
    ``step`` is forward + backward + optimizer step. The first batch of an epoch (worker start-up) is
    reported apart as ``first_batch_s``. Logs ``perf/data_wait_share`` and keeps every epoch in ``epochs``.
    """

    def __init__(self):
        self.epochs: list[dict[str, Any]] = []
        self._epoch_start = self._batch_start = self._batch_end = None
        self._wait = self._step = 0.0
        self._steps = 0
        self._first = 0.0

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._epoch_start, self._batch_end = time.perf_counter(), None
        self._wait = self._step = self._first = 0.0
        self._steps = 0

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        now = time.perf_counter()
        if self._batch_end is None:
            self._first = now - self._epoch_start
        else:
            self._wait += now - self._batch_end
        self._batch_start = now

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        self._batch_end = time.perf_counter()
        self._step += self._batch_end - self._batch_start
        self._steps += 1

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        summary = self.summary()
        self.epochs.append(summary)
        pl_module.log("perf/data_wait_share", summary["wait_share"])
        rank_zero_info(f"[lmmcl] data wait: {100 * summary['wait_share']:.1f}% of step time "
                       f"({summary['wait_s']:.2f} s waiting, {summary['step_s']:.2f} s in {summary['steps']} steps; "
                       f"first batch {summary['first_batch_s']:.2f} s)")

    def summary(self) -> dict[str, Any]:
        """The current epoch: seconds waiting (after the first batch), seconds in steps, their share."""
        total = self._wait + self._step
        return {"steps": self._steps, "wait_s": self._wait, "step_s": self._step, "first_batch_s": self._first,
                "wait_share": self._wait / total if total else 0.0}


class PhaseTimer(Callback):
    """Wall time of a run by phase, in ``seconds``: ``training`` (the stages' batches, with the drift monitor's
    points), ``evaluation`` (every accuracy-matrix row: generation on the benchmarks and what the stage loop does
    after it: the counting-bias probe, the report) and ``other`` (start-up, checkpoints, the rest), the number of
    ``evaluations`` and of training ``batches``. A phase runs from one of its hooks to the next hook of another
    phase, so the time a callback spends after an evaluation counts as evaluation whatever the callbacks' order.
    Acts in no evaluation beyond reading the clock, so a reused base row (:mod:`lmmcl.train.base_row`) needs no
    replay of it."""

    idle_in_base_evaluation = True

    def __init__(self):
        self.seconds = {"training": 0.0, "evaluation": 0.0, "other": 0.0}
        self.evaluations = self.batches = 0
        self._phase, self._since = "other", time.perf_counter()

    def switch(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[self._phase] += now - self._since
        self._phase, self._since = phase, now

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.switch("other")

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.switch("training")

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        self.batches += 1

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.evaluations += 1
        self.switch("evaluation")

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.switch("other")

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.switch("other")

    def summary(self) -> dict[str, Any]:
        self.switch(self._phase)  # count the phase running now
        return {**{f"{k}_s": round(v, 2) for k, v in self.seconds.items()}, "evaluations": self.evaluations,
                "batches": self.batches}


class PeakMemory(Callback):
    """Prints each rank's peak GPU memory (``torch.cuda.max_memory_allocated``) at the end of every stage and of
    the base evaluation, for comparison with ``lmmcl recipes``' prediction; nothing on CPU.

        lmmcl fit ... --trainer.callbacks+=lmmcl.train.perf.PeakMemory
    """

    def _report(self, trainer: Trainer, pl_module: LightningModule, what: str) -> None:
        import torch

        if pl_module.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(pl_module.device)
            print(f"[lmmcl] peak GPU memory after {what}, rank {trainer.global_rank}: {peak / 2**30:.2f} GiB "
                  f"({peak:,} bytes)", flush=True)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._report(trainer, pl_module, f"stage {trainer.current_epoch + 1}")

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._report(trainer, pl_module, "an evaluation")
