"""The run directory is lmmcl's, whatever the loggers: ``<save_dir>/<model>/<recipe>/version_<n>/``.

``--trainer.logger`` may name any Lightning logger, or a list of them. Before they are built,
:func:`place_loggers` chooses the run's directory and points every logger into it:

- the first ``TensorBoardLogger`` or ``CSVLogger`` (or subclass) names the root (its ``save_dir``) and, when pinned,
  the version; every such logger then writes into the run directory itself (TensorBoard events, metrics.csv);
- any other logger with a ``save_dir`` (``WandbLogger``'s offline files, ``MLFlowLogger``'s file store) gets the run
  directory as its ``save_dir``; an unset ``name`` becomes ``<model>/<recipe>/version_<n>``;
- without a TensorBoard or CSV logger, the root is the first logger's ``save_dir`` (``logs`` if it has none).

report.json, report.md, the figures, ``samples/``, ``checkpoints/`` and config.yaml are written there by lmmcl
itself, so they are the same whatever the loggers (:mod:`lmmcl.loggers` sends them the figures and samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.train.runs import place_run, run_name, version_folder


@dataclass
class RunPlace:
    """Where a run writes: ``save_dir/name/version_<n>`` (``version`` None: left to the logger, an outside launcher's
    ranks), and whether it resumes a run already there."""

    save_dir: str
    name: str
    version: int | str | None
    resumed: bool = False

    @property
    def folder(self) -> Path | None:
        return None if self.version is None else Path(self.save_dir) / self.name / version_folder(self.version)


def logger_specs(value: Any) -> list[Any]:
    """The ``class_path``/``init_args`` entries of a resolved ``trainer.logger`` (one, a list, or none)."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if getattr(v, "init_args", None) is not None and getattr(v, "class_path", None)]


def writes_run_folder(class_path: str) -> bool:
    """Whether the logger class writes into ``save_dir/name/version_<n>`` itself (TensorBoard, CSV and subclasses)."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    module, _, name = str(class_path).rpartition(".")
    try:
        cls = getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise LmmclError(f"--trainer.logger {class_path!r} cannot be imported ({err}). Name a Lightning logger, e.g. "
                         f"lightning.pytorch.loggers.CSVLogger, and install what it needs (lmmcl[wandb]).") from None
    return isinstance(cls, type) and issubclass(cls, (TensorBoardLogger, CSVLogger))


def _set(init: Any, key: str, value: Any) -> None:
    if isinstance(init, dict):
        init[key] = value
    else:
        setattr(init, key, value)


def _get(init: Any, key: str) -> Any:
    return init.get(key) if isinstance(init, dict) else getattr(init, key, None)


def _has(init: Any, key: str) -> bool:
    return key in init if isinstance(init, dict) or hasattr(init, "__contains__") else hasattr(init, key)


def place_loggers(value: Any, preset: str, recipe: str, baselines: list[str], ckpt_path: str | None,
                  identity: dict[str, Any] | None) -> RunPlace | None:
    """Choose the run directory and point every logger of ``value`` (``cfg.trainer.logger``) into it, in place.

    ``identity``: the run's identity for a ``fit`` (claims a version, or checks a resumed run's); None for other
    commands, whose version is left to the logger. Returns None when the run has no logger."""
    specs = logger_specs(value)
    if not specs:
        return None
    folders = [s for s in specs if writes_run_folder(s.class_path)]
    primary = folders[0].init_args if folders else SimpleNamespace(
        save_dir=(_get(specs[0].init_args, "save_dir") if _has(specs[0].init_args, "save_dir") else None) or "logs",
        name=None, version=None)
    if _get(primary, "name") in (None, "auto"):
        _set(primary, "name", run_name(preset, recipe, baselines))
    resumed = place_run(primary, ckpt_path, identity) if identity is not None else False
    place = RunPlace(str(_get(primary, "save_dir")), str(_get(primary, "name")), _get(primary, "version"), resumed)
    for spec in specs:
        init = spec.init_args
        if init is primary:
            continue
        if any(spec is f for f in folders):
            for key, val in (("save_dir", place.save_dir), ("name", place.name), ("version", place.version)):
                _set(init, key, val)
        elif _has(init, "save_dir"):
            if place.folder is None and identity is None:  # lmmcl validate: the logger keeps its own place
                continue
            if place.folder is None:
                raise LmmclError(f"--trainer.logger {spec.class_path}: the run's version is not known before it starts "
                                 f"(several processes started by an outside launcher), so this logger cannot be "
                                 f"pointed into the run directory. Pin it: --trainer.logger.init_args.version N.")
            _set(init, "save_dir", str(place.folder))
            if _has(init, "name") and _get(init, "name") is None:
                _set(init, "name", f"{place.name}/{version_folder(place.version)}")
    return place
