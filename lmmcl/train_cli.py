"""The training command line: LightningCLI with the freezing recipe and the stage loop always on."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.cli import LightningCLI

from lmmcl.data.datamodule import SkillSequence
from lmmcl.faults import armed, fault_callback
from lmmcl.eval.drift import DriftMonitor
from lmmcl.eval.samples import SampleLog
from lmmcl.module import LMMModule
from lmmcl.recipes import FreezeRecipe
from lmmcl.rundir import run_dir
from lmmcl.runs import RunRecord, place_run, run_identity
from lmmcl.stages import SequentialStages
from lmmcl.validate import validate_fit

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "experiment" / "default.yaml"


class LMMCLI(LightningCLI):
    """LightningCLI plus always-on callbacks: ``--recipe.*``, ``--stages.*``, ``--drift.*`` and ``--samples.*``."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_lightning_class_args(FreezeRecipe, "recipe")
        parser.add_lightning_class_args(SequentialStages, "stages")
        parser.add_lightning_class_args(DriftMonitor, "drift")
        parser.add_lightning_class_args(SampleLog, "samples")

    def _parse_ckpt_path(self) -> None:
        """Lightning would load the whole checkpoint here and silently replace ``--model.*`` with its hparams;
        lmmcl instead compares the checkpoint's run record with this config and refuses a mismatch
        (:func:`lmmcl.runs.place_run`)."""

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand == "fit":  # checked in seconds, before weights load or logs/ is written
            validate_fit(cfg)
            self.run_identity = run_identity(cfg)
        logger = cfg.trainer.logger
        init = getattr(logger, "init_args", None)
        if init is None or "name" not in init:
            return
        if getattr(init, "name", None) in (None, "auto"):
            init.name = f"{cfg.model.preset}/{cfg.recipe.name}"
        if self.subcommand == "fit":
            # A resumed run continues in the directory its checkpoint names; a new one never overwrites a config.
            self.save_config_kwargs["overwrite"] = place_run(init, cfg.get("ckpt_path"), self.run_identity)

    def before_fit(self) -> None:
        self.trainer.callbacks.append(RunRecord(getattr(self, "run_identity", {})))  # every checkpoint knows its run
        if armed():
            self.trainer.callbacks.append(fault_callback())  # kill points for the fault-injection test
        if self.config_init[self.subcommand].get("ckpt_path") is None:
            self.trainer.validate(self.model, datamodule=self.datamodule)  # the base row of the matrix

    def after_fit(self) -> None:
        folder = run_dir(self.trainer)  # on every rank: reading it is a collective
        if self.trainer.is_global_zero:
            print(f"\n[lmmcl] done. Report: {folder / 'report.md' if folder else '(no logger)'} "
                  f"(and report.json); TensorBoard: make tensorboard")


def run(args: list[str] | None = None) -> LMMCLI:
    return LMMCLI(LMMModule, SkillSequence, args=args, save_config_kwargs={"overwrite": False},
                  parser_kwargs={"exit_on_error": False,  # parse errors reach lmmcl.failures: one paragraph
                                 **{cmd: {"default_config_files": [str(DEFAULT_CONFIG)]}
                                    for cmd in ("fit", "validate", "test")}})
