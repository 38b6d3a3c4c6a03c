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
  and replayed by later runs (:mod:`lmmcl.train.base_row`; ``lmmcl compare --train`` sets it);
- Lightning's run bounds act per stage: ``trainer.max_steps`` is each stage's optimizer steps,
  ``limit_train_batches`` each stage's batches; ``max_epochs`` is the number of stages (set here);
  ``max_time`` bounds the whole stage loop. A run that ends before its last stage records why and which stages
  did not train (:mod:`lmmcl.train.stops`).
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import torch
from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lmmcl.contracts import StageData, StageLoopExtension
from lmmcl.errors import LmmclError
from lmmcl.faults import kill_point
from lmmcl.loggers import log_scalars
from lmmcl.report import build_report, write_report
from lmmcl.report.markdown import stopped_message
from lmmcl.rundir import run_dir
from lmmcl.train import base_row
from lmmcl.train.progress import evaluation_line
from lmmcl.train.stops import stop_reason, stopped_entry

OPTIMIZER_STATE = ("optimizer_states", "lr_schedulers")  # what --stages.weights_only leaves out
WEIGHTS_ONLY = "lmmcl_weights_only"  # a checkpoint's mark that it has no optimizer state


def stage_seed(stage: int) -> int:
    """A stage's own seed: the run's seed (``seed_everything``) and the stage index, independent of how much
    randomness earlier stages consumed - what makes a resumed stage repeat an uninterrupted one."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0)) * 1009 + stage


def trained_batches(trainer: Trainer) -> int:
    """Batches of the current stage whose training step ran: counted before the batch-end hooks, so a stop raised in
    one (Ctrl-C, a callback) still counts the batch it ended."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed


