"""Skills by name: configs/skills/<name>.yaml -> a :class:`~lmmcl.data.skill_type.Skill` of the YAML's ``type``.

The types (``synthetic``: :mod:`lmmcl.data.synthetic`, ``hf``: :mod:`lmmcl.data.hf`) register themselves in
:mod:`lmmcl.data.skill_type` when imported, which :func:`get_skill` does; they never import this module.
"""

from __future__ import annotations

from typing import Sequence

from lmmcl.data.skill_type import SKILL_CONFIG_DIR, SKILL_TYPES, Sample, Skill
from lmmcl.errors import LmmclError
from lmmcl.registry import entry_path, known
from lmmcl.yamlfile import load_yaml

__all__ = ["Sample", "Skill", "get_skill", "get_skills", "known_skills"]  # what a skill is, and skills by name


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
