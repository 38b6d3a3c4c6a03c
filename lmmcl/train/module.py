"""The LightningModule that holds an LMM: answer-token loss, batched greedy generation, one metric per benchmark."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities import move_data_to_device
from transformers import get_cosine_schedule_with_warmup

from lmmcl.contracts import LossTerm, StageData, stage_loop
from lmmcl.errors import LmmclError
from lmmcl.eval.generate import BATCH_META, greedy_answers, model_inputs
from lmmcl.eval.sample_counts import SampleCounter, sample_entry
from lmmcl.eval.sharded import synced_generation
from lmmcl.models import load_model

# BATCH_META, greedy_answers: eval.generate's
__all__ = ["BATCH_META", "LMMModule", "check_master_weights", "greedy_answers"]


def check_master_weights(precision: str, params: list[torch.nn.Parameter]) -> None:
    """Mixed precision keeps fp32 master weights: trained bf16/fp16 tensors there would take AdamW's updates
    in 8 (or 11) bits of mantissa and lose most of them at the paper's LR."""
    low = sorted({str(p.dtype) for p in params if p.dtype != torch.float32})
    if str(precision).endswith("-mixed") and low:
        raise LmmclError(f"trainer.precision={precision!r} trains fp32 master weights, but trainable parameters "
                         f"are {', '.join(low)}: set model.dtype: float32 (configs/trainer/bf16.yaml), or use "
                         f"precision 'bf16-true' to train bf16 weights on purpose.")


