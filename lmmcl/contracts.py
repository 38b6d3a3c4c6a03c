"""The declared contracts between the loop's parts: what each side may rely on, in one place.

- :class:`StageData`: what a datamodule the stage loop and :class:`~lmmcl.train.module.LMMModule` read exposes
  (``SkillSequence``, ``SkillMixture``).
- :class:`StageLoop`: what the stage loop (:class:`~lmmcl.train.stages.SequentialStages`) tells the analyses
  that run inside it (drift, per-sample answers): the stage's name and length, the accuracy-matrix row an
  evaluation makes, and where an analysis files its report entries; :func:`stage_loop` finds it.
- :class:`StageModule`: what those analyses read of the LightningModule (:class:`~lmmcl.train.module.LMMModule`):
  its model and processor, the evaluated benchmarks with their metrics, the last evaluation's scores.
- :class:`StageLoopExtension`: a callback that adds one entry to its own report section after every
  accuracy-matrix row (the counting-bias probe); the stage loop calls it. Its base-row entry is reused from the
  base-row cache only when it says what that entry depends on.
- :class:`ReportSection`: how a report section is rendered (Markdown lines, an optional figure) and rebuilt
  from TensorBoard scalars; listed once in :mod:`lmmcl.report_sections`, never in the report's core.
- :class:`ModelAdapter`: a baseline that rewrites the model after the recipe chose what trains (LoRA, MoE).
- :class:`LossTerm`: a callback whose term :class:`~lmmcl.train.module.LMMModule` adds to its loss (LwF).

Every hook is found by ``isinstance`` against these classes, never by ``hasattr``; eval/, data/, models/ and
report/ meet train/ only here (tests/test_layout.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import torch
from lightning.pytorch import LightningModule, Trainer


@runtime_checkable
class StageData(Protocol):
    """A datamodule of lmmcl's loop: target skills (one stage each, in order), held-out benchmarks, and every
    evaluated benchmark (targets first) with its per-benchmark data module (sample counts)."""

    skill_names: list[str]
    heldout_names: list[str]
    benchmarks: list[Any]  # lmmcl.data.skill.Skill, in the order of the validation dataloaders
    eval_modules: list[Any]  # lmmcl.data.datamodule.SkillDataModule, one per benchmark
    max_length: int  # the longest prompt (+ answer) in tokens; callbacks build their own prompts with it too


@runtime_checkable
class StageLoop(Protocol):
    """The stage loop as the analyses inside it see it: one epoch = one stage = one target skill, an
    accuracy-matrix row from the base evaluation (row 0) and one after every stage (row k after stage k)."""

    def stage_name(self, trainer: Trainer) -> str:
        """The skill of the stage that is training (or has just trained), ``"base"`` outside fit."""

    def stage_steps(self, trainer: Trainer) -> int | None:
        """Optimizer steps of the current stage (the length of its LR schedule); None before its data is loaded."""

    def evaluation_row(self, trainer: Trainer) -> int | None:
        """The accuracy-matrix row (its stage index) that the evaluation now running adds, or None when it adds
        none (a sanity check, a standalone ``validate`` after the sequence started)."""

    def add_entry(self, section: str, entry: Any) -> None:
        """Append ``entry`` to report section ``section``; it is written with every later report and kept in
        checkpoints (a stage's drift curve; the entry may still grow while its stage trains)."""


def stage_loop(trainer: Trainer) -> StageLoop | None:
    """The run's stage loop among its callbacks, or None when it has none."""
    return next((cb for cb in trainer.callbacks if isinstance(cb, StageLoop)), None)


@runtime_checkable
class StageModule(Protocol):
    """The LightningModule as the analyses read it (they never write its attributes)."""

    model: Any  # the transformers model
    processor: Any  # its processor (tokenizer + image processor)
    benchmarks: list[Any]  # lmmcl.data.skill.Skill, one per validation dataloader, targets first
    val_metrics: Any  # benchmark name -> its metric (a torchmetrics Metric with score(prediction, references))
    last_scores: dict[str, float]  # the last evaluation's score per benchmark (percent), target_mean, heldout_mean

    def model_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The tensors of a collated batch that the model takes."""

    def run_in_forward(self, compute: Callable[[], Any]) -> Any:
        """``compute()``, called inside the module's forward: the analyses' forwards under FSDP
        (:func:`lmmcl.eval.sharded.in_root_forward`)."""


class StageLoopExtension(ABC):
    """Mixed into a Lightning callback: after every accuracy-matrix row (the base evaluation, each stage) the
    stage loop calls :meth:`collect` and appends what it returns to ``report[section]``, before the report is
    written. The section's rendering is a :class:`ReportSection` with the same key."""

    section: str

    @abstractmethod
    def collect(self, trainer: Trainer, pl_module: LightningModule, row: dict[str, Any], index: int) -> Any:
        """This extension's entry for matrix row ``row`` (``{"name", "scores"}``) at ``index`` (0 = base)."""

    def base_row_settings(self) -> dict[str, Any] | None:
        """What this extension's base-row entry depends on besides the model, the benchmarks and the evaluation
        settings (its options, its prompts), for the base-row cache (:mod:`lmmcl.train.base_row`); None (the
        default): its entry is never reused, and a run with this extension evaluates its base row."""
        return None

    def replay(self, trainer: Trainer, pl_module: LightningModule, entry: Any, index: int) -> None:
        """Log a reused base-row ``entry`` as :meth:`collect` logs a measured one (TensorBoard), measuring nothing."""


class ReportSection(ABC):
    """One section of report.json / report.md: ``key`` in report.json, its Markdown, its figure.

    ``figure_title``: the figure's caption in report.md (None: no figure). ``empty``: the value a report holds
    without this section's data (None: the key is left out).
    """

    key: str
    figure_title: str | None = None
    empty: Any = None

    @abstractmethod
    def render(self, report: dict[str, Any]) -> list[str]:
        """Markdown lines for report.md (none when the report has no such section)."""

    def figure(self, report: dict[str, Any]) -> Any:
        """A matplotlib Figure drawn into ``<key>.png`` and TensorBoard, or None."""
        return None

    def from_scalars(self, series: Callable[[str], dict[int, float]], tags: list[str],
                     names: dict[int, str]) -> Any:
        """The section rebuilt from a run's TensorBoard scalars (``series(tag)``: step -> value; ``names``:
        row index -> stage name), or None when it cannot be."""
        return None


class ModelAdapter(ABC):
    """Changes how the recipe's selected parameters train, by rewriting the model (LoRA, MoE)."""

    @abstractmethod
    def adapt_model(self, pl_module: LightningModule, trainable_names: list[str]) -> list[str]:
        """Rewrite ``pl_module.model`` given the recipe's trainable parameter names; return the names that
        train now."""

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Called before every evaluation when the adapter is a recipe's own (not a callback): e.g. merge."""


class LossTerm(ABC):
    """A callback adding ``loss(module, batch, output)`` to the training loss, logged as ``train/<name>``."""

    name: str

    @abstractmethod
    def loss(self, module: LightningModule, batch: dict[str, Any], output: Any) -> torch.Tensor:
        """The term for this batch (``output``: the model's forward output on it)."""
