"""Continual-learning baselines, each composable with a freezing recipe and the stage loop.

    name     class                                  what it changes
    lora     lmmcl.baselines.lora.LoRA              adapters on the recipe's linears; only they train (peft)
    lwf      lmmcl.baselines.lwf.LwF                + KL to the stage-start model on answer tokens
    wise_ft  lmmcl.baselines.wise_ft.WiSEFT         stage end: theta = a * theta_start + (1 - a) * theta_tuned
    moe      lmmcl.baselines.moe.MoE                LM MLPs -> frozen original + trained copy + token router

Each is a Lightning callback with its defaults in ``configs/baseline/<name>.yaml``; ``make train
RECIPE=mlp_gate_up BASELINE=lwf`` appends it to the run's callbacks. LoRA is also a recipe of its own
(``configs/recipe/lora.yaml``, an ``adapter`` section). Baselines that change the model's structure (LoRA,
MoE) implement ``adapt_model(pl_module, trainable_names) -> trainable_names``, which
:class:`lmmcl.train.recipes.FreezeRecipe` calls right after applying the recipe, so the recipe says *which*
parameters and the baseline says *how* they train. A run entry such as ``mlp_gate_up+lwf`` names a recipe
and its baselines (``lmmcl compare --train --recipes sa_proj mlp_gate_up+lwf lora``).
"""

from __future__ import annotations

from pathlib import Path

from lmmcl.baselines.lora import LoRA
from lmmcl.baselines.lwf import LwF
from lmmcl.baselines.moe import MoE
from lmmcl.baselines.wise_ft import WiSEFT
from lmmcl.errors import LmmclError
from lmmcl.registry import config_dir, entry_path, known
from lmmcl.yamlfile import load_yaml

BASELINE_DIR = config_dir("baseline")
CLASSES = {cls.__name__: cls for cls in (LoRA, LwF, MoE, WiSEFT)}

__all__ = ["LoRA", "LwF", "MoE", "WiSEFT", "baseline_args", "baseline_names", "known_baselines",
           "parse_entry"]


def known_baselines() -> list[str]:
    return known(BASELINE_DIR)


def baselines() -> dict[str, type]:
    """Baseline name -> class, registered once: by its configs/baseline/<name>.yaml's ``class_path``."""
    found = {}
    for name in known_baselines():
        class_path = (load_yaml(baseline_config(name)) or {}).get("class_path", "")
        cls = CLASSES.get(str(class_path).rpartition(".")[2])
        if cls is None or not str(class_path).startswith("lmmcl.baselines"):
            raise LmmclError(f"{baseline_config(name)}: class_path {class_path!r} is not one of lmmcl's baselines "
                             f"({', '.join(f'lmmcl.baselines.{c}' for c in CLASSES)}).")
        found[name] = cls
    return found


def baseline_config(name: str) -> Path:
    return entry_path(BASELINE_DIR, name, "baseline", " (a callback's class_path and init_args)")


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
    by_class = {cls.__name__: name for name, cls in baselines().items()}
    return [by_class[c] for c in class_names if c in by_class]


def baseline_args(baselines: list[str]) -> list[str]:
    """Lightning CLI arguments that append the baselines' callbacks to those the config already has."""
    return [f"--trainer.callbacks+={baseline_config(name)}" for name in baselines]
