"""Named things as data: one YAML file per name in a config folder (skills, recipes, models, baselines, ...).

:func:`config_dir` is the one place configs are found. They ship as package data (``lmmcl/configs``, a link
to the checkout's ``configs/`` that a wheel turns into files), so an installed lmmcl finds its own recipes.
"""

from __future__ import annotations

from pathlib import Path

from lmmcl.errors import LmmclError

CONFIG_ROOT = Path(__file__).resolve().parent / "configs"
KINDS = ("baseline", "experiment", "model", "recipe", "skills", "trainer")


def config_dir(kind: str) -> Path:
    """The folder of one kind of config: ``baseline``, ``experiment``, ``model``, ``recipe``, ``skills`` or
    ``trainer``."""
    if kind not in KINDS:
        raise LmmclError(f"Unknown config kind {kind!r}: use one of {', '.join(KINDS)}.")
    return CONFIG_ROOT / kind


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
