"""The training command line: LightningCLI with the freezing recipe and the stage loop always on."""

from __future__ import annotations

import sys
import warnings

from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger
from transformers.utils import logging as hf_logging

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.eval.drift import DriftMonitor
from lmmcl.eval.samples import SampleLog
from lmmcl.faults import armed, fault_callback
from lmmcl.quiet import silence_dependency_deprecations
from lmmcl.report.markdown import stopped_message
from lmmcl.rundir import RunFolder, run_dir
from lmmcl.train.loggers import place_loggers
from lmmcl.train.module import LMMModule
from lmmcl.train.prepare import prepare_model
from lmmcl.train.progress import StageProgress
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.runs import RunRecord, release_versions, run_identity
from lmmcl.train.skill_files import resolve_skill_files
from lmmcl.train.stages import SequentialStages, run_sequence
from lmmcl.train.validate import DEFAULT_CONFIG, validate_fit


class LMMCLI(LightningCLI):
    """LightningCLI plus always-on callbacks: ``--recipe.*``, ``--stages.*``, ``--drift.*`` and ``--samples.*``."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``fit`` (base evaluation, then the stages) and ``validate`` (one evaluation); nothing else is lmmcl's."""
        return {name: skip for name, skip in LightningCLI.subcommands().items() if name in ("fit", "validate")}

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_lightning_class_args(FreezeRecipe, "recipe")
        parser.add_lightning_class_args(SequentialStages, "stages")
        parser.add_lightning_class_args(DriftMonitor, "drift")
        parser.add_lightning_class_args(SampleLog, "samples")

    def _parse_ckpt_path(self) -> None:
        """Lightning would load the whole checkpoint here and silently replace ``--model.*`` with its hparams;
        lmmcl instead compares the checkpoint's run record with this config and refuses a mismatch
        (:func:`lmmcl.train.runs.place_run`)."""

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        resolve_skill_files(cfg)  # ./my_skill.yaml -> an absolute path, before anything reads it
        if self.subcommand == "fit":  # checked in seconds, before weights load or logs/ is written
            validate_fit(cfg)
        self.run_identity = run_identity(cfg)
        prepare_model(cfg.model.preset, cfg.model.model_path)  # a missing tiny base: built here, on one rank
        if not sys.stdout.isatty():  # a log or a pipe, where live bars draw nothing: lines (StageProgress) instead
            if cfg.trainer.get("enable_progress_bar") is None:
                cfg.trainer.enable_progress_bar = False
            hf_logging.disable_progress_bar()  # transformers' "Loading weights" bar
        # Every logger into the run's directory; a resumed run continues in the one its checkpoint names.
        fit = self.subcommand == "fit"
        self.run_place = place_loggers(cfg.trainer.logger, cfg.model.preset, cfg.recipe.name,
                                       self.run_identity["baselines"], cfg.get("ckpt_path"),
                                       self.run_identity if fit else None)
        if fit and self.run_place is not None:
            self.save_config_kwargs["overwrite"] = self.run_place.resumed  # a new run never overwrites a config

    def before_fit(self) -> None:
        place = getattr(self, "run_place", None)
        if place is not None and place.folder is not None:
            self.trainer.callbacks.append(RunFolder(place.folder))  # report, samples, checkpoints: lmmcl's folder
        self.trainer.callbacks.append(RunRecord(self.run_identity, place))  # every checkpoint knows its run
        self.trainer.callbacks.append(StageProgress())  # a line per stage, and every tenth of it without a bar
        if armed():
            self.trainer.callbacks.append(fault_callback())  # kill points for the fault-injection test

    def fit(self, model: LMMModule, datamodule: SkillSequence, ckpt_path: str | None = None, **_: object) -> None:
        """The base evaluation (the matrix's first row), then the stages: the one way a run is trained."""
        run_sequence(self.trainer, model, datamodule, ckpt_path)

    def after_fit(self) -> None:
        folder = run_dir(self.trainer)  # on every rank: reading it is a collective
        report = f"{folder / 'report.md' if folder else '(no logger)'} (and report.json)"
        stages = next((cb for cb in self.trainer.callbacks if isinstance(cb, SequentialStages)), None)
        stopped = stages.stopped if stages is not None else None
        if stopped is not None and not stopped["asked"]:  # a run cut short by surprise must not look done
            raise LmmclError(f"{stopped_message(stopped)} What it has is in {report}.")
        if self.trainer.is_global_zero:
            head = f"stopped early as asked ({stopped['reason']}; untrained: {', '.join(stopped['untrained'])})" \
                if stopped else "done"
            viewer = "; TensorBoard: make tensorboard" if any(isinstance(logger, TensorBoardLogger)
                                                             for logger in self.trainer.loggers) else ""
            print(f"\n[lmmcl] {head}. Report: {report}{viewer}")


class ResolvedConfig(LMMCLI):
    """The config a command would run with, parsed by the same parser (same flags, files and defaults);
    nothing is instantiated or run (``lmmcl plan``)."""

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass

    def _run_subcommand(self, subcommand: str) -> None:
        pass


def cli_kwargs(args: list[str] | None) -> dict[str, object]:
    return dict(model_class=LMMModule, datamodule_class=SkillSequence, args=args,
                save_config_kwargs={"overwrite": False},
                parser_kwargs={"exit_on_error": False,  # parse errors reach lmmcl.failures: one paragraph
                               "parser_mode": "omegaconf",  # ${...} interpolation inside a config file
                               **{cmd: {"default_config_files": [str(DEFAULT_CONFIG)]}
                                  for cmd in LMMCLI.subcommands()}})


def run(args: list[str] | None = None) -> LMMCLI:
    """Parse ``args`` (``fit ...`` / ``validate ...``), build the run and execute it."""
    silence_dependency_deprecations()  # also here: compare workers and tests call run() without lmmcl.cli.main
    try:
        cli = LMMCLI(**cli_kwargs(args))
    finally:  # the next run in this process claims its own version (lmmcl.train.runs.claim_version)
        release_versions()
    leave_process_group()  # only after a run that finished: a rank that raised may leave others in a collective
    return cli


def leave_process_group() -> None:
    """Destroy the process group of a finished multi-process run. A gloo group left for the interpreter's exit
    can abort the process after its run has finished and written its report ("terminate called without an active
    exception", exit -6; pytorch/pytorch#190489): seen once in the two-process rehearsal."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def resolve(args: list[str]) -> dict[str, object]:
    """The resolved config of ``lmmcl <args>`` as a plain dict, without loading or running anything."""
    with warnings.catch_warnings():  # args given while sys.argv names the tool: intended here
        warnings.filterwarnings("ignore", ".*args parameter is intended to run from within Python.*")
        cli = ResolvedConfig(**cli_kwargs(args))
    resolve_skill_files(cli.config[cli.subcommand])
    config = cli.config[cli.subcommand].as_dict()
    return {k: v for k, v in config.items() if k != "config" and not k.startswith("__")}  # not the file names
