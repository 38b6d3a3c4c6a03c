"""Freezing recipes as data: configs/recipe/<name>.yaml lists, per model component, the parameter-name
patterns that train. Everything else is frozen.

A recipe YAML::

    description: MLP gate and up projections of the language model; down_proj stays frozen.
    train:
      language_model: ['mlp\\.(gate_proj|up_proj)\\.']

Patterns are regular expressions searched in the parameter name *relative to the component prefix*
(so ``model.language_model.layers.3.mlp.up_proj.weight`` is seen as ``layers.3.mlp.up_proj.weight``);
component prefixes come from the model preset, which is how an ``mlp`` recipe never touches
Qwen2.5-VL's vision MLPs. A parameter belongs to the component with the longest matching prefix, so a
preset can carve a part out of another (``projector: [model.visual.merger]`` inside ``vision_tower:
[model.visual]``). A pattern that matches no parameter is an error, never a silent no-op.

``layers: [start, stop)`` limits a recipe to a range of each component's blocks (``layers.<i>.`` or
``blocks.<i>.``), Python-slice style: ``[-4, null]`` is the last four. A user adds a recipe as a YAML file.

An optional ``adapter`` section (``class_path`` + ``init_args``, e.g. ``lmmcl.baselines.LoRA``; only an adapter
lmmcl registers or a class under ``--recipe.allow_adapters``, see :mod:`lmmcl.train.adapters`) changes *how*
the selected parameters train: after the recipe is applied, the adapter's ``adapt_model(pl_module,
trainable_names)`` rewrites the model and returns what trains now (LoRA: adapters on the selected linears).
Callbacks with an ``adapt_model`` method (e.g. ``lmmcl.baselines.MoE``) are called the same way, after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.contracts import ModelAdapter
from lmmcl.errors import LmmclError
from lmmcl.loggers import log_scalars
from lmmcl.registry import config_dir, entry_path, known
from lmmcl.rundir import run_dir
from lmmcl.train.adapters import adapter_class
from lmmcl.yamlfile import load_yaml

RECIPE_DIR = config_dir("recipe")


@dataclass
class Recipe:
    """Which parameters train: ``train`` maps a component name to regex patterns."""

    name: str
    train: dict[str, list[str]]
    description: str = ""
    layers: list[int | None] | None = None  # optional [start, stop) over `layers.<i>.`, negatives count from the end
    extra: dict = field(default_factory=dict)


def known_recipes() -> list[str]:
    return known(RECIPE_DIR)


def get_recipe(name: str) -> Recipe:
    path = entry_path(RECIPE_DIR, name, "recipe")
    cfg = load_yaml(path) or {}
    if not isinstance(cfg, dict) or not isinstance(cfg.get("train"), dict):
        raise LmmclError(f"Recipe {path} needs a 'train' section mapping components to patterns "
                         f"(train: {{language_model: ['mlp\\.']}}). Fix the file.")
    return Recipe(name=name, train=cfg.pop("train"), description=cfg.pop("description", ""),
                  layers=cfg.pop("layers", None), extra=cfg)


_LAYER = re.compile(r"(?:^|\.)(?:layers|blocks)\.(\d+)\.")


def _in_layer_range(rel_name: str, layers: list[int | None] | None, n_layers: int) -> bool:
    if layers is None:
        return True
    match = _LAYER.search(rel_name)
    if match is None:
        return False
    start, stop = layers
    idx = range(n_layers)[slice(start, stop)]
    return int(match.group(1)) in idx


def component_members(names: list[str], components: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """component -> {parameter name: name relative to its prefix}, each name in the component whose prefix
    is the longest that matches it (a prefix naming a parameter itself, like ``model.image_newline``,
    gives that parameter its last dotted segment as relative name)."""
    members: dict[str, dict[str, str]] = {c: {} for c in components}
    for name in names:
        owner = max(((len(pre.rstrip(".")), c, pre) for c, prefixes in components.items() for pre in prefixes
                     if name == pre or name.startswith(pre.rstrip(".") + ".")), default=None)
        if owner is not None:
            _, component, prefix = owner
            prefix = prefix.rstrip(".")
            members[component][name] = name[len(prefix) + 1:] if name != prefix else prefix.rsplit(".", 1)[-1]
    return members


def select_parameters(model: torch.nn.Module, recipe: Recipe, components: dict[str, list[str]]) -> list[str]:
    """Names of the parameters ``recipe`` trains on ``model``; raises if a pattern or component matches nothing."""
    names = [n for n, _ in model.named_parameters()]
    by_component = component_members(names, components)
    selected: set[str] = set()
    for component, patterns in recipe.train.items():
        if component not in components:
            raise LmmclError(f"Recipe {recipe.name!r} names component {component!r}, which this model does not have. "
                             f"Components: {', '.join(components)}.")
        members = by_component[component]
        if not members:
            raise LmmclError(f"Component {component!r} (prefixes {components[component]}) matches no parameter.")
        n_layers = 1 + max((int(m.group(1)) for r in members.values() if (m := _LAYER.search(r))), default=-1)
        for pattern in patterns:
            regex = re.compile(pattern)
            hits = {n for n, rel in members.items()
                    if regex.search(rel) and _in_layer_range(rel, recipe.layers, n_layers)}
            if not hits:
                example = next(iter(members.values()))
                raise LmmclError(f"Recipe {recipe.name!r}: pattern {pattern!r} matches no parameter of component "
                                 f"{component!r} (names look like {example!r}). Fix the pattern in "
                                 f"{RECIPE_DIR}/{recipe.name}.yaml.")
            selected |= hits
    return [n for n in names if n in selected]


def apply_recipe(model: torch.nn.Module, recipe: Recipe, components: dict[str, list[str]]) -> list[str]:
    """Freeze everything, then unfreeze what ``recipe`` selects. Returns the trainable names."""
    trainable = set(select_parameters(model, recipe, components))
    for name, param in model.named_parameters():
        param.requires_grad_(name in trainable)
    return [n for n, _ in model.named_parameters() if n in trainable]


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied weights are counted once."""
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


