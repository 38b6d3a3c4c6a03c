"""Skill files named by path in a run's config: ``--data.skills '[./xray.yaml, count]'``.

An entry of ``data.skills`` or ``data.heldout`` that ends in ``.yaml``/``.yml`` or holds a ``/`` is a skill file
(anything else is a registered name, :func:`lmmcl.data.skill.get_skill`). A relative path is relative to the config
file that lists it, or to the working directory when it comes from the command line. :func:`resolve_skill_files`
turns every such entry into an absolute path before anything is built, so the saved config.yaml, resume and the
processes of a multi-process run all read the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmmcl.data.skill import is_skill_file
from lmmcl.errors import LmmclError
from lmmcl.yamlfile import load_yaml

SKILL_OPTIONS = ("skills", "heldout")  # keys under data


def _config_paths(cfg: Any) -> list[Path]:
    """The ``--config`` files of a resolved config, as absolute paths (jsonargparse keeps where each was read)."""
    found = []
    for entry in (cfg.get("config") if isinstance(cfg, dict) else getattr(cfg, "config", None)) or []:
        absolute = getattr(entry, "absolute", None) or str(entry)
        found.append(Path(str(absolute)).resolve())
    return found


def _listed_in(config: Path, option: str, entry: str) -> bool:
    """Whether config file ``config`` lists ``entry`` under ``data.<option>``."""
    try:
        data = (load_yaml(config) or {}).get("data") or {}
    except (LmmclError, AttributeError):
        return False
    listed = data.get(option) if isinstance(data, dict) else None
    return isinstance(listed, list) and entry in listed


def resolve_entry(entry: str, option: str, configs: list[Path]) -> str:
    """``entry`` as an absolute path when it is a skill file (relative to the last config file listing it, else to the
    working directory), unchanged when it is a registered name; a missing file is an error naming where it was."""
    if not isinstance(entry, str) or not is_skill_file(entry):
        return entry
    path = Path(entry).expanduser()
    if path.is_absolute():
        named_in = "the command line or a config file"
        found = path
    else:
        owner = next((c for c in reversed(configs) if _listed_in(c, option, entry)), None)
        named_in = str(owner) if owner else "the command line"
        found = ((owner.parent if owner else Path.cwd()) / path).resolve()
    if not found.is_file():
        base = f"the folder of {owner}" if not path.is_absolute() and owner else f"the working directory {Path.cwd()}"
        raise LmmclError(f"--data.{option}: skill file {entry!r} (named in {named_in}) does not exist: looked for "
                         f"{found}. A relative path is read from {base}; fix the path, or name a registered skill "
                         f"(lmmcl plan lists them).")
    return str(found)


def resolve_skill_files(cfg: Any) -> None:
    """Replace every skill-file entry of ``cfg``'s ``data.skills`` and ``data.heldout`` by its absolute path, in
    place."""
    data = cfg.get("data") if isinstance(cfg, dict) else getattr(cfg, "data", None)
    if data is None:
        return
    configs = _config_paths(cfg)
    for option in SKILL_OPTIONS:
        entries = data.get(option) if isinstance(data, dict) else getattr(data, option, None)
        if not entries:
            continue
        resolved = [resolve_entry(e, option, configs) for e in entries]
        if isinstance(data, dict):
            data[option] = resolved
        else:
            setattr(data, option, resolved)
