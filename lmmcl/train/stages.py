"""Sequential stages: one epoch = one stage = one target skill.

``SequentialStages`` keeps the stage loop honest:

- every stage gets a fresh optimizer and its own warmup + cosine schedule (Lightning has no public
  "reset optimizers" call; ``strategy.setup_optimizers`` re-runs ``configure_optimizers``);
- the accuracy matrix gets a row from the base evaluation and one after every stage;
- one checkpoint per stage is written atomically, so an interrupted sequence resumes (``ckpt_path``) at
  the stage where it stopped, with that stage's own step counter and schedule;
- report.json / report.md (and figures) are rewritten after every row, so a partial run still has a report;
  a :class:`~lmmcl.contracts.StageLoopExtension` callback adds one entry to its report section after each row
  and before the report is written (the counting-bias probe);
- with ``base_cache``, the base row is evaluated once per base model, benchmarks, seed and evaluation settings
  and replayed by later runs (:mod:`lmmcl.train.base_row`; ``lmmcl compare --train`` sets it).
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import torch
from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.contracts import StageData, StageLoopExtension
from lmmcl.faults import kill_point
from lmmcl.train import base_row
from lmmcl.report import build_report, write_report
from lmmcl.rundir import run_dir
from lmmcl.errors import LmmclError


def stage_seed(stage: int) -> int:
    """A stage's own seed: the run's seed (``seed_everything``) and the stage index, independent of how much
    randomness earlier stages consumed - what makes a resumed stage repeat an uninterrupted one."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0)) * 1009 + stage