class FreezeRecipe(Callback):
    """Apply a freezing recipe before the optimizer is built; print, log and list what trains.

    Args:
        name: a recipe in configs/recipe/ (e.g. ``mlp_gate_up``, ``sa_proj``, ``full``, ``lora``).
        adapter: overrides of the recipe's ``adapter`` section: its ``init_args`` (``{r: 64}``), or a
            ``class_path`` to use instead.
        allow_adapters: module prefixes (``[mypkg.adapters]``) whose classes an ``adapter`` may name besides
            lmmcl's registered adapters (:mod:`lmmcl.train.adapters`); nothing else is imported.
    """

    def __init__(self, name: str = "mlp_gate_up", adapter: dict | None = None, allow_adapters: list[str] | None = None):
        self.recipe = get_recipe(name)  # fails at start-up on an unknown name
        self.adapter = build_adapter(self.recipe, adapter or {}, allow_adapters or [])
        self.trainable_names: list[str] = []
        self.param_counts: dict[str, int] = {}
        self._applied_to: torch.nn.Module | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        first = self._applied_to is not pl_module.model  # once per model: validate-then-fit must not adapt twice
        if first:
            names = apply_recipe(pl_module.model, self.recipe, pl_module.preset.components)
            adapters = [self.adapter] if self.adapter is not None else []
            adapters += [cb for cb in trainer.callbacks if isinstance(cb, ModelAdapter)]
            for adapter in adapters:  # e.g. LoRA, MoE: rewrite the model, return what trains now
                names = adapter.adapt_model(pl_module, names)
            self.trainable_names, self._applied_to = names, pl_module.model
            # counted here, before any strategy wraps the model: under FSDP a later setup (fit after the base
            # evaluation) sees each rank's shard of every parameter, half the counts on two ranks
            trainable, total = count_parameters(pl_module.model)
            self.param_counts = {"trainable": trainable, "total": total}  # the report's parameter counts
            rank_zero_info(f"[lmmcl] recipe {self.recipe.name!r}: {trainable:,} trainable of {total:,} parameters "
                           f"({100 * trainable / total:.2f}%) in {len(self.trainable_names)} tensors")
        log_scalars(trainer.loggers, {f"params/{k}": v for k, v in self.param_counts.items()}, step=0)
        out = run_dir(trainer)  # on every rank: reading it is a collective
        if trainer.is_global_zero and out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "trainable_params.txt").write_text("\n".join(self.trainable_names) + "\n")

    @property
    def idle_in_base_evaluation(self) -> bool:
        """Whether its evaluation hook does nothing in a base evaluation (lmmcl.train.base_row): its adapter's
        does not."""
        return self.adapter is None or bool(getattr(self.adapter, "idle_in_base_evaluation", False))

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.adapter is not None:
            self.adapter.on_validation_start(trainer, pl_module)  # e.g. LoRA merges at a stage's end


def freeze_recipe(trainer: Trainer) -> FreezeRecipe | None:
    """The run's :class:`FreezeRecipe` callback (its recipe and parameter counts), or None."""
    return next((cb for cb in trainer.callbacks if isinstance(cb, FreezeRecipe)), None)


def build_adapter(recipe: Recipe, overrides: dict, allow: list[str] | tuple[str, ...] = ()):
    """The recipe's ``adapter`` section (with ``overrides``) as an object, or None without one. Its class must be
    registered by lmmcl or lie under an ``allow`` prefix (:func:`lmmcl.train.adapters.adapter_class`)."""
    section = dict(recipe.extra.get("adapter") or {})
    if not section and not overrides:
        return None
    class_path = overrides.get("class_path", section.get("class_path"))
    if not class_path:
        raise LmmclError(f"Recipe {recipe.name!r}: an adapter needs a class_path (e.g. lmmcl.baselines.LoRA).")
    same_class = class_path == section.get("class_path")
    own_args = (section.get("init_args") or {}) if same_class else {}  # another class: not the recipe's args
    init_args = {**own_args, **overrides.get("init_args", {}),
                 **{k: v for k, v in overrides.items() if k not in ("class_path", "init_args")}}
    where = f"Recipe {recipe.name!r} ({RECIPE_DIR / recipe.name}.yaml or --recipe.adapter)"
    cls = adapter_class(class_path, allow, where)
    try:
        return cls(**init_args)
    except TypeError as err:
        raise LmmclError(f"{where}: adapter {class_path!r} rejects init_args {init_args}: {err}. "
                         f"Fix the init_args.") from None
