"""The training command line: LightningCLI with the freezing recipe and the stage loop always on."""

from __future__ import annotations

import re
from pathlib import Path

from lightning.pytorch.cli import LightningCLI

from lmmcl.data.datamodule import SkillSequence
from lmmcl.eval.drift import DriftMonitor
from lmmcl.eval.samples import SampleLog
from lmmcl.module import LMMModule
from lmmcl.recipes import FreezeRecipe
from lmmcl.stages import SequentialStages

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "experiment" / "default.yaml"


class LMMCLI(LightningCLI):
    """LightningCLI plus always-on callbacks: ``--recipe.*``, ``--stages.*``, ``--drift.*`` and ``--samples.*``."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_lightning_class_args(FreezeRecipe, "recipe")
        parser.add_lightning_class_args(SequentialStages, "stages")
        parser.add_lightning_class_args(DriftMonitor, "drift")
        parser.add_lightning_class_args(SampleLog, "samples")

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        logger = cfg.trainer.logger
        init = getattr(logger, "init_args", None)
        if init is None or "name" not in init:
            return
        if getattr(init, "name", None) in (None, "auto"):
            init.name = f"{cfg.model.preset}/{cfg.recipe.name}"
        resumed = re.search(r"version_(\d+)[/\\]checkpoints[/\\][^/\\]+$", str(cfg.get("ckpt_path") or ""))
        if resumed and getattr(init, "version", None) is None:
            init.version = int(resumed.group(1))  # continue the interrupted run in its own directory

    def before_fit(self) -> None:
        if self.config_init[self.subcommand].get("ckpt_path") is None:
            self.trainer.validate(self.model, datamodule=self.datamodule)  # the base row of the matrix

    def after_fit(self) -> None:
        if self.trainer.is_global_zero:
            print(f"\n[lmmcl] done. Report: {Path(self.trainer.log_dir) / 'report.md'} "
                  f"(and report.json); TensorBoard: make tensorboard")


def run(args: list[str] | None = None) -> LMMCLI:
    return LMMCLI(LMMModule, SkillSequence, args=args, save_config_kwargs={"overwrite": True},
                  parser_kwargs={cmd: {"default_config_files": [str(DEFAULT_CONFIG)]} for cmd in ("fit", "validate", "test")})
