"""Pieces the baselines share: a copy of what trains, and "is this the evaluation that ends a stage?"."""

from __future__ import annotations

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.trainer.states import TrainerFn


def trainable_snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of the parameters that train (name -> tensor): the only memory a teacher or an
    interpolation anchor needs, since frozen parameters never change."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def stage_end_validation(trainer: Trainer) -> bool:
    """True inside the validation that runs after a stage's last training batch (not a sanity check, not a
    standalone ``validate``, not a mid-epoch ``val_check_interval`` check)."""
    if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
        return False
    progress = trainer.fit_loop.epoch_loop.batch_progress
    return progress.is_last_batch or progress.current.ready == trainer.num_training_batches
