"""Drift monitor: how far the model's output has moved from the stage-start model, measured during a stage.

Every ``every_n_steps`` optimizer steps of a stage (default: about ``points_per_stage`` times per stage, and
always at 10 % of the stage and at its last step), :class:`DriftMonitor` runs one forward pass on a fixed set of
held-out prompts (``n`` test questions of the held-out benchmarks, never a target skill) and compares the next-token
distribution at the answer's first position with the one the model had when the stage started:

- ``kl``: KL(stage start || now), mean over prompts, in nats;
- ``number_mass``: probability now on number tokens (digits, number words, ordinals; mean over prompts);
- ``format_agreement``: share of prompts whose most likely first token has the same answer format
  (:func:`lmmcl.eval.formats.answer_format`: number, yes/no, letter, word, ...) as at the stage start.

The stage-start distributions are computed once per stage (no second model in memory). The values are logged
as ``drift/<name>`` at the global step, and each stage's curve is added to the stage loop's ``drift`` section
(:class:`lmmcl.contracts.StageLoop`; report.json ``drift``: per stage its ``steps`` within the stage and one list
per value). With ``max_kl``, a stage whose KL exceeds it is flagged (``flagged_at`` = its stage step, a warning,
``drift/flagged``) and, with ``action: stop``, the run stops after evaluating that stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import move_data_to_device, rank_zero_warn
from torch.utils.data import DataLoader

from lmmcl.contracts import StageLoop, StageModule, stage_loop
from lmmcl.errors import LmmclError
from lmmcl.eval.sharded import in_root_forward
from lmmcl.tables import markdown_table

VALUES = ("kl", "number_mass", "format_agreement")
EARLY = 0.1  # share of a stage always measured (the early warning compared with forgetting by lmmcl compare)
ACTIONS = ("flag", "stop")


class DriftMonitor(Callback):
    """KL from the stage-start model, number-token mass and answer-format agreement on held-out prompts,
    every few optimizer steps of every stage.

    Args:
        enabled: turn the monitor off with ``false``.
        n: number of held-out prompts, split evenly across ``skills``.
        skills: benchmarks whose test questions are the prompts (default: the run's held-out benchmarks).
        every_n_steps: measure every this many optimizer steps (default: the stage's steps / ``points_per_stage``).
        points_per_stage: measurements per stage when ``every_n_steps`` is not given.
        max_kl: flag (or stop at) a stage whose KL exceeds this many nats.
        action: ``flag`` (warn and record) or ``stop`` (also stop the run after evaluating the stage).
        batch_size: prompts per forward pass.
        seed: seed of the prompts' test samples.
    """

    def __init__(self, enabled: bool = True, n: int = 16, skills: Sequence[str] | None = None,
                 every_n_steps: int | None = None, points_per_stage: int = 5, max_kl: float | None = None,
                 action: str = "flag", batch_size: int = 16, seed: int = 1):
        if action not in ACTIONS:
            raise LmmclError(f"drift.action={action!r} is not one of {', '.join(ACTIONS)}.")
        every = 1 if every_n_steps is None else every_n_steps
        for name, value in (("n", n), ("every_n_steps", every), ("points_per_stage", points_per_stage),
                            ("batch_size", batch_size)):
            if value < 1:
                raise LmmclError(f"drift.{name}={value} must be at least 1 "
                                 f"(turn the monitor off with drift.enabled=false).")
        self.enabled, self.n, self.skills = enabled, n, list(skills) if skills else None
        self.every_n_steps, self.points_per_stage = every_n_steps, points_per_stage
        self.max_kl, self.action, self.batch_size, self.seed = max_kl, action, batch_size, seed
        self._batches: list[dict[str, Any]] | None = None
        self._number_ids: torch.Tensor | None = None
        self._teacher: list[dict[str, torch.Tensor]] = []
        self._curve: dict[str, Any] | None = None
        self._start_step = 0

    # --- hooks -----------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.enabled and stage == "fit" and not (self.skills or trainer.datamodule.heldout_names):
            rank_zero_warn("[lmmcl] drift monitor off: the run has no held-out benchmark to take prompts from "
                           "(set data.heldout or drift.skills to measure drift).")
            self.enabled = False
        if self.enabled and stage == "fit":
            self._prompts(trainer, pl_module)  # an unknown skill fails before training, not mid-stage

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.enabled:
            return
        self._start_step = trainer.global_step
        loop = self._loop(trainer)
        steps = loop.stage_steps(trainer)  # the same stage length the optimizer's schedule is built for
        every = self.every_n_steps or max(1, steps // self.points_per_stage)
        stage = loop.stage_name(trainer)
        self._curve = {"stage": stage, "stage_steps": steps, "every_n_steps": every, "flagged_at": None,
                       "early_step": max(1, math.ceil(EARLY * steps)), "steps": [], **{v: [] for v in VALUES}}
        self._teacher = self._forward(pl_module)  # the stage-start distributions, cached for the whole stage
        self._record(trainer, pl_module, 0, self._compare(self._teacher))
        loop.add_entry("drift", self._curve)  # grows in place while the stage trains

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if not self.enabled or self._curve is None:
            return
        step = trainer.global_step - self._start_step
        last = batch_idx + 1 == trainer.num_training_batches
        regular = step % self._curve["every_n_steps"] == 0 or step == self._curve["early_step"]
        due = step > self._curve["steps"][-1] and (regular or last)
        if due:
            self._record(trainer, pl_module, step, self._compare(self._forward(pl_module)))

    # --- measurement -----------------------------------------------------------------------------
    def _loop(self, trainer: Trainer) -> StageLoop:
        loop = stage_loop(trainer)
        if loop is None:
            raise LmmclError("DriftMonitor needs a stage loop among the callbacks (lmmcl.contracts.StageLoop: "
                             "SequentialStages, which lmmcl fit adds).")
        return loop

    def _prompts(self, trainer: Trainer, pl_module: StageModule) -> list[dict[str, Any]]:
        from lmmcl.data.collate import Collator
        from lmmcl.data.skill import get_skill
        from lmmcl.eval.probe import number_token_ids

        if self._batches is None:
            names = self.skills or list(trainer.datamodule.heldout_names)
            targets = set(trainer.datamodule.skill_names)
            if targets & set(names):
                raise LmmclError(f"drift.skills {sorted(targets & set(names))} are target skills of this run: drift "
                                 f"prompts must be held out (choose among {trainer.datamodule.heldout_names}).")
            sizes = [self.n // len(names) + (k < self.n % len(names)) for k in range(len(names))]
            built = {skill.name: skill for skill in trainer.datamodule.benchmarks}  # skill files: by their name
            samples = [s for name, size in zip(names, sizes) if size
                       for s in (built.get(name) or get_skill(name)).dataset("test", size, self.seed)]
            # left padding: the last position is the answer's first; the run's own max_length (a real picture alone
            # is over a thousand image tokens)
            collate = Collator(pl_module.processor, train=False, max_length=trainer.datamodule.max_length)
            batches = list(DataLoader(samples, batch_size=self.batch_size, collate_fn=collate))
            self._batches = collate.usable(batches, f"drift monitor prompts ({', '.join(names)})")
            ids = number_token_ids(pl_module.processor.tokenizer)
            self._number_ids = torch.tensor(ids, dtype=torch.long)
        return self._batches

    @torch.no_grad()
    def _forward(self, pl_module: StageModule) -> list[dict[str, torch.Tensor]]:
        """Per prompt batch: log-probabilities of the answer's first token and the formats of their argmax."""
        from lmmcl.eval.formats import answer_format

        model, was_training = pl_module.model, pl_module.model.training
        model.eval()
        tokenizer = pl_module.processor.tokenizer
        def forward(batch: dict[str, Any]) -> dict[str, Any]:
            inputs = pl_module.model_inputs(move_data_to_device(batch, pl_module.device))
            logits = model(**inputs, use_cache=False, logits_to_keep=1).logits[:, -1].float()
            logp = torch.log_softmax(logits, dim=-1)
            top = tokenizer.batch_decode(logp.argmax(-1)[:, None].tolist(), skip_special_tokens=True)
            return {"logp": logp, "formats": [answer_format(t) for t in top]}

        try:  # under FSDP inside the root module's forward, like a training step (lmmcl.eval.sharded)
            return in_root_forward(pl_module, lambda: [forward(batch) for batch in self._batches or []])
        finally:
            model.train(was_training)

    def _compare(self, now: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        kl, mass, agree, count = 0.0, 0.0, 0, 0
        for start, cur in zip(self._teacher, now):
            p = start["logp"].exp()
            kl += float((p * (start["logp"] - cur["logp"])).sum(-1).clamp(min=0).sum())
            ids = self._number_ids.to(cur["logp"].device)
            ids = ids[ids < cur["logp"].shape[-1]]
            mass += float(cur["logp"][:, ids].exp().sum())
            agree += sum(a == b for a, b in zip(start["formats"], cur["formats"]))
            count += len(start["formats"])
        return {"kl": kl / count, "number_mass": mass / count, "format_agreement": agree / count}

    def _record(self, trainer: Trainer, pl_module: LightningModule, step: int, values: dict[str, float]) -> None:
        curve = self._curve
        curve["steps"].append(step)
        for key in VALUES:
            curve[key].append(values[key])
        metrics = {f"drift/{k}": v for k, v in values.items()}
        if self.max_kl is not None and values["kl"] > self.max_kl and curve["flagged_at"] is None:
            curve["flagged_at"] = step
            metrics["drift/flagged"] = 1.0
            rank_zero_warn(f"[lmmcl] drift: KL {values['kl']:.4f} > drift.max_kl={self.max_kl} at step {step} of "
                           f"stage {curve['stage']!r}" + ("; stopping after this stage's evaluation."
                                                        if self.action == "stop" else "."))
            if self.action == "stop":
                trainer.should_stop = True
        if step > 0:  # step 0 (KL 0) would share a global step with the last stage's end
            from lmmcl.loggers import log_scalars

            log_scalars(trainer.loggers, metrics, step=trainer.global_step)


def at_fraction(curve: dict[str, Any], fraction: float, key: str = "kl") -> float | None:
    """``key`` at the first measurement at or after ``fraction`` of the stage's steps (None: not reached)."""
    target = fraction * curve["stage_steps"]
    return next((v for s, v in zip(curve["steps"], curve[key]) if s >= target and s > 0), None)


def render_drift(report: dict[str, Any]) -> list[str]:
    """The report.md section: per stage, KL at 10 % and at the end, number mass and format agreement."""
    curves = report.get("drift") or []
    if not curves:
        return []
    rows = [[c["stage"], "-" if at_fraction(c, EARLY) is None else f"{at_fraction(c, EARLY):.4f}", f"{c['kl'][-1]:.4f}",
             f"{c['number_mass'][0]:.3f} -> {c['number_mass'][-1]:.3f}", f"{c['format_agreement'][-1]:.2f}",
             "-" if c.get("flagged_at") is None else c["flagged_at"]] for c in curves]
    return ["## Drift during each stage (held-out prompts, vs the stage-start model)", "",
            *markdown_table(["stage", "KL at 10 %", "KL at end", "number mass start -> end", "format agreement at end",
                             "flagged at step"], rows), ""]
