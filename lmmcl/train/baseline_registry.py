"""The baselines a run may compose, as registered: one ``configs/baseline/<name>.yaml`` per baseline, whose
``class_path`` names its class (``lmmcl.baselines.LwF``) and ``init_args`` its defaults.

The training loop finds baselines here, by name and class name, and never imports :mod:`lmmcl.baselines`; a
registered class is imported by its ``class_path`` only where it is used (an adapter a recipe names), as
LightningCLI imports a callback's. :mod:`lmmcl.baselines` re-exports these helpers for the tools.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from lmmcl.errors import LmmclError
from lmmcl.registry import config_dir, entry_path, known
from lmmcl.yamlfile import load_yaml

BASELINE_DIR = config_dir("baseline")
PACKAGE = "lmmcl.baselines"  # a registered class_path lies under it: configs name lmmcl's own baselines only


def known_baselines() -> list[str]:
    return known(BASELINE_DIR)


def baseline_config(name: str) -> Path:
    return entry_path(BASELINE_DIR, name, "baseline", " (a callback's class_path and init_args)")


def class_paths() -> dict[str, str]:
    """Baseline name -> the ``class_path`` its config registers (e.g. ``{"lwf": "lmmcl.baselines.LwF"}``)."""
    found = {}
    for name in known_baselines():
        class_path = str((load_yaml(baseline_config(name)) or {}).get("class_path", ""))
        if not class_path.startswith(PACKAGE + "."):
            raise LmmclError(f"{baseline_config(name)}: class_path {class_path!r} is not one of lmmcl's baselines "
                             f"(a class of {PACKAGE}, e.g. {PACKAGE}.LwF).")
        found[name] = class_path
    return found


def baseline_class(name: str) -> type:
    """The class registered as baseline ``name``, imported by its ``class_path``."""
    module, _, attr = class_paths()[name].rpartition(".")
    cls = getattr(importlib.import_module(module), attr, None)
    if not isinstance(cls, type):
        raise LmmclError(f"{baseline_config(name)}: class_path {module}.{attr} names no class of {module}.")
    return cls


def parse_entry(entry: str) -> tuple[str, list[str]]:
    """``"mlp_gate_up+lwf+wise_ft"`` -> ``("mlp_gate_up", ["lwf", "wise_ft"])``; unknown baselines are errors."""
    recipe, *baselines = entry.split("+")
    for name in baselines:
        baseline_config(name)
    return recipe, baselines


def baseline_names(class_names: list[str]) -> list[str]:
    """The baselines among callback class names (a run's callbacks, in their order): e.g. ``["lwf"]``.

    A recipe's own adapter (``RECIPE=lora``) is not a callback, so it is not listed: the recipe names it.
    """
    by_class = {path.rpartition(".")[2]: name for name, path in class_paths().items()}
    return [by_class[c] for c in class_names if c in by_class]


def baseline_args(baselines: list[str]) -> list[str]:
    """Lightning CLI arguments that append the baselines' callbacks to those the config already has."""
    return [f"--trainer.callbacks+={baseline_config(name)}" for name in baselines]