class LMMModule(LightningModule):
    """A multimodal model trained on answer tokens only and evaluated by greedy generation.

    Args:
        preset: a model name in configs/model/ (``tiny``, ``llava``, ``qwen2_5_vl``, ...).
        model_path: a local checkpoint directory to load instead of the preset's default source.
        lr: peak learning rate of every stage.
        recipe_lr: recipe or baseline name -> the run's LR instead of ``lr`` (the paper: ``{lora: 5e-5}``).
        component_lr: component -> LR of its parameters (the paper: ``{vision_tower: 2e-6}``); see
            :mod:`lmmcl.train.lr_groups`.
        warmup_ratio: share of each stage's optimizer steps spent in linear warmup before cosine decay.
        weight_decay: AdamW weight decay.
        dtype: load dtype (default: the preset's).
    """

    def __init__(self, preset: str = "tiny", model_path: str | None = None, lr: float = 1e-3,
                 warmup_ratio: float = 0.03, weight_decay: float = 0.0, dtype: str | None = None,
                 recipe_lr: dict[str, float] | None = None, component_lr: dict[str, float] | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.model, self.processor, self.preset = load_model(preset, model_path, dtype)
        self.model.train()  # from_pretrained returns eval mode; Lightning keeps whatever mode it finds
        self.val_metrics = torch.nn.ModuleDict()
        self.benchmarks: list[Any] = []
        self.target_names: list[str] = []
        # Written here only, read by the stage loop: the last evaluation's scores (full precision: the logged
        # val/* metrics are float32 tensors) and per-benchmark sample counts.
        self.last_scores: dict[str, float] = {}
        self.last_samples: dict[str, dict[str, Any]] = {}  # per benchmark: asked, scored, skipped, bad_records
        self.sample_counter = SampleCounter()
        self.train_counter = SampleCounter()  # this stage's trained samples and skipped bad records (SequentialStages)

    # --- setup -----------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        from lmmcl.eval.metrics import build_metric

        datamodule = self.trainer.datamodule
        self.benchmarks = list(datamodule.benchmarks) if datamodule is not None else []
        self.target_names = list(datamodule.skill_names) if datamodule is not None else []
        for skill in self.benchmarks:
            if skill.name not in self.val_metrics:
                self.val_metrics[skill.name] = build_metric(skill.metric)

    # --- training --------------------------------------------------------------------------------
    def model_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        return model_inputs(batch)

    def run_in_forward(self, compute: Callable[[], Any]) -> Any:
        """``compute()``: where :func:`lmmcl.eval.sharded.in_root_forward` sends the root FSDP module's forward, so
        that the drift monitor's and the probe's forwards find the root unit's parameters gathered."""
        return compute()

    def placeholder_batch(self, train: bool) -> dict[str, Any]:
        """One made-up sample's batch, on the module's device: run where a rank has no usable sample, so that every
        rank runs the same forwards (under FSDP each is a collective; under DDP the gradients are all-reduced)."""
        from PIL import Image

        from lmmcl.data.collate import Collator
        from lmmcl.data.skill import Sample

        sample = Sample(Image.new("RGB", (64, 64), (127, 127, 127)), "What is shown?", "nothing")
        batch = Collator(self.processor, train=train, max_length=1 << 30)([sample])
        return move_data_to_device(batch, self.device)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        skipped = sum(batch.get("bad_records", {}).values())
        self.train_counter.add("train", batch["input_ids"].shape[0] if "input_ids" in batch else 0,
                               batch.get("bad_records", {}))
        if skipped:
            self.log("train/skipped", float(skipped), reduce_fx="sum", batch_size=1)
        placeholder = "input_ids" not in batch  # every sample was a bad record: the same forward and backward as
        batch = self.placeholder_batch(train=True) if placeholder else batch  # the other ranks, with a zero loss
        output = self.model(**self.model_inputs(batch))
        loss = output.loss
        batch_size = batch["input_ids"].shape[0]
        for term in (cb for cb in self.trainer.callbacks if isinstance(cb, LossTerm)):  # e.g. LwF
            value = term.loss(self, batch, output)
            self.log(f"train/{term.name}", value, batch_size=batch_size)
            loss = loss + value
        if placeholder:
            return loss * 0.0
        if not torch.isfinite(loss):
            raise FloatingPointError(f"Loss is {loss.item()} at step {self.global_step} (batch {batch_idx}). "
                                     f"Lower model.lr or check the data; the last stage checkpoint is intact.")
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise LmmclError("No parameter requires grad: the freezing recipe selected nothing to train.")
        check_master_weights(self.trainer.precision, params)
        optimizer = torch.optim.AdamW(self._param_groups(), weight_decay=self.hparams.weight_decay)
        estimated = self.trainer.estimated_stepping_batches  # infinite with max_time and no max_epochs
        steps = self.stage_steps() or (max(1, int(estimated)) if math.isfinite(estimated) else 1)
        warmup = math.ceil(self.hparams.warmup_ratio * steps)
        scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer: torch.optim.Optimizer, gradient_clip_val: float | None = None,
                                    gradient_clip_algorithm: str | None = None) -> None:
        """Lightning's clipping, or under FSDP the root module's ``clip_grad_norm_`` (:mod:`lmmcl.train.fsdp`)."""
        from lmmcl.train.fsdp import clip_gradients

        if not clip_gradients(self.trainer.strategy, gradient_clip_val, gradient_clip_algorithm):
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def stage_steps(self) -> int | None:
        """Optimizer steps of the current stage, the length of its warmup + cosine schedule, when a stage loop
        runs (one stage per epoch; it rebuilds the optimizer at every stage start) and the stage's batches
        are known; None: one schedule over the whole fit."""
        loop = stage_loop(self.trainer)
        return loop.stage_steps(self.trainer) if loop is not None else None

    def _param_groups(self) -> list[dict[str, Any]]:
        from lmmcl.train.baseline_registry import baseline_names
        from lmmcl.train.lr_groups import optimizer_groups, run_lr
        from lmmcl.train.recipes import freeze_recipe

        callbacks = self.trainer.callbacks
        freeze = freeze_recipe(self.trainer)
        recipe = freeze.recipe.name if freeze else ""
        baselines = baseline_names([type(c).__name__ for c in callbacks])
        lr = run_lr(self.hparams.lr, self.hparams.recipe_lr, recipe, baselines)
        return optimizer_groups(self.model, self.preset.components, lr, self.hparams.component_lr)

    # --- evaluation ------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, batch: dict[str, Any], max_new_tokens: int) -> list[str]:
        """Greedy answers for a left-padded prompt batch."""
        return greedy_answers(self.model, self.processor.tokenizer, self.model_inputs(batch), max_new_tokens,
                              synced_generation(self))

    def on_validation_epoch_start(self) -> None:
        # Reset here, not after compute: states must be created in the same grad mode as the updates
        # (validate runs under inference_mode, fit's validation under no_grad).
        for metric in self.val_metrics.values():
            metric.reset()
        self.sample_counter.reset()

    def validation_step(self, batch: dict[str, Any], batch_idx: int,
                        dataloader_idx: int = 0) -> dict[str, list[str]] | None:
        skill = self.benchmarks[dataloader_idx]
        self.sample_counter.add(skill.name, len(batch["refs"]), batch.get("bad_records", {}))
        if "input_ids" not in batch:  # no usable sample (bad records, a padded shard's end): the other ranks'
            self.generate(self.placeholder_batch(train=False), skill.max_new_tokens)  # forwards, nothing scored
            return
        preds = self.generate(batch, skill.max_new_tokens)
        self.val_metrics[skill.name].update(preds, batch["refs"])
        return {"preds": preds}  # for callbacks (per-sample answers: lmmcl.eval.samples.SampleLog)

    def on_validation_epoch_end(self) -> None:
        scores = {}
        for skill in self.benchmarks:
            metric = self.val_metrics[skill.name]
            scores[skill.name] = 100.0 * float(metric.compute())
        groups = {"target_mean": [s.name for s in self.benchmarks if s.name in self.target_names],
                  "heldout_mean": [s.name for s in self.benchmarks if s.name not in self.target_names]}
        for group, names in groups.items():
            if names:
                scores[group] = sum(scores[n] for n in names) / len(names)
        for name, value in scores.items():
            self.log(f"val/{name}", value, sync_dist=False)
        self.last_scores = scores
        self.last_samples = self._sample_counts()

    def train_sample_counts(self, data: Any) -> dict[str, Any]:
        """This stage's training samples: asked (the split's size), trained, skipped and bad records, summed over
        ranks (call it on every rank); ``data``: the stage's :class:`~lmmcl.data.datamodule.SkillDataModule`."""
        trained, read_bad = self.train_counter.reduced(["train"], self.trainer.strategy, self.device)["train"]
        entry = sample_entry(getattr(data, "train_asked", None), trained, getattr(data, "train_load_bad", {}), read_bad)
        return {"asked": entry["asked"], "trained": entry.pop("scored"), **entry}

    def _sample_counts(self) -> dict[str, dict[str, Any]]:
        """Asked, scored, skipped and bad records per benchmark of this evaluation (every rank takes part)."""
        datamodule = self.trainer.datamodule
        parts = datamodule.eval_modules if isinstance(datamodule, StageData) else []
        counts = self.sample_counter.reduced([dm.name for dm in parts], self.trainer.strategy, self.device)
        return {dm.name: sample_entry(dm.asked, counts[dm.name][0], dm.load_bad, counts[dm.name][1]) for dm in parts}