class SequentialStages(Callback):
    """Run the datamodule's target skills as consecutive stages and keep the accuracy matrix
    (the :class:`~lmmcl.contracts.StageLoop` the analyses inside it read).

    Args:
        save_checkpoints: write ``checkpoints/stage<k>-<skill>.ckpt`` and ``last.ckpt`` after every stage.
        weights_only: keep the optimizer and LR-scheduler state out of those checkpoints (a 7B ``llm`` run's AdamW
            state is twice its trained weights). Resuming such a checkpoint loses nothing: every stage starts with a
            fresh optimizer and schedule, and checkpoints are written only at stage ends.
        base_cache: a directory of base rows (:mod:`lmmcl.train.base_row`): the base row is evaluated once per base
            model, benchmarks, seed and evaluation settings, and a later run with the same replays it instead of
            evaluating (same report, samples and TensorBoard values). Default: none, every run evaluates it.
            ``lmmcl compare --train`` sets ``<out>/base_rows``.
    """

    idle_in_base_evaluation = True  # what it does in an evaluation, base_row.replay does for a reused base row

    def __init__(self, save_checkpoints: bool = True, base_cache: str | None = None, weights_only: bool = False):
        self.save_checkpoints, self.base_cache, self.weights_only = save_checkpoints, base_cache, weights_only
        self.rows: list[dict[str, Any]] = []
        self.completed: list[str] = []  # stages whose training ran to the end (checkpointed)
        self.stopped: dict[str, Any] | None = None  # why the run ended before its last stage (lmmcl.train.stops)
        self.cut_short: dict[str, Any] | None = None  # the stage whose training a stop ended before its last batch
        self._stage_checkpoint = False  # True while this callback writes a stage checkpoint
        self.extras: dict[str, Any] = {}  # other callbacks' report sections (e.g. counting_bias)
        self.stage_start_step = 0
        self.reused_base: dict[str, Any] | None = None  # a base-row cache entry, replayed at fit start
        self.report_named = False  # the report's path is said once; it is rewritten after every evaluation

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
        if trainer.max_steps > 0:  # per stage: at most max_steps optimizer steps of each stage's skill
            per_stage = trainer.max_steps * trainer.accumulate_grad_batches
            limit = trainer.limit_train_batches
            whole = isinstance(limit, float) and limit == 1.0
            trainer.limit_train_batches = per_stage if whole else min(limit, per_stage)
            trainer.fit_loop.epoch_loop.max_steps = -1
        if self.reused_base is not None:  # the base row from the cache instead of an evaluation (run_sequence)
            entry, self.reused_base = self.reused_base, None
            base_row.replay(trainer, pl_module, self, entry)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        trainer.strategy.setup_optimizers(trainer)  # fresh optimizer state and schedule (LMMModule.stage_steps)
        if hasattr(pl_module, "train_counter"):
            pl_module.train_counter.reset()
        self.stage_start_step = trainer.global_step

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
        dm = trainer.datamodule
        rank_zero_info(evaluation_line(row, self.rows[0], dm.skill_names, dm.heldout_names))
        log_scalars(trainer.loggers, {f"stage/{k}": v for k, v in row["scores"].items()}, step=index)
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
            path = write_report(folder, self.report(trainer, pl_module), loggers=trainer.loggers)  # figures too
            if not self.report_named:
                rank_zero_info(f"[lmmcl] report (rewritten after every evaluation): {path}")
                self.report_named = True

    def stage_cut_short(self, trainer: Trainer) -> bool:
        """Whether the current stage ended before its last batch (a time limit, a stop request)."""
        return trainer.fit_loop.epoch_loop.batch_progress.current.completed < trainer.num_training_batches

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.stage_cut_short(trainer):  # not a finished stage: not checkpointed (resume would skip its rest)
            self.cut_short = {"stage": self.stage_name(trainer), "trained_batches": trained_batches(trainer),
                              "batches": trainer.num_training_batches}
            return
        self.completed.append(self.stage_name(trainer))
        run = run_dir(trainer) if self.save_checkpoints else None  # on every rank: a collective
        if run is None:
            return
        folder = run / "checkpoints"
        path = folder / f"stage{trainer.current_epoch + 1}-{self.stage_name(trainer)}.ckpt"
        tmp = path.with_name(path.name + ".tmp")
        self._stage_checkpoint = True
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # loops and callbacks: resume needs them
        finally:
            self._stage_checkpoint = False
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

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        if self.weights_only and self._stage_checkpoint:
            for key in OPTIMIZER_STATE:
                checkpoint.pop(key, None)
            checkpoint[WEIGHTS_ONLY] = True

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        if checkpoint.get(WEIGHTS_ONLY):
            for key in OPTIMIZER_STATE:  # nothing to restore: the next stage builds its own optimizer and schedule
                checkpoint.setdefault(key, [])
            rank_zero_info("[lmmcl] resuming from a weights-only stage checkpoint (--stages.weights_only): the "
                           "optimizer state was not saved; the next stage starts with a fresh optimizer and LR "
                           "schedule, as every stage does, so nothing is lost.")

    # --- a run that ends early -------------------------------------------------------------------
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        skills = trainer.datamodule.skill_names
        if len(self.completed) >= len(skills) or self.stopped is not None:
            return
        reason, asked = stop_reason(trainer, self.extras)
        self.record_stop(trainer, pl_module, stopped_entry(reason, asked, skills, self.completed, self.cut_short))

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.state.fn == TrainerFn.FITTING:
            skills = trainer.datamodule.skill_names
            stage = skills[trainer.current_epoch] if trainer.current_epoch < len(skills) else None
            cut = self.cut_short or ({"stage": stage, "trained_batches": trained_batches(trainer),
                                      "batches": trainer.num_training_batches} if stage else None)
            entry = stopped_entry("interrupted (Ctrl-C)", False, skills, self.completed, cut)
            self.record_stop(trainer, pl_module, entry)

    def record_stop(self, trainer: Trainer, pl_module: LightningModule, entry: dict[str, Any]) -> None:
        """Keep ``entry`` in the report (``stopped``), rewrite it and say so."""
        self.stopped = self.extras["stopped"] = entry
        if self.rows:
            self.write_report(trainer, pl_module)
        rank_zero_warn(f"[lmmcl] {stopped_message(entry)}")

    # --- resume ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "extras": self.extras, "completed": self.completed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])
        self.extras = dict(state_dict.get("extras", {}))
        self.extras.pop("stopped", None)  # a resumed run goes on: the stop it records is its own
        # older checkpoints: every stage row was a finished stage
        self.completed = list(state_dict.get("completed", [r["name"] for r in self.rows[1:]]))


def run_sequence(trainer: Trainer, model: LightningModule, datamodule: LightningDataModule,
                 ckpt_path: str | None = None) -> None:
    """Evaluate the base model (unless resuming, or reusing it from the base-row cache), then train the stages."""
    if ckpt_path is None:
        stages = next((cb for cb in trainer.callbacks if isinstance(cb, SequentialStages)), None)
        cache = None
        if stages is not None and stages.base_cache:  # the model as loaded: before the recipe touches it
            cache = base_row.BaseRowCache.open(stages.base_cache, trainer, model, datamodule)
        if cache is None:
            trainer.validate(model, datamodule=datamodule, verbose=False)  # the row's line instead of tables
        else:
            with cache.evaluating():  # a parallel run with the same key waits, then reuses what this one stores
                entry = cache.load()
                if entry is None:
                    trainer.validate(model, datamodule=datamodule, verbose=False)
                    cache.store(trainer, model, stages)
            stages.reused_base = entry  # replayed by SequentialStages.on_fit_start (None: evaluated above)
    # Else fit warns it runs 1000 epochs. Not under max_steps, which fit does not warn of: a known epoch count
    # would make the scheduler's step estimate load stage 1's data before its per-stage bound applies.
    if trainer.max_epochs is None and trainer.max_steps == -1 and isinstance(datamodule, StageData):
        trainer.fit_loop.max_epochs = len(datamodule.skill_names)  # one epoch per stage (SequentialStages)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
