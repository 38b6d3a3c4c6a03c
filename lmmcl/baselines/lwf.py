"""Learning without Forgetting: distil the model as it was at the start of the stage, on answer tokens only.

loss = task loss + lambda * T^2 * KL(teacher_T || student_T), averaged over the positions that predict an
answer token. Labels are -100 everywhere but the answer, and the logits at position t-1 predict token t, so
position t-1 is distilled exactly when ``labels[t] != -100`` (the reference code distils random positions).

Memory: the teacher is not a second model. At every stage start the parameters that train are copied
(LoRA: the adapters only; ``mlp_gate_up``: the gate and up projections), and the teacher forward is
``torch.func.functional_call`` of the live model with that copy overriding the trained parameters - every
frozen parameter is shared, since it cannot have changed. The teacher runs in eval mode (no dropout; MoE
routes top-1, as the previous stage was evaluated), without gradients, and computes logits only at the
distilled positions (``logits_to_keep``).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch import Callback, LightningModule, Trainer

from lmmcl.baselines.common import trainable_snapshot
from lmmcl.contracts import LossTerm
from lmmcl.data.collate import answer_positions


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), summed over the vocabulary and averaged over the
    rows of the (positions, vocab) logits; exactly 0 when they are equal."""
    if student_logits.shape[0] == 0:
        return student_logits.sum() * 0.0
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    kl = F.kl_div(student, teacher, log_target=True, reduction="sum") / student_logits.shape[0]
    return kl * temperature ** 2


def lwf_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
             temperature: float = 2.0) -> torch.Tensor:
    """:func:`distillation_loss` on the answer positions of full (batch, seq, vocab) logits."""
    keep = answer_positions(labels)
    return distillation_loss(student_logits[keep], teacher_logits[keep], temperature)


class LwF(Callback, LossTerm):
    """Add ``lambda * T^2 * KL`` to the previous stage's model to the training loss (a
    :class:`~lmmcl.contracts.LossTerm`, logged as ``train/lwf``).

    Args:
        temperature: softmax temperature T of teacher and student.
        weight: lambda, the distillation term's weight.
    """

    name = "lwf"

    def __init__(self, temperature: float = 2.0, weight: float = 1.0):
        self.temperature, self.weight = temperature, weight
        self.teacher: dict[str, torch.Tensor] = {}

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.teacher = {}

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.teacher = trainable_snapshot(pl_module.model)  # the model at the start of this stage

    def loss(self, module: LightningModule, batch: dict[str, Any], output: Any) -> torch.Tensor:
        keep = answer_positions(batch["labels"])
        teacher = self.teacher_logits(module, batch, keep)
        return self.weight * distillation_loss(output.logits[keep], teacher, self.temperature)

    @torch.no_grad()
    def teacher_logits(self, module: LightningModule, batch: dict[str, Any], keep: torch.Tensor) -> torch.Tensor:
        """(positions, vocab) logits of the stage-start model at the ``keep`` positions."""
        if not self.teacher:
            raise RuntimeError("LwF has no teacher yet: it is taken at the start of every training epoch (stage).")
        model = module.model
        inputs = {k: v for k, v in module.model_inputs(batch).items() if k != "labels"}
        inputs["use_cache"] = False
        sliced = "logits_to_keep" in inspect.signature(model.forward).parameters
        if sliced:
            inputs["logits_to_keep"] = keep
        was_training = model.training
        model.eval()
        try:
            logits = torch.func.functional_call(model, self.teacher, args=(), kwargs=inputs).logits
        finally:
            model.train(was_training)
        return logits if sliced else logits[keep]
