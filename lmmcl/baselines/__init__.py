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

A baseline is registered by its config's ``class_path``; the training loop finds it there
(:mod:`lmmcl.train.baseline_registry`, whose name helpers this package re-exports) and never imports this package.
"""

from __future__ import annotations

from lmmcl.baselines.lora import LoRA
from lmmcl.baselines.lwf import LwF
from lmmcl.baselines.moe import MoE
from lmmcl.baselines.wise_ft import WiSEFT
from lmmcl.train.baseline_registry import baseline_args, baseline_config, baseline_names, known_baselines, parse_entry

__all__ = ["LoRA", "LwF", "MoE", "WiSEFT", "baseline_args", "baseline_config", "baseline_names", "known_baselines",
           "parse_entry"]
