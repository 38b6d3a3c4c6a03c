"""LoRA baseline (peft): low-rank adapters on the linear layers a freezing recipe selects; only they train.

The recipe says *where* (``configs/recipe/lora.yaml`` selects the language model's MLP linears, so vision
MLPs are never adapted); this class says *how*: rank ``r``, ``alpha``, ``dropout`` (the paper: 256, 32, 0.05,
with LR 5e-5). Adapters are injected in place (``peft.inject_adapter_in_model``): the model keeps its class,
``generate`` and module paths; ``gate_proj.weight`` becomes ``gate_proj.base_layer.weight`` beside
``gate_proj.lora_A.default.weight`` / ``lora_B``. Checkpoints hold the adapters, and a resumed run injects
them again before the weights are restored.

``merge``: at the end of every stage, before its evaluation, fold the adapters into the base weights and
start the next stage from fresh adapters (B = 0) - the reference protocol, which evaluates the merged model
and trains each stage's LoRA on top of the previous merged one. ``merge=False`` keeps one adapter across
the whole sequence and evaluates it unmerged.
"""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.baselines.common import stage_end_validation
from lmmcl.contracts import ModelAdapter
from lmmcl.errors import LmmclError
from lmmcl.train.stages import stage_seed

ADAPTER = "default"


class LoRA(Callback, ModelAdapter):
    """Low-rank adapters on the recipe's linear layers. Use as a recipe's ``adapter`` section (``RECIPE=lora``)
    or as a callback on another recipe (``RECIPE=sa_proj BASELINE=lora``).

    Args:
        r: adapter rank.
        alpha: scaling numerator (the update is ``alpha / r * B @ A``).
        dropout: dropout on the adapter's input while training.
        merge: merge the adapters into the base weights at the end of every stage (before its evaluation)
            and re-initialise them for the next stage; ``False`` keeps one unmerged adapter for the sequence.
        max_rank_fraction: caps ``r`` at this fraction of the adapted layers' width (the smaller side of the
            narrowest one), scaling ``alpha`` alike so the update's scale ``alpha / r`` stays; None: no cap. Why:
            the paper's r 256 is 7 % of a 7B model's 3,584, but exceeds the tiny model's 128, where an "adapter"
            would not be low-rank at all.
    """

    idle_in_base_evaluation = True  # merges only in the evaluation that ends a stage (lmmcl.train.base_row)

    def __init__(self, r: int = 256, alpha: float = 32, dropout: float = 0.05, merge: bool = True,
                 max_rank_fraction: float | None = None):
        if r < 1:
            raise LmmclError(f"LoRA rank must be >= 1, got r={r}.")
        if max_rank_fraction is not None and not 0 < max_rank_fraction <= 1:
            raise LmmclError(f"LoRA max_rank_fraction must be in (0, 1], got {max_rank_fraction}.")
        self.r, self.alpha, self.dropout, self.merge = r, alpha, dropout, merge
        self.max_rank_fraction = max_rank_fraction
        self.targets: list[str] = []

    def capped(self, model: torch.nn.Module) -> tuple[int, float]:
        """(rank, alpha) for the adapted layers of ``model``: ``r`` capped by ``max_rank_fraction`` of the
        narrowest layer's smaller side, ``alpha`` scaled alike."""
        if self.max_rank_fraction is None:
            return self.r, self.alpha
        modules = dict(model.named_modules())
        width = min(min(modules[t].in_features, modules[t].out_features) for t in self.targets)
        cap = max(1, round(self.max_rank_fraction * width))
        return (cap, self.alpha * cap / self.r) if self.r > cap else (self.r, self.alpha)

    # --- called by FreezeRecipe once the recipe is applied ----------------------------------------
    def adapt_model(self, pl_module: LightningModule, trainable_names: list[str]) -> list[str]:
        """Put adapters on the Linear layers owning ``trainable_names``; freeze everything else."""
        from peft import LoraConfig, inject_adapter_in_model

        model = pl_module.model
        self.targets = linear_owners(model, trainable_names)
        r, alpha = self.capped(model)
        config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=self.dropout, target_modules=self.targets, bias="none")
        inject_adapter_in_model(config, model)
        names = []
        for name, param in model.named_parameters():
            param.requires_grad_(is_adapter_parameter(name))
            if param.requires_grad:
                names.append(name)
        rank_zero_info(f"[lmmcl] LoRA r={r} alpha={alpha:g} dropout={self.dropout} on {len(self.targets)} "
                       f"linear layers ({'merged at every stage end' if self.merge else 'unmerged'})")
        return names

    # --- stage end: merge, then fresh adapters for the next stage ----------------------------------
    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.merge and stage_end_validation(trainer):
            # the next stage's fresh adapters come from its own seed, not from the global RNG's state,
            # so a run resumed at that stage draws the same adapters as one that never stopped
            merge_and_reset(pl_module.model, seed=stage_seed(trainer.current_epoch + 1))


def linear_owners(model: torch.nn.Module, names: list[str]) -> list[str]:
    """The Linear modules that own the parameters ``names`` (their weights or biases), in model order."""
    modules = dict(model.named_modules())
    owners: dict[str, None] = {}
    for name in names:
        owner, _, leaf = name.rpartition(".")
        if not isinstance(modules.get(owner), torch.nn.Linear) or leaf not in ("weight", "bias"):
            raise LmmclError(f"LoRA adapts Linear layers, but the recipe also selects {name!r}. Use a recipe "
                             f"that selects only linear layers (e.g. configs/recipe/lora.yaml: the LM's MLP linears).")
        owners[owner] = None
    if not owners:
        raise LmmclError("LoRA: the recipe selects no parameter, so there is nothing to adapt.")
    return list(owners)


def is_adapter_parameter(name: str) -> bool:
    return f".lora_A.{ADAPTER}." in name or f".lora_B.{ADAPTER}." in name


def lora_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    from peft.tuners.lora import LoraLayer

    return [m for m in model.modules() if isinstance(m, LoraLayer)]


@torch.no_grad()
def merge_and_reset(model: torch.nn.Module, seed: int = 0) -> None:
    """W <- W + scale * B @ A for every adapter, then B = 0 and a fresh A drawn from ``seed`` (the global RNG
    is left untouched): the function is unchanged, the base weights now hold this stage's update, and the
    state dict stays consistent for a resume."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for layer in lora_layers(model):
            layer.merge(adapter_names=[ADAPTER])
            layer.merged_adapters.clear()  # the base weight owns the update now; the (zeroed) adapter stays active
            layer.reset_lora_parameters(ADAPTER, init_lora_weights=True)
