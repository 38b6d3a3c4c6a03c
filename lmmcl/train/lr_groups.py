"""Per-group learning rates, as the paper sets them: one LR for every recipe, its own for some recipes or
baselines (LoRA 5e-5 against 5e-6) and for some model components (the vision tower 2e-6).

Config (``model.*``)::

    lr: 5.0e-6                          # every trained parameter, unless one of the two below applies
    recipe_lr: {lora: 5.0e-5}           # a recipe or baseline name -> the run's LR (RECIPE=lora, BASELINE=lora)
    component_lr: {vision_tower: 2.0e-6}  # a component (configs/model/<preset>.yaml) -> LR of its parameters

A run's LR is ``recipe_lr`` of its first baseline, else of its recipe, that has an entry, else ``lr``; a
component with an entry in ``component_lr`` trains at that LR whatever the recipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lmmcl.errors import LmmclError
from lmmcl.train.baseline_registry import known_baselines
from lmmcl.train.recipes import component_members, known_recipes


def run_lr(lr: float, recipe_lr: Mapping[str, float] | None, recipe: str, baselines: list[str]) -> float:
    """The run's LR: ``recipe_lr`` of the first of ``baselines`` + [recipe] that has one, else ``lr``."""
    recipe_lr = recipe_lr or {}
    names = known_recipes() + known_baselines()
    unknown = sorted(set(recipe_lr) - set(names))
    if unknown:
        raise LmmclError(f"model.recipe_lr names {unknown}, neither a recipe nor a baseline; "
                         f"known: {', '.join(names)}.")
    return next((float(recipe_lr[n]) for n in [*baselines, recipe] if n in recipe_lr), float(lr))


def optimizer_groups(model: torch.nn.Module, components: Mapping[str, list[str]], lr: float,
                     component_lr: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """AdamW parameter groups of ``model``'s trainable parameters, one per distinct LR, each with a ``name``."""
    component_lr = dict(component_lr or {})
    unknown = sorted(set(component_lr) - set(components))
    if unknown:
        raise LmmclError(f"model.component_lr names {unknown}, not a component of this model; components: "
                         f"{', '.join(components)}.")
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    owner = {n: c for c, members in component_members(list(trainable), dict(components)).items() for n in members}
    groups: dict[float, dict[str, Any]] = {}
    for name, param in trainable.items():
        component = owner.get(name)
        group_lr = float(component_lr.get(component, lr)) if component else float(lr)
        group = groups.setdefault(group_lr, {"params": [], "lr": group_lr,
                                             "name": component if component in component_lr else "default"})
        group["params"].append(param)
    return sorted(groups.values(), key=lambda g: g["name"] != "default")
