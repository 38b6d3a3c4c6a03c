"""A run's stage budget: its LR and its optimizer steps per stage (``data.train_size / data.batch_size``).

The paper trains one epoch per stage at one LR; the miniature's runs are set by the same two numbers, and
``lmmcl calibrate`` chooses them on the control recipe, ``lmmcl compare`` trains every recipe at several of them
around the configured one. A budget becomes ``lmmcl fit`` overrides here (:func:`budget_overrides`): the configured
budget adds none, so its runs are the runs a plain compare trains (and ``--resume`` finds them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lmmcl.errors import LmmclError

SELECTION_SEED = 100  # the seed budgets are chosen on; never a reported seed
LR_SCALES = (0.25, 1.0, 4.0)  # lmmcl compare's budgets around the configured one: wide enough that the recipes'
# learning ranges overlap (docs/guide/compare.md)
STEP_SCALES = (1.0,)


def fmt_lr(lr: float) -> str:
    """``3e-4``, ``1e-3``, ``2.5e-5``."""
    mantissa, exponent = f"{lr:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


@dataclass(frozen=True, order=True)
class Budget:
    steps: int  # optimizer steps per stage (ordered first: fewer steps, then the lower LR)
    lr: float

    def label(self) -> str:
        return f"LR {fmt_lr(self.lr)} x {self.steps} steps"

    def folder(self) -> str:
        """A log folder's name for the runs of this budget."""
        return f"lr{fmt_lr(self.lr)}_steps{self.steps}"

    def to_json(self) -> dict[str, Any]:
        return {"lr": self.lr, "steps": self.steps}


@dataclass(frozen=True)
class RunConfig:
    """What the runs of a command get before any budget override: the resolved config's numbers."""

    model: str
    lr: float
    batch_size: int
    train_size: int
    recipe_lr: dict[str, float]
    seeds: tuple[int, ...]  # seed_everything and data.seed (one value when they agree)
    stages: int  # target skills, one stage each
    lmmcl_names_logs: bool  # the logger's folder is lmmcl's <model>/<entry> (not pinned by the config)

    @property
    def budget(self) -> Budget:
        return Budget(math.ceil(self.train_size / self.batch_size), self.lr)

    def train_size_for(self, steps: int) -> int:
        return steps * self.batch_size


def run_config(model: str, overrides: list[str]) -> RunConfig:
    """The config ``lmmcl fit OVERRIDES --model.preset MODEL`` resolves to (parsed, nothing loaded or run)."""
    from lmmcl.train.cli import resolve

    config = resolve(["fit", *overrides, "--model.preset", model])
    data, logger = config["data"], (config.get("trainer") or {}).get("logger")
    if not data.get("train_size") or not data.get("batch_size"):
        raise LmmclError(f"data.train_size {data.get('train_size')!r} and data.batch_size "
                         f"{data.get('batch_size')!r}: a stage budget needs both (steps per stage = train_size / "
                         "batch_size); set them in the config.")
    init = logger.get("init_args") if isinstance(logger, dict) else None
    named = isinstance(init, dict) and init.get("name") in (None, "auto") and init.get("version") is None
    return RunConfig(model, float(config["model"]["lr"]), int(data["batch_size"]), int(data["train_size"]),
                     dict(config["model"].get("recipe_lr") or {}),
                     tuple(sorted({config["seed_everything"], data["seed"]})), len(data.get("skills") or []), named)


def budget_overrides(budget: Budget, config: RunConfig) -> list[str]:
    """``lmmcl fit`` options that give a run ``budget`` instead of the configured one (none for the configured)."""
    out = [] if budget.lr == config.lr else ["--model.lr", repr(budget.lr)]
    if budget.steps != config.budget.steps:
        out += ["--data.train_size", str(config.train_size_for(budget.steps))]
    return out


def scaled_budgets(config: RunConfig, lr_scales: list[float], step_scales: list[float]) -> list[Budget]:
    """The configured budget scaled: every LR scale with every steps scale (steps rounded, at least 1)."""
    bad = [s for s in [*lr_scales, *step_scales] if not (s > 0 and math.isfinite(s))]
    if bad:
        raise LmmclError(f"budget scales must be positive numbers, got {', '.join(map(str, bad))}.")
    base = config.budget
    budgets = [Budget(max(1, round(base.steps * s)), base.lr * lr) for lr in lr_scales for s in step_scales]
    if base not in budgets:
        raise LmmclError(f"the budget scales ({' '.join(map(str, lr_scales))} x {' '.join(map(str, step_scales))}) "
                         "leave out the configured budget itself: include 1 in both.")
    return list(dict.fromkeys(budgets))


def check_overrides(overrides: list[str], own: tuple[str, ...], tool: str) -> None:
    """Refuse options the tool sets on every run itself (e.g. ``--model.lr`` for the budgets)."""
    named = [o.split("=")[0] for o in overrides if o.split("=")[0] in own]
    if named:
        raise LmmclError(f"{tool} sets {', '.join(dict.fromkeys(named))} of every run itself; remove it from the "
                         "arguments after --.")


def entry_own_lr(entries: list[str], recipe_lr: dict[str, float]) -> dict[str, float]:
    """Entries whose recipe or baseline has an LR in model.recipe_lr (the paper: LoRA 5e-5) -> that LR: an LR
    budget does not change their runs."""
    from lmmcl.train.baseline_registry import parse_entry
    from lmmcl.train.lr_groups import run_lr

    own = {}
    for entry in entries:
        recipe, baselines = parse_entry(entry)
        if any(name in recipe_lr for name in [*baselines, recipe]):
            own[entry] = run_lr(0.0, recipe_lr, recipe, baselines)
    return own
