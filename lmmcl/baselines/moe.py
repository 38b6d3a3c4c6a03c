"""Mixture-of-experts baseline: every language-model MLP the recipe trains becomes two experts and a router.

Expert 0 is the original MLP, frozen; expert 1 is a copy of it that trains (the parts the recipe selects:
``mlp`` -> the whole copy, ``mlp_gate_up`` -> its gate and up projections); a per-token linear router picks
between them. Training routes top-2 (both experts, weighted by the router's softmax); evaluation routes
top-1 (the argmax expert alone, weight 1), so a token routed to expert 0 sees the base model's MLP exactly.
The router starts at zero: ties go to expert 0, so before training the model is the base model.

Parameter names: ``...mlp.experts.0.gate_proj.weight`` (frozen), ``...mlp.experts.1.gate_proj.weight``,
``...mlp.router.weight``. The router load - the share of tokens whose top-1 expert is the new one - is
logged as ``moe/load_new`` (training, per step) and ``moe/val_load_new`` (+ per layer) after each evaluation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.contracts import ModelAdapter
from lmmcl.errors import LmmclError
from lmmcl.train.recipes import component_members

_MLP = re.compile(r"^(.*(?:^|\.)mlp)\.(.+)$")


class MoEMLP(torch.nn.Module):
    """``experts[0]`` (the original, frozen) and ``experts[1]`` (a trainable copy) behind a token router."""

    def __init__(self, mlp: torch.nn.Module):
        super().__init__()
        hidden = next(m for m in mlp.modules() if isinstance(m, torch.nn.Linear)).in_features
        weight = next(mlp.parameters())
        self.experts = torch.nn.ModuleList([mlp, copy.deepcopy(mlp)])
        self.router = torch.nn.Linear(hidden, 2, bias=False, device=weight.device, dtype=weight.dtype)
        torch.nn.init.zeros_(self.router.weight)
        self.force_expert: int | None = None  # route every token to this expert (tests, analysis)
        self.train_load: torch.Tensor | None = None  # share of tokens to expert 1 in the last training forward
        # tokens routed at evaluation: [to expert 1, in all]; a buffer so it follows the model's device (no sync)
        self.register_buffer("eval_routed", torch.zeros(2, dtype=torch.long, device=weight.device), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.force_expert is not None:
            return self.experts[self.force_expert](x)
        logits = self.router(x)
        choice = logits.argmax(dim=-1)  # top-1; ties go to the original expert
        if self.training:  # top-2: both experts, softmax-weighted
            self.train_load = (choice == 1).float().mean().detach()
            weights = torch.softmax(logits.float(), dim=-1).to(x.dtype)
            return weights[..., :1] * self.experts[0](x) + weights[..., 1:] * self.experts[1](x)
        new = choice == 1
        self.eval_routed[0] += new.sum()
        self.eval_routed[1] += new.numel()
        if not new.any():
            return self.experts[0](x)
        if new.all():
            return self.experts[1](x)
        out = torch.empty_like(x)
        out[~new] = self.experts[0](x[~new])
        out[new] = self.experts[1](x[new])
        return out


class MoE(Callback, ModelAdapter):
    """Turn the language-model MLPs a recipe trains into frozen original + trainable copy + router.

    Composes with a recipe (``RECIPE=mlp BASELINE=moe``): FreezeRecipe applies the recipe, then calls
    :meth:`adapt_model`, which wraps every LM MLP holding a selected parameter, moves the selection onto the
    copy and adds the routers; other selected parameters (outside LM MLPs) keep training in place.
    """

    def adapt_model(self, pl_module: LightningModule, trainable_names: list[str]) -> list[str]:
        model = pl_module.model
        language = component_members(trainable_names, pl_module.preset.components).get("language_model", {})
        selected: dict[str, list[str]] = {}  # MLP module path -> its selected parameters (relative to it)
        for name in language:
            match = _MLP.match(name)
            if match:
                selected.setdefault(match.group(1), []).append(match.group(2))
        if not selected:
            raise LmmclError("MoE turns language-model MLPs into experts, but the recipe trains none of them. "
                             "Use an MLP recipe: mlp, mlp_gate_up or mlp_down.")
        for path, rels in selected.items():
            parent, _, attr = path.rpartition(".")
            mlp = model.get_submodule(path)
            moe = MoEMLP(mlp).train(mlp.training)
            setattr(model.get_submodule(parent), attr, moe)
            for rel, param in moe.named_parameters():  # the original freezes; the copy trains what the recipe chose
                copied = rel.startswith("experts.1.") and rel.removeprefix("experts.1.") in rels
                param.requires_grad_(copied or rel == "router.weight")
        names = [n for n, p in model.named_parameters() if p.requires_grad]  # + the recipe's non-MLP selection
        rank_zero_info(f"[lmmcl] MoE: {len(selected)} language-model MLPs -> frozen original + trainable copy + router")
        return names

    # --- router load ----------------------------------------------------------------------------
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        loads = [m.train_load for m in moe_layers(pl_module.model) if m.train_load is not None]
        if loads:
            pl_module.log("moe/load_new", torch.stack(loads).mean())

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        for layer in moe_layers(pl_module.model):
            layer.eval_routed.zero_()

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        layers = moe_layers(pl_module.model)
        loads = [float(m.eval_routed[0]) / max(1, int(m.eval_routed[1])) for m in layers]
        if not loads:
            return
        pl_module.log("moe/val_load_new", sum(loads) / len(loads))
        for i, load in enumerate(loads):
            pl_module.log(f"moe/val_load_new_layer{i}", load)


def moe_layers(model: torch.nn.Module) -> list[MoEMLP]:
    return [m for m in model.modules() if isinstance(m, MoEMLP)]


@contextmanager
def force_route(model: torch.nn.Module, expert: int | None) -> Iterator[None]:
    """Route every token of every MoE layer to ``expert`` (0: the original MLP) inside the block."""
    layers = moe_layers(model)
    for layer in layers:
        layer.force_expert = expert
    try:
        yield
    finally:
        for layer in layers:
            layer.force_expert = None
