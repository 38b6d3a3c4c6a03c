"""Check a resolved ``lmmcl fit`` config in seconds, before any weights load, any base evaluation runs or
anything is written to ``logs/``: model preset and path, recipe and its adapter (and its patterns against the
model's architecture on the meta device), skill and held-out names and data, sizes, optimizer settings.
Each problem is one :class:`LmmclError` naming the option, the bad value, the config files it
may come from, and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.registry import config_dir
from lmmcl.train.runs import option as value_at

DEFAULT_CONFIG = config_dir("experiment") / "default.yaml"  # what `lmmcl fit` reads first (train/cli.py)
# option -> (test, what a valid value is); None passes for the sizes (= every sample of a real dataset).
POSITIVE_INT = (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1),
                "a whole number >= 1")
NUMBER_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "data.train_size": POSITIVE_INT,
    "data.test_size": POSITIVE_INT,
    "data.batch_size": POSITIVE_INT,
    "data.eval_batch_size": POSITIVE_INT,
    "data.max_length": POSITIVE_INT,
    "data.num_workers": (lambda v: isinstance(v, int) and v >= 0, "a whole number >= 0"),
    "model.lr": (lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v > 0,
                 "a finite number > 0 (e.g. 1e-3)"),
    "model.warmup_ratio": (lambda v: isinstance(v, (int, float)) and 0 <= v <= 1, "a number in [0, 1]"),
    "model.weight_decay": (lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v >= 0,
                           "a finite number >= 0"),
}


def sources(cfg: Any) -> str:
    """Where a run's values come from, for messages: "configs/experiment/default.yaml, x.yaml or the command line"."""
    files = [str(getattr(p, "relative", None) or p) for p in (value_at(cfg, "config") or [])]
    if not any(Path(f).name == DEFAULT_CONFIG.name for f in files):
        files.insert(0, f"configs/experiment/{DEFAULT_CONFIG.name} (the default config)")
    return ", ".join(files) + " or the command line"


def check_numbers(cfg: Any) -> None:
    for option, (ok, valid) in NUMBER_CHECKS.items():
        value = value_at(cfg, option)
        if not ok(value):
            raise LmmclError(f"--{option} {value!r} is invalid: it must be {valid}. Fix it in {sources(cfg)}.")


def check_run_bounds(cfg: Any) -> None:
    """Lightning's flags that bound a run, read per stage (lmmcl.train.stages): refused where they cannot be."""
    from lmmcl.data.order import apply_order

    stages = len(apply_order(list(value_at(cfg, "data.skills") or []), value_at(cfg, "data.order")))
    epochs = value_at(cfg, "trainer.max_epochs")
    if epochs not in (None, -1, stages):
        raise LmmclError(f"--trainer.max_epochs {epochs} cannot apply: a stage is one epoch of its skill's training "
                         f"split, so a run has max_epochs = its number of stages ({stages}), set by lmmcl. Drop the "
                         f"option; to train each stage on more samples raise --data.train_size, to stop each stage "
                         f"sooner use --trainer.max_steps N (per stage) ({sources(cfg)}).")
    limit = value_at(cfg, "trainer.limit_train_batches")
    if limit is not None and limit <= 0:
        raise LmmclError(f"--trainer.limit_train_batches {limit} would train no stage: give a number of batches per "
                         f"stage (e.g. 10) or a fraction of each stage's batches in (0, 1] ({sources(cfg)}).")
    steps = value_at(cfg, "trainer.max_steps")
    if steps is not None and steps not in (-1,) and steps < 1:
        raise LmmclError(f"--trainer.max_steps {steps} would train no stage: it is each stage's number of optimizer "
                         f"steps; give a number >= 1, or -1 for every batch ({sources(cfg)}).")
    max_time = value_at(cfg, "trainer.max_time")
    if max_time is not None and time_limit_seconds(max_time) <= 0:
        raise LmmclError(f"--trainer.max_time {max_time} would train no stage: it bounds the whole stage loop; give "
                         f"a positive duration as DD:HH:MM:SS (e.g. 00:01:00:00 for an hour) ({sources(cfg)}).")
    if steps not in (None, -1) and isinstance(limit, float) and limit != 1.0:
        raise LmmclError(f"--trainer.max_steps {steps} and --trainer.limit_train_batches {limit} both bound each "
                         f"stage; give one of them ({sources(cfg)}).")


def time_limit_seconds(max_time: Any) -> float:
    """``--trainer.max_time`` (``DD:HH:MM:SS``, a dict of timedelta fields or a timedelta) in seconds, read by the
    timer Lightning itself builds from it."""
    from lightning.pytorch.callbacks import Timer

    return Timer(duration=max_time).time_remaining()


def check_model(cfg: Any) -> None:
    from lmmcl.models.presets import get_preset

    preset = get_preset(value_at(cfg, "model.preset"))
    model_path = value_at(cfg, "model.model_path")
    if model_path and not (Path(model_path).expanduser() / "config.json").is_file():
        raise LmmclError(f"--model.model_path {model_path!r} has no config.json: point it at a directory written by "
                         f"save_pretrained for {preset.name!r} (set in {sources(cfg)}).")


def check_recipe(cfg: Any) -> None:
    from lmmcl.train.recipes import FreezeRecipe

    recipe = value_at(cfg, "recipe")
    recipe = recipe.as_dict() if hasattr(recipe, "as_dict") else dict(recipe or {})
    FreezeRecipe(**recipe)  # an unknown name, a refused or misconfigured adapter: its own message


def check_skills(cfg: Any) -> None:
    from lmmcl.data.skill import get_skill

    skills, heldout = list(value_at(cfg, "data.skills") or []), list(value_at(cfg, "data.heldout") or [])
    if not skills:
        raise LmmclError(f"--data.skills is empty: a run needs at least one target skill (e.g. '[count, clock]'). "
                         f"Set it in {sources(cfg)}.")
    for option, names in (("data.skills", skills), ("data.heldout", heldout)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise LmmclError(f"--{option} names {repeated} more than once; list each skill once ({sources(cfg)}).")
    both = sorted(set(skills) & set(heldout))
    if both:
        raise LmmclError(f"{both} is both a target skill (--data.skills) and held out (--data.heldout); a held-out "
                         f"benchmark must not be trained on. Remove it from one list ({sources(cfg)}).")
    built = {entry: get_skill(entry) for entry in skills + heldout}  # a bad skill file: its own message
    names: dict[str, list[str]] = {}
    for entry, skill in built.items():
        names.setdefault(skill.name, []).append(entry)
    clash = {name: entries for name, entries in names.items() if len(entries) > 1}
    if clash:
        raise LmmclError(f"Two skills are named the same: {clash}. A skill file's name is its `name:` key or its file "
                         f"name; rename one ({sources(cfg)}).")
    for skill in built.values():
        skill.check_available()


def check_recipe_on_model(cfg: Any) -> None:
    """The recipe's patterns match the model's parameters, on its architecture without weights (meta device)."""
    from lmmcl.models.meta import meta_model
    from lmmcl.train.recipes import get_recipe, select_parameters

    model, preset, _ = meta_model(value_at(cfg, "model.preset"), value_at(cfg, "model.model_path"))
    select_parameters(model, get_recipe(value_at(cfg, "recipe.name")), preset.components)


CHECKS = (check_numbers, check_run_bounds, check_skills, check_recipe, check_model, check_recipe_on_model)


def validate_fit(cfg: Any) -> None:
    """Every cheap check of a ``fit`` config; raises the first problem as an :class:`LmmclError`."""
    for check in CHECKS:
        check(cfg)
