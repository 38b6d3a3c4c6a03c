"""Skills by name or file: configs/skills/<name>.yaml, or a skill YAML anywhere (``./xray.yaml``) -> a
:class:`~lmmcl.data.skill_type.Skill` of the YAML's ``type``.

The types (``synthetic``: :mod:`lmmcl.data.synthetic`, ``hf``: :mod:`lmmcl.data.hf`) register themselves in
:mod:`lmmcl.data.skill_type` when imported, which :func:`get_skill` does; they never import this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from lmmcl.data.skill_type import FILE_AWARE, SKILL_CONFIG_DIR, SKILL_TYPES, Sample, Skill
from lmmcl.errors import LmmclError
from lmmcl.registry import entry_path, known
from lmmcl.yamlfile import CONFIG_SUFFIXES, load_yaml, where_key

KNOWN_SUBKEYS = ("splits", "train", "test", "columns")  # nested keys an error message may name

# what a skill is, and skills by name
__all__ = ["Sample", "Skill", "get_skill", "get_skills", "is_skill_file", "known_skills"]


def known_skills() -> list[str]:
    return known(SKILL_CONFIG_DIR)


def is_skill_file(entry: str) -> bool:
    """Whether a ``data.skills`` / ``data.heldout`` entry is a path to a skill YAML rather than a registered name."""
    return entry.endswith(CONFIG_SUFFIXES) or "/" in entry or os.sep in entry


def skill_file(entry: str) -> Path:
    """The YAML file an entry means: ``configs/skills/<name>.yaml`` for a name, the file itself for a path."""
    if not is_skill_file(entry):
        return entry_path(SKILL_CONFIG_DIR, entry, "skill", " or name a skill file by its path (./my_skill.yaml)")
    path = Path(entry).expanduser()
    if not path.is_file():
        raise LmmclError(f"Skill file {entry!r} does not exist (looked for {path.resolve()}). Give a path relative to "
                         f"the working directory ({Path.cwd()}) or to the config file that names it, an absolute "
                         f"path, or a registered skill name ({', '.join(known_skills())}).")
    return path


def get_skill(name: str) -> Skill:
    """Build a skill from its YAML: a registered name (configs/skills/<name>.yaml) or a path to a skill file.

    A skill file's ``name`` key names the skill (default: the file's stem); ``type`` picks its factory. The
    skill keeps the file it came from (``skill.source_file``)."""
    path = skill_file(name)
    cfg = load_yaml(path)
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise LmmclError(f"Skill file {path} holds a {type(cfg).__name__}, not a mapping of keys (type, metric, "
                         f"splits, ...). Write it as `key: value` lines (docs/guide/own_data.md).")
    skill_name = str(cfg.pop("name", None) or path.stem) if is_skill_file(name) else name
    kind = cfg.pop("type", "synthetic")
    _import_skill_types()
    if kind not in SKILL_TYPES:
        raise LmmclError(f"Skill {skill_name!r} has unknown type {kind!r} in {where_key(path, 'type')}. "
                         f"Known types: {', '.join(sorted(SKILL_TYPES))}.")
    try:
        skill = SKILL_TYPES[kind](name=skill_name, source_file=path, **cfg) if kind in FILE_AWARE else \
            SKILL_TYPES[kind](name=skill_name, **cfg)
    except TypeError as err:  # a key the type does not take
        match = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if not match:
            raise
        raise LmmclError(f"Skill {skill_name!r}: key {match.group(1)!r} is not a setting of a {kind!r} skill "
                         f"({where_key(path, match.group(1))}). Remove or rename it.") from None
    except LmmclError as err:
        if str(path) in str(err):
            raise
        keys = [k for k in re.findall(r"'(\w+)'", str(err)) if k in cfg or k in KNOWN_SUBKEYS]
        raise LmmclError(f"{err} (in {where_key(path, keys[0]) if keys else path})") from None
    skill.source_file = path.resolve()
    return skill


def get_skills(names: Sequence[str]) -> list[Skill]:
    return [get_skill(n) for n in names]


def _import_skill_types() -> None:
    # Importing the modules registers their types; done lazily to keep `import lmmcl` light.
    import lmmcl.data.conversations
    import lmmcl.data.skills
    try:
        import lmmcl.data.hf  # noqa: F401
    except ImportError as err:  # the real-data loaders are optional until they exist
        if "lmmcl.data.hf" not in str(err):
            raise
