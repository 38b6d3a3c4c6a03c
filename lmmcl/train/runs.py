"""A run directory belongs to one run.

A run's identity (model preset, recipe, baselines, skills, held-out set and a hash of the resolved config) is
written into every checkpoint it saves (``checkpoint["lmmcl_run"]``, by :class:`RunRecord`), with the directory
it logs to. Resuming (``--ckpt_path``) reads that record, refuses a checkpoint of another run (naming both
values) and continues in the directory the record names, whatever the current recipe would call it. A new run
never takes an existing version: a pinned ``--trainer.logger.init_args.version`` that already holds a run is
refused unless the checkpoint being resumed belongs to it. An unpinned new run claims the next free version by
creating its directory (:func:`claim_version`), so two runs started at once (two ``lmmcl compare`` in one
``logs/``) never pick the same one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from lmmcl.errors import LmmclError
from lmmcl.rundir import run_dir

RECORD_KEY = "lmmcl_run"
IDENTITY = ("preset", "recipe", "baselines", "skills", "heldout", "config_hash")
FRESH = "To start a fresh run instead, drop --ckpt_path (it gets a new version directory)."
# Where a run logs and which checkpoint it resumes from do not change what the run is.
NOT_HASHED = ("ckpt_path", "config", "trainer.logger.init_args.save_dir", "trainer.logger.init_args.name",
              "trainer.logger.init_args.version", "stages.base_cache")  # nor where its base row may come from


def option(cfg: Any, dotted: str, default: Any = None) -> Any:
    """``cfg``'s value at ``"model.lr"`` (a dict or a jsonargparse Namespace), or ``default``."""
    for key in dotted.split("."):
        if cfg is None:
            return default
        cfg = cfg.get(key) if isinstance(cfg, dict) else getattr(cfg, key, None)
    return default if cfg is None else cfg


def _drop(tree: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree.get(key) if isinstance(tree, dict) else None
        if not isinstance(tree, dict):
            return
    tree.pop(last, None)


def hashed_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The resolved config as ``{"model.lr": 0.001, ...}``, without where it logs or resumes from."""
    tree = json.loads(json.dumps(cfg, default=str))
    for dotted in NOT_HASHED:
        _drop(tree, dotted)

    def flat(node: Any, prefix: str) -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, child in node.items() for k, v in flat(child, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): node}

    return flat(tree, "")


def config_hash(options: dict[str, Any]) -> str:
    """A short hash of :func:`hashed_options`."""
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]


def run_identity(cfg: Any) -> dict[str, Any]:
    """What makes a run this run, from a resolved LightningCLI config (a jsonargparse Namespace or a dict)."""
    from lmmcl.train.baseline_registry import baseline_names

    tree = cfg.as_dict() if hasattr(cfg, "as_dict") else dict(cfg)
    options = hashed_options(tree)
    callbacks = option(tree, "trainer.callbacks", []) or []
    classes = [str(c.get("class_path", "")).rpartition(".")[2] for c in callbacks if isinstance(c, dict)]
    return {"preset": option(tree, "model.preset"), "recipe": option(tree, "recipe.name"),
            "baselines": baseline_names(classes), "skills": list(option(tree, "data.skills", [])),
            "heldout": list(option(tree, "data.heldout", [])), "config_hash": config_hash(options),
            "options": options}


def run_name(preset: str, recipe: str, baselines: list[str]) -> str:
    """The one naming rule of a run's log folder: ``<model>/<recipe>`` or ``<model>/<recipe>+<baseline>+...``."""
    return f"{preset}/{'+'.join([recipe, *baselines])}"


def version_folder(version: int | str) -> str:
    """TensorBoardLogger's folder for a version: ``version_3`` for 3, a string as it is."""
    return version if isinstance(version, str) else f"version_{version}"


def read_record(ckpt_path: str | Path) -> dict[str, Any]:
    """The run record of a checkpoint; a missing, unreadable or record-less file is an error naming it."""
    import torch

    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise LmmclError(f"--ckpt_path {str(path)!r} does not exist. Point it at a run's checkpoint "
                         f"(logs/<model>/<recipe>/version_<n>/checkpoints/last.ckpt). {FRESH}")
    try:
        checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
    except Exception as err:  # truncated, not a checkpoint, unreadable: all the same to the user
        raise LmmclError(f"--ckpt_path {str(path)!r} is not a readable checkpoint ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'}); it may be truncated. Resume "
                         f"from an intact one (each stage has checkpoints/stage<k>-<skill>.ckpt). {FRESH}") from None
    record = checkpoint.get(RECORD_KEY) if isinstance(checkpoint, dict) else None
    if not isinstance(record, dict):
        raise LmmclError(f"--ckpt_path {str(path)!r} has no lmmcl run record (it was not written by lmmcl fit, or "
                         f"by an older version), so it cannot be resumed safely. {FRESH}")
    return record


def check_same_run(record: dict[str, Any], identity: dict[str, Any], ckpt_path: str) -> None:
    """Refuse to resume ``ckpt_path`` with a config that is not the run that wrote it."""
    for key in IDENTITY:
        if record.get(key) != identity.get(key):
            hint = ""
            if key == "config_hash":
                was, now = record.get("options", {}), identity.get("options", {})
                changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))[:5]
                diffs = [f"--{k} was {was.get(k)!r}, now {now.get(k)!r}" for k in changed]
                hint = f" (options that differ: {', '.join(diffs)})"
            raise LmmclError(f"--ckpt_path {ckpt_path!r} belongs to another run: its {key} is {record.get(key)!r}, "
                             f"this command's is {identity.get(key)!r}{hint}. To continue that run, repeat its own "
                             f"command (its config.yaml is in {record.get('run_dir')}) with --ckpt_path. {FRESH}")


