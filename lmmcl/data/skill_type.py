"""What a skill is: a named source of (image, question, answer) samples with a metric, and the skill types.

A skill never knows about models. Synthetic skills (``lmmcl.data.synthetic``) and real hub datasets
(``lmmcl.data.hf``) both implement :class:`Skill` and register their type here; :mod:`lmmcl.data.skill` builds
the skill a name means (configs/skills/<name>.yaml says which type).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from lmmcl.registry import config_dir

SKILL_CONFIG_DIR = config_dir("skills")  # one <name>.yaml per skill: its type and that type's arguments


@dataclass
class Sample:
    """One question about one image. ``answers`` holds every accepted reference (e.g. 10 VQA annotators);
    ``answer`` is the single training target.

    A conversation (:mod:`lmmcl.data.conversations`) also has ``messages`` (the HF chat format, an image part per
    image) and ``images`` (in order); ``question`` and ``answer`` are then its last user and assistant turns."""

    image: Image.Image
    question: str
    answer: str
    answers: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    images: list[Image.Image] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.answers:
            self.answers = [self.answer]
        if not self.images:
            self.images = [self.image]


class Skill(ABC):
    """A named benchmark or training skill.

    Attributes set by subclasses: ``name``, ``metric`` (a name in ``lmmcl.eval.metrics.METRICS``),
    ``max_new_tokens`` for generation, ``chance`` (expected score of random guessing, in percent),
    ``kind`` ("target", "heldout", or "pretrain": trained only while building a base, never scored).
    """

    name: str
    source_file: Path | None = None  # the skill YAML it was built from (set by lmmcl.data.skill.get_skill)
    metric: str = "exact_match"
    max_new_tokens: int = 8
    chance: float = 0.0
    kind: str = "target"

    @abstractmethod
    def dataset(self, split: str, size: int | None = None, seed: int = 0) -> Dataset:
        """A map-style dataset of :class:`Sample` for ``split`` ("train" or "test"), at most ``size`` items."""

    def splits(self) -> tuple[str, ...]:
        """The splits this skill has (a real held-out benchmark: only "test")."""
        return ("train", "test")

    def check_available(self) -> None:
        """Raise a clear error if the data cannot be reached (before any model is loaded)."""

    def survey(self, split: str) -> tuple[int, dict[str, int]] | None:
        """Rows the split's files hold and those that would be skipped, by reason, read without images or a model
        (``lmmcl plan``); None where that is not known without loading the data."""
        return None


# Skill types: the ``type`` field of a skill YAML picks a factory taking the YAML's remaining keys; a type
# registered with ``source_file=True`` also gets the YAML's path (its data paths are relative to it).
SKILL_TYPES: dict[str, Callable[..., Skill]] = {}
FILE_AWARE: set[str] = set()


def register_skill_type(name: str, source_file: bool = False) -> Callable:
    def wrap(factory: Callable[..., Skill]) -> Callable[..., Skill]:
        SKILL_TYPES[name] = factory
        if source_file:
            FILE_AWARE.add(name)
        return factory

    return wrap
