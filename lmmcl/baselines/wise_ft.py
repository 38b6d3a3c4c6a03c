"""WiSE-FT: after each stage, interpolate the weights that trained back towards where the stage started.

theta <- a * theta_previous + (1 - a) * theta_tuned, over the trained parameters only (the frozen ones are
equal in both). ``a = 1`` undoes the stage, ``a = 0`` keeps it. The merge happens at the start of the stage's
own evaluation (validation runs before ``on_train_epoch_end``), so the accuracy matrix, the per-stage
checkpoint and the next stage all see the merged model.
"""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.baselines.common import stage_end_validation, trainable_snapshot
from lmmcl.errors import LmmclError


@torch.no_grad()
def interpolate(model: torch.nn.Module, previous: dict[str, torch.Tensor], alpha: float) -> None:
    """In place: every parameter named in ``previous`` becomes ``alpha * previous + (1 - alpha) * current``."""
    params = dict(model.named_parameters())
    for name, old in previous.items():
        params[name].mul_(1.0 - alpha).add_(old, alpha=alpha)


class WiSEFT(Callback):
    """Weight-space interpolation between the stage's start and its end, once per stage.

    Args:
        alpha: weight ``a`` of the previous (stage-start) parameters, in [0, 1].
    """

    idle_in_base_evaluation = True  # merges only in the evaluation that ends a stage (lmmcl.train.base_row)

    def __init__(self, alpha: float = 0.5):
        if not 0.0 <= alpha <= 1.0:
            raise LmmclError(f"WiSE-FT alpha must be in [0, 1], got {alpha}.")
        self.alpha = alpha
        self.previous: dict[str, torch.Tensor] = {}
        self.merged = True

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.previous, self.merged = trainable_snapshot(pl_module.model), False

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if stage_end_validation(trainer):
            self.merge(pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.merge(pl_module)  # a stage without evaluation (e.g. limit_val_batches=0) is merged all the same

    def merge(self, pl_module: LightningModule) -> None:
        if self.merged:
            return
        interpolate(pl_module.model, self.previous, self.alpha)
        self.previous, self.merged = {}, True
        rank_zero_info(f"[lmmcl] WiSE-FT: merged the stage's weights with a={self.alpha} (previous) / "
                       f"{1 - self.alpha:g} (tuned)")