def place_run(init: Any, ckpt_path: str | None, identity: dict[str, Any]) -> bool:
    """Point the logger's ``init`` (save_dir, name, version) at this run's directory. Returns whether it resumes.

    Resuming: the directory comes from the checkpoint's record. New run: a pinned version must not exist yet.
    """
    if ckpt_path:
        record = read_record(ckpt_path)
        check_same_run(record, identity, str(ckpt_path))
        pinned = getattr(init, "version", None)
        if pinned is not None and version_folder(pinned) != version_folder(record["version"]):
            raise LmmclError(f"--trainer.logger.init_args.version {pinned!r} is not the version of the run in "
                             f"--ckpt_path ({record['run_dir']}). Drop the version option to resume that run. {FRESH}")
        init.save_dir, init.name, init.version = record["save_dir"], record["name"], record["version"]
        return True
    pinned = getattr(init, "version", None)
    if pinned is not None:
        folder = Path(str(init.save_dir)) / str(init.name) / version_folder(pinned)
        if folder.exists() and any(folder.iterdir()):
            raise LmmclError(f"--trainer.logger.init_args.version {pinned!r}: {folder} already holds a run, and a new "
                             f"run never writes into another's directory. Drop the version option (a new run gets "
                             f"the next free version), or resume that run with --ckpt_path "
                             f"{folder / 'checkpoints' / 'last.ckpt'}.")
    else:
        claim_version(init)
    return False


# The version a run's first process claimed, for the processes a launcher starts for the same run (they inherit
# the environment; lmmcl.train.cli.run removes it when the run ends).
VERSION_ENV = "LMMCL_RUN_VERSION"


def claim_version(init: Any) -> None:
    """Set ``init.version`` to the next free ``version_<n>`` under ``save_dir/name``, made here: ``mkdir`` fails for
    all but one of several processes racing for the same number. A process started as one of several ranks by an
    outside launcher (``WORLD_SIZE`` set, no claimed version inherited) leaves the choice to the logger, as every
    rank must name the same directory."""
    if os.environ.get(VERSION_ENV, "").isdigit():
        init.version = int(os.environ[VERSION_ENV])
        return
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return
    root = Path(str(init.save_dir)) / str(init.name)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name[8:]) for p in root.glob("version_*") if p.name[8:].isdigit()]
    version = max(taken, default=-1) + 1
    while True:
        try:
            (root / f"version_{version}").mkdir()
            break
        except FileExistsError:
            version += 1
    init.version = version
    os.environ[VERSION_ENV] = str(version)
    CLAIMED.append(root / f"version_{version}")


CLAIMED: list[Path] = []  # the directories this process claimed, for release_versions


def release_versions() -> None:
    """After a run in this process: forget its claimed version, and remove its directory if the run wrote nothing
    into it (it failed before starting), so a failed start leaves no empty version behind."""
    os.environ.pop(VERSION_ENV, None)
    while CLAIMED:
        folder = CLAIMED.pop()
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


class RunRecord(Callback):
    """Writes the run's identity and directory into every checkpoint (``checkpoint["lmmcl_run"]``)."""

    def __init__(self, identity: dict[str, Any], place: Any = None):
        self.identity, self.place = dict(identity), place  # place: lmmcl.train.loggers.RunPlace

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        where = self.place if self.place is not None and self.place.version is not None else trainer.logger
        checkpoint[RECORD_KEY] = {**self.identity, "run_dir": str(run_dir(trainer).resolve()),
                                  "save_dir": str(Path(where.save_dir).resolve()), "name": where.name,
                                  "version": where.version}
