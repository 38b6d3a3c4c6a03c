"""What a skill is: a named source of (image, question, answer) samples with a metric.

A skill never knows about models. Synthetic skills (``lmmcl.data.synthetic``) and real hub datasets
(``lmmcl.data.hf``) both implement :class:`Skill`; configs/skills/<name>.yaml says which one a name means.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from PIL import Image
from torch.utils.data import Dataset

from lmmcl.errors import LmmclError
from lmmcl.registry import config_dir, entry_path, known
from lmmcl.yamlfile import load_yaml

SKILL_CONFIG_DIR = config_dir("skills")


@dataclass
class Sample:
    """One question about one image. ``answers`` holds every accepted reference (e.g. 10 VQA annotators);
    ``answer`` is the single training target."""

    image: Image.Image
    question: str
    answer: str
    answers: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.answers:
            self.answers = [self.answer]


class Skill(ABC):
    """A named benchmark or training skill.

    Attributes set by subclasses: ``name``, ``metric`` (a name in ``lmmcl.eval.metrics.METRICS``),
    ``max_new_tokens`` for generation, ``chance`` (expected score of random guessing, in percent),
    ``kind`` ("target", "heldout", or "pretrain": trained only while building a base, never scored).
    """

    name: str
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


# Skill types: the ``type`` field of a skill YAML picks a factory taking the YAML's remaining keys.
SKILL_TYPES: dict[str, Callable[..., Skill]] = {}


def register_skill_type(name: str) -> Callable:
    def wrap(factory: Callable[..., Skill]) -> Callable[..., Skill]:
        SKILL_TYPES[name] = factory
        return factory

    return wrap


def known_skills() -> list[str]:
    return known(SKILL_CONFIG_DIR)


def get_skill(name: str) -> Skill:
    """Build the skill named ``name`` from configs/skills/<name>.yaml."""
    path = entry_path(SKILL_CONFIG_DIR, name, "skill")
    cfg = load_yaml(path) or {}
    kind = cfg.pop("type", "synthetic")
    _import_skill_types()
    if kind not in SKILL_TYPES:
        raise LmmclError(f"Skill {name!r} has unknown type {kind!r} in {path}. Known types: {', '.join(sorted(SKILL_TYPES))}.")
    return SKILL_TYPES[kind](name=name, **cfg)


def get_skills(names: Sequence[str]) -> list[Skill]:
    return [get_skill(n) for n in names]


def _import_skill_types() -> None:
    # Importing the modules registers their types; done lazily to keep `import lmmcl` light.
    import lmmcl.data.skills  # noqa: F401  (the synthetic type and its generators)
    try:
        import lmmcl.data.hf  # noqa: F401
    except ImportError as err:  # the real-data loaders are optional until they exist
        if "lmmcl.data.hf" not in str(err):
            raise
