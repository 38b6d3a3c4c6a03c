"""Named things as data: one YAML file per name in a config folder (skills, recipes, models, baselines)."""

from __future__ import annotations

from pathlib import Path

from lmmcl.errors import LmmclError


def known(folder: Path) -> list[str]:
    """The names defined in ``folder`` (its ``*.yaml`` files)."""
    return sorted(p.stem for p in folder.glob("*.yaml"))


def entry_path(folder: Path, name: str, what: str, hint: str = "") -> Path:
    """``folder/<name>.yaml``, or an error that names the known entries and where to add one."""
    path = folder / f"{name}.yaml"
    if not path.exists():
        raise LmmclError(f"Unknown {what} {name!r}. Known: {', '.join(known(folder))}. "
                         f"Add one as {folder}/<name>.yaml{hint}.")
    return path