class SequentialStages(Callback):
    """Run the datamodule's target skills as consecutive stages and keep the accuracy matrix
    (the :class:`~lmmcl.contracts.StageLoop` the analyses inside it read).

    Args:
        save_checkpoints: write ``checkpoints/stage<k>-<skill>.ckpt`` and ``last.ckpt`` after every stage.
        base_cache: a directory of base rows (:mod:`lmmcl.train.base_row`): the base row is evaluated once per base
            model, benchmarks, seed and evaluation settings, and a later run with the same replays it instead of
            evaluating (same report, samples and TensorBoard values). Default: none, every run evaluates it.
            ``lmmcl compare --train`` sets ``<out>/base_rows``.
    """

    idle_in_base_evaluation = True  # what it does in an evaluation, base_row.replay does for a reused base row

    def __init__(self, save_checkpoints: bool = True, base_cache: str | None = None):
        self.save_checkpoints, self.base_cache = save_checkpoints, base_cache
        self.rows: list[dict[str, Any]] = []
        self.extras: dict[str, Any] = {}  # other callbacks' report sections (e.g. counting_bias)
        self.stage_start_step = 0
        self.reused_base: dict[str, Any] | None = None  # a base-row cache entry, replayed at fit start

    # --- the loop --------------------------------------------------------------------------------
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not isinstance(trainer.datamodule, StageData):
            raise LmmclError(f"SequentialStages needs a datamodule with skill_names, heldout_names, benchmarks and "
                             f"eval_modules (lmmcl.contracts.StageData, e.g. lmmcl.data.datamodule.SkillSequence); "
                             f"got {type(trainer.datamodule).__name__}.")
        n_stages = len(trainer.datamodule.skill_names)
        if trainer.reload_dataloaders_every_n_epochs != 1:
            raise LmmclError("SequentialStages needs trainer.reload_dataloaders_every_n_epochs=1, or every stage "
                             "would silently train on the first skill.")
        trainer.fit_loop.max_epochs = n_stages
        if self.reused_base is not None:  # the base row from the cache instead of an evaluation (run_sequence)
            entry, self.reused_base = self.reused_base, None
            base_row.replay(trainer, pl_module, self, entry)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        trainer.strategy.setup_optimizers(trainer)  # fresh optimizer state and schedule (LMMModule.stage_steps)
        if hasattr(pl_module, "train_counter"):
            pl_module.train_counter.reset()
        self.stage_start_step = trainer.global_step
        rank_zero_info(f"[lmmcl] stage {trainer.current_epoch + 1}/{len(trainer.datamodule.skill_names)}: "
                       f"{self.stage_name(trainer)} ({trainer.num_training_batches} batches)")

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        # Randomness inside a stage (dropout, LoRA dropout) starts from (run seed, stage), so a run resumed at
        # this stage draws what an uninterrupted one does. Seeded at the first batch, not at the epoch start:
        # the data loader's iterator, created in between only when the loop did not resume, draws from the
        # global RNG. (Data order has its own SeededShuffle.)
        if batch_idx == 0:
            torch.manual_seed(stage_seed(trainer.current_epoch))

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        pl_module.log("stage/step", float(self.stage_step(trainer)))
        pl_module.log("stage/lr", trainer.optimizers[0].param_groups[0]["lr"])

    def stage_step(self, trainer: Trainer) -> int:
        """Optimizer steps taken in the current stage (not the global step)."""
        return trainer.global_step - self.stage_start_step

    def stage_name(self, trainer: Trainer) -> str:
        if trainer.state.fn != TrainerFn.FITTING:
            return "base"
        return trainer.datamodule.skill_names[trainer.current_epoch]

    def stage_steps(self, trainer: Trainer) -> int | None:
        """Optimizer steps of the current stage (its batches over gradient accumulation), the length of its
        warmup + cosine schedule; None before the stage's data is loaded."""
        if not math.isfinite(trainer.num_training_batches):
            return None
        return max(1, math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches))

    def evaluation_row(self, trainer: Trainer) -> int | None:
        """The matrix row the running evaluation adds: the next one, except in a sanity check and in a
        standalone validate after the sequence started (None)."""
        if trainer.sanity_checking or (self.stage_name(trainer) == "base" and self.rows):
            return None
        return len(self.rows)

    def add_entry(self, section: str, entry: Any) -> None:
        """Append ``entry`` to report section ``section`` (e.g. a stage's drift curve)."""
        self.extras.setdefault(section, []).append(entry)

    # --- results ---------------------------------------------------------------------------------
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.evaluation_row(trainer) is None:
            return
        name = self.stage_name(trainer)
        dm: LightningDataModule = trainer.datamodule
        scores = {k: pl_module.last_scores[k] for k in dm.skill_names + dm.heldout_names}
        row: dict[str, Any] = {"name": name, "scores": scores}
        targets = getattr(dm, "targets", None)
        if name != "base" and targets and hasattr(pl_module, "train_sample_counts"):
            row["train_samples"] = pl_module.train_sample_counts(targets[trainer.current_epoch])
        self.add_row(trainer, pl_module, row, pl_module.last_samples)

    def add_row(self, trainer: Trainer, pl_module: LightningModule, row: dict[str, Any], samples: dict[str, Any],
                sections: dict[str, Any] | None = None) -> None:
        """Append ``row`` with its sample counts (asked / scored / skipped per benchmark), log it, add every
        extension's entry (measured; or, for a reused base row, ``sections``' entries), write the report."""
        self.rows.append(row)
        self.extras["samples"] = samples
        index = len(self.rows) - 1
        if trainer.logger is not None:
            trainer.logger.log_metrics({f"stage/{k}": v for k, v in row["scores"].items()}, step=index)
        for callback in trainer.callbacks:  # e.g. CountingBiasProbe: one entry of its report section per row
            if isinstance(callback, StageLoopExtension):
                if sections is None:
                    entry = callback.collect(trainer, pl_module, row, index)
                else:
                    entry = sections[callback.section]
                    callback.replay(trainer, pl_module, entry, index)
                self.add_entry(callback.section, entry)
        self.write_report(trainer, pl_module)

    def report(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Any]:
        from lmmcl.train.baseline_registry import baseline_names
        from lmmcl.train.recipes import freeze_recipe

        freeze = freeze_recipe(trainer)
        recipe = freeze.recipe.name if freeze else "none"
        baselines = baseline_names([type(cb).__name__ for cb in trainer.callbacks])
        counts = (freeze.param_counts if freeze else None) or {"trainable": 0, "total": 0}
        dm = trainer.datamodule
        return build_report(pl_module.preset.name, recipe, dm.skill_names, dm.heldout_names, self.rows,
                            counts["trainable"], counts["total"], baselines=baselines, **self.extras)

    def write_report(self, trainer: Trainer, pl_module: LightningModule) -> None:
        folder = run_dir(trainer)  # on every rank: reading it is a collective
        if trainer.is_global_zero and folder is not None:
            path = write_report(folder, self.report(trainer, pl_module),
                                writer=getattr(trainer.logger, "experiment", None))  # figures into TensorBoard too
            rank_zero_info(f"[lmmcl] report: {path}")

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        run = run_dir(trainer) if self.save_checkpoints else None  # on every rank: a collective
        if run is None:
            return
        folder = run / "checkpoints"
        path = folder / f"stage{trainer.current_epoch + 1}-{self.stage_name(trainer)}.ckpt"
        tmp = path.with_name(path.name + ".tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # full state: resume needs optimizer + loops
        if trainer.is_global_zero:
            kill_point("checkpoint_write")  # tests: killed here, the .tmp is never read (lmmcl.faults)
            os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint intact
            kill_point("checkpoint_link")
            last, last_tmp = folder / "last.ckpt", folder / "last.ckpt.tmp"
            last_tmp.unlink(missing_ok=True)
            try:
                os.link(path, last_tmp)  # the same file, not a second multi-GB write
            except OSError:
                shutil.copyfile(path, last_tmp)
            os.replace(last_tmp, last)
        trainer.strategy.barrier()

    # --- resume ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "extras": self.extras}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])
        self.extras = dict(state_dict.get("extras", {}))


def run_sequence(trainer: Trainer, model: LightningModule, datamodule: LightningDataModule,
                 ckpt_path: str | None = None) -> None:
    """Evaluate the base model (unless resuming, or reusing it from the base-row cache), then train the stages."""
    if ckpt_path is None:
        stages = next((cb for cb in trainer.callbacks if isinstance(cb, SequentialStages)), None)
        cache = None
        if stages is not None and stages.base_cache:  # the model as loaded: before the recipe touches it
            cache = base_row.BaseRowCache.open(stages.base_cache, trainer, model, datamodule)
        if cache is None:
            trainer.validate(model, datamodule=datamodule)
        else:
            with cache.evaluating():  # a parallel run with the same key waits, then reuses what this one stores
                entry = cache.load()
                if entry is None:
                    trainer.validate(model, datamodule=datamodule)
                    cache.store(trainer, model, stages)
            stages.reused_base = entry  # replayed by SequentialStages.on_fit_start (None: evaluated above)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
