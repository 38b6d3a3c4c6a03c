"""Choosing the one LR of a comparison by a stated rule, on a seed that is not reported.

    lmmcl compare --train --select-lr 3e-4 1e-3 3e-3 [--selection-seed 100] [--seeds 0 1 2]

1. Every entry is trained once at every grid LR (``--model.lr``) on the selection seed only
   (``--seed_everything`` and ``--data.seed``); that seed must not be a reported one.
2. The rule below picks one LR from those runs.
3. The reported seeds are trained at that LR: one LR for every recipe, as in the paper. An entry whose recipe
   or baseline has its own LR in ``model.recipe_lr`` (the paper: LoRA 5e-5) keeps it (``lmmcl.train.lr_groups``):
   the grid does not change its run, so it is not trained on the selection seed and the rule does not see it.

The rule (``RULE``): for each grid LR, the mean ``learning`` (target-skill points gained after each skill's
own stage, against the base) over the paper's recipes among the entries (full, llm, sa_proj, mlp_gate_up,
mlp; not the baselines, not an entry with its own LR). The LR with the highest mean is chosen; means within
``TIE`` points of each other tie, and a tie goes to the lower LR. Why this rule:

- one number for all recipes, each recipe weighted alike: no recipe gets an LR tuned for it;
- forgetting is not in it: the held-out change is what the comparison measures, so the rule must not choose
  by it; and an LR at which nothing is learned forgets nothing, so a rule rewarding held-out scores picks an LR
  that teaches nothing (docs/guide/commands.md);
- the baselines are not in it: they are compared with the recipes at the recipes' LR, as in the paper;
- ties go to the smaller step, the LR that does not buy equal learning with a larger update.

Sensitivity: the same metrics at the chosen LR's two grid neighbours, from the selection-seed runs already
trained (no extra runs). A choice at the grid's edge has one neighbour and may not be the best LR at all (the
grid does not bracket it): then lr_selection.json/md are written with the selection runs, nothing is trained
on the reported seeds, and the command refuses with the LR to add to the grid.

Writes lr_selection.json and lr_selection.md next to summary.json; summary.md gets an "LR" line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lmmcl.errors import LmmclError
from lmmcl.report import atomic_write
from lmmcl.tables import markdown_table

RULE = ("the grid LR with the highest mean `learning` over the paper's recipes among the entries (full, llm, "
        "sa_proj, mlp_gate_up, mlp; not baselines, not entries with their own LR in model.recipe_lr), on the "
        "selection seed; means within 1e-6 points tie, and a tie goes to the lower LR")
TIE = 1e-6
METRICS = ("learning", "heldout_final", "heldout_mean")
DEFAULT_SELECTION_SEED = 100

# train(entries, groups of extra overrides, seeds) -> per group, one row per run (lmmcl.tools.compare.train_groups)
Train = Callable[[list[str], list[list[str]], list[int]], list[list[dict[str, Any]]]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import textwrap

    text = ("First every entry is trained at every grid LR on --selection-seed only; then one LR is chosen by the "
            f"rule: {RULE}; then the reported seeds (--seeds, or the config's seed) are trained at it (entries with "
            "their own LR keep it). lr_selection.json/md next to summary.json: the selection runs, the rule, the "
            "choice and the metrics at its two grid neighbours. A choice at the grid's edge is refused (extend the "
            "grid). Why this rule: lmmcl/tools/lr_select.py.")
    group = parser.add_argument_group("LR selection (with --train)", textwrap.fill(text, 100))
    group.add_argument("--select-lr", nargs="+", type=float, metavar="LR",
                       help="the LR grid, at least three values, e.g. 3e-4 1e-3 3e-3")
    group.add_argument("--selection-seed", type=int, default=DEFAULT_SELECTION_SEED,
                       help="seed of the selection runs; must not be a reported seed (default: %(default)s)")


def fmt_lr(lr: float) -> str:
    """``3e-4``, ``1e-3``, ``2.5e-5``."""
    mantissa, exponent = f"{lr:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def check_grid(lrs: list[float]) -> list[float]:
    """The grid sorted, or an error: at least three distinct positive LRs (a choice needs two neighbours)."""
    grid = sorted(set(lrs))
    if any(not (lr > 0 and math.isfinite(lr)) for lr in grid):
        raise LmmclError(f"--select-lr {' '.join(map(str, lrs))}: every LR must be a positive number.")
    if len(grid) < 3:
        raise LmmclError(f"--select-lr {' '.join(map(str, lrs))}: give at least three distinct LRs; the chosen LR "
                         "is reported with its two grid neighbours (e.g. --select-lr 3e-4 1e-3 3e-3).")
    return grid


def rule_recipes(entries: list[str], own_lr: dict[str, float]) -> list[str]:
    """The entries the rule averages over: the paper's recipes (no baseline) without an LR of their own."""
    from lmmcl.tools.compare import PAPER_RECIPES

    recipes = [e for e in entries if e in PAPER_RECIPES and e not in own_lr]
    if not recipes:
        raise LmmclError("--select-lr: the rule averages the paper's recipes (full, llm, sa_proj, mlp_gate_up, mlp) "
                         "and none of them is among --recipes (or each has its own LR); add at least one.")
    return recipes


def scores(rows: list[dict[str, Any]], grid: list[float], recipes: list[str]) -> dict[float, float]:
    """LR -> mean ``learning`` over ``recipes`` on the selection rows (each with ``recipe``, ``lr``, ``learning``)."""
    found = {(r["recipe"], r["lr"]): r.get("learning") for r in rows}
    out = {}
    for lr in grid:
        values = [found.get((recipe, lr)) for recipe in recipes]
        bad = [recipe for recipe, v in zip(recipes, values) if v is None or not math.isfinite(v)]
        if bad:
            raise LmmclError(f"--select-lr: no learning for {', '.join(bad)} at LR {fmt_lr(lr)} on the selection seed "
                             "(a run without a finished stage?); the rule needs every recipe at every LR.")
        out[lr] = statistics.fmean(values)
    return out


def choose(lr_scores: dict[float, float]) -> float:
    """The rule: the highest score; scores within ``TIE`` of it tie, and the lowest of the tied LRs wins."""
    best = max(lr_scores.values())
    return min(lr for lr, score in lr_scores.items() if score >= best - TIE)


def neighbours(grid: list[float], lr: float) -> tuple[float | None, float | None]:
    i = grid.index(lr)
    return (grid[i - 1] if i > 0 else None), (grid[i + 1] if i + 1 < len(grid) else None)


@dataclass
class Selection:
    grid: list[float]
    seed: int
    reported_seeds: list[int]
    recipes: list[str]                 # the rule's
    own_lr: dict[str, float]           # entries that keep their LR (model.recipe_lr)
    config_lr: float | None = None     # the LR the runs get without --model.lr
    rows: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[float, float] = field(default_factory=dict)
    chosen: float | None = None

    @property
    def neighbours(self) -> tuple[float | None, float | None]:
        return neighbours(self.grid, self.chosen)

    @property
    def at_edge(self) -> bool:
        return None in self.neighbours

    def overrides(self) -> list[str]:
        """What the reported runs add after every other override: the chosen LR, or nothing when it is the
        config's own (the reported runs are then the runs a compare without selection trains, and ``--resume``
        finds a compare's finished runs of them)."""
        return [] if self.chosen == self.config_lr else ["--model.lr", repr(self.chosen)]

    def row(self, entry: str, lr: float | None) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["recipe"] == entry and r["lr"] == lr), None)

    def sensitivity(self) -> list[dict[str, Any]]:
        """Per selection entry: the metrics at the lower neighbour, the chosen LR and the upper neighbour."""
        lower, upper = self.neighbours
        entries = list(dict.fromkeys(r["recipe"] for r in self.rows))
        out = []
        for entry in entries:
            at = {name: self.row(entry, lr) for name, lr in (("lower", lower), ("chosen", self.chosen), ("upper", upper))}
            out.append({"recipe": entry, **{name: None if r is None else {m: r.get(m) for m in METRICS}
                                            for name, r in at.items()}})
        return out

    def to_json(self) -> dict[str, Any]:
        lower, upper = self.neighbours
        return {"rule": RULE, "grid": self.grid, "selection_seed": self.seed, "reported_seeds": self.reported_seeds,
                "rule_recipes": self.recipes, "own_lr": self.own_lr,
                "scores": [{"lr": lr, "mean_learning": s} for lr, s in self.scores.items()],
                "chosen_lr": self.chosen, "neighbours": {"lower": lower, "upper": upper},
                "status": "refused: the chosen LR is at the grid's edge" if self.at_edge else "chosen",
                "rows": [{k: r.get(k) for k in ("recipe", "lr", "seed", *METRICS, "run_dir")} for r in self.rows],
                "sensitivity": self.sensitivity()}


def resolved(model: str, overrides: list[str], seeding: list[str]) -> dict[str, Any]:
    """The config a compare run gets (``lmmcl fit OVERRIDES --model.preset MODEL SEEDING``: the run's own settings
    last, as :func:`lmmcl.tools.compare.train_groups` passes them), resolved, not run."""
    from lmmcl.train.cli import resolve

    return resolve(["fit", *overrides, "--model.preset", model, *seeding])


def check_seeds(args: argparse.Namespace, overrides: list[str]) -> tuple[list[int], dict[str, float], float]:
    """The reported seeds, model.recipe_lr and model.lr, or an error when the selection seed could be a reported
    one."""
    seed = args.selection_seed
    if args.seeds and seed in args.seeds:
        raise LmmclError(f"--selection-seed {seed} is also in --seeds {' '.join(map(str, args.seeds))}: the LR must be "
                         "chosen on a seed that is not reported; pick another --selection-seed or drop it from --seeds.")
    named = [o.split("=")[0] for o in overrides if o.split("=")[0] in ("--model.lr", "--seed_everything", "--data.seed")]
    if named:
        raise LmmclError(f"--select-lr sets {', '.join(dict.fromkeys(named))} of every run itself; remove it from the "
                         "arguments after --.")
    probe = resolved(args.model, overrides, ["--seed_everything", str(seed), "--data.seed", str(seed)])
    if args.seeds:
        reported = list(args.seeds)
    else:  # the reported run uses the config's seeds
        config = resolved(args.model, overrides, [])
        reported = sorted({config["seed_everything"], config["data"]["seed"]})
        if seed in reported:
            raise LmmclError(f"--selection-seed {seed} is the config's seed (seed_everything {config['seed_everything']}, "
                             f"data.seed {config['data']['seed']}), the seed the reported runs use: pick another "
                             "--selection-seed, or give --seeds.")
    return reported, dict(probe["model"].get("recipe_lr") or {}), probe["model"]["lr"]


def entry_own_lr(entries: list[str], recipe_lr: dict[str, float]) -> dict[str, float]:
    """Entries whose recipe or baseline has an LR in model.recipe_lr -> that LR (what their run uses)."""
    from lmmcl.baselines import parse_entry
    from lmmcl.train.lr_groups import run_lr

    own = {}
    for entry in entries:
        recipe, baselines = parse_entry(entry)
        if any(name in recipe_lr for name in [*baselines, recipe]):
            own[entry] = run_lr(0.0, recipe_lr, recipe, baselines)
    return own


def out_dir(args: argparse.Namespace, model: str) -> Path:
    return Path(args.out) if args.out else Path("logs") / "compare" / model  # where compare writes summary.json


def select(args: argparse.Namespace, overrides: list[str], train: Train) -> Selection:
    """Train the selection runs, apply the rule, write lr_selection.json/md; refuse a choice at the grid's edge."""
    grid = check_grid(args.select_lr)
    reported, recipe_lr, config_lr = check_seeds(args, overrides)
    own = entry_own_lr(args.recipes, recipe_lr)
    selection = Selection(grid, args.selection_seed, reported, rule_recipes(args.recipes, own), own, config_lr)
    entries = [e for e in args.recipes if e not in own]
    print(f"\n[lmmcl compare] === LR selection: {len(entries)} entries at {', '.join(map(fmt_lr, grid))} on seed "
          f"{args.selection_seed} ({len(entries) * len(grid)} runs, one pool) ===")
    groups = [[*overrides, "--model.lr", repr(lr)] for lr in grid]
    for lr, rows in zip(grid, train(entries, groups, [args.selection_seed])):
        selection.rows += [{**r, "lr": lr} for r in rows]
    selection.scores = scores(selection.rows, grid, selection.recipes)
    selection.chosen = choose(selection.scores)
    folder = out_dir(args, selection.rows[0]["model"] if selection.rows else args.model)
    write(folder, selection)
    print(f"\n[lmmcl compare] LR {fmt_lr(selection.chosen)} chosen: {folder / 'lr_selection.md'}")
    if selection.at_edge:
        lower, upper = selection.neighbours
        side, extend = ("smallest", grid[0] ** 2 / grid[1]) if lower is None else ("largest", grid[-1] ** 2 / grid[-2])
        raise LmmclError(f"the rule chose LR {fmt_lr(selection.chosen)}, the {side} of the grid: it has one neighbour, "
                         f"and the best LR may lie beyond it; extend the grid (e.g. add {fmt_lr(extend)} to "
                         f"--select-lr) and rerun. Nothing was trained on the reported seeds; the selection runs are in "
                         f"{folder / 'lr_selection.md'}.")
    return selection


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def render(selection: Selection) -> str:
    chosen, (lower, upper) = selection.chosen, selection.neighbours
    lines = ["# LR selection", "",
             f"Rule: {RULE}.", "",
             f"Grid: {', '.join(fmt_lr(lr) for lr in selection.grid)}; selection seed {selection.seed} (reported seeds: "
             f"{', '.join(map(str, selection.reported_seeds))}); the rule's recipes: {', '.join(selection.recipes)}.", ""]
    if selection.own_lr:
        lines += ["Their own LR (model.recipe_lr; not selected, not trained on the selection seed): " +
                  ", ".join(f"{e} {fmt_lr(lr)}" for e, lr in selection.own_lr.items()) + ".", ""]
    lines += [f"**Chosen: {fmt_lr(chosen)}**" + (
        " (the grid's edge: refused, extend the grid)" if selection.at_edge else
        f"; sensitivity below at its neighbours {fmt_lr(lower)} and {fmt_lr(upper)}, on the selection seed."), "",
        "## Rule score per LR", "",
        *markdown_table(["LR", "mean learning (rule)", ""],
                        [[fmt_lr(lr), cell(s), "chosen" if lr == chosen else ""] for lr, s in selection.scores.items()]),
        "", f"## Selection runs (seed {selection.seed})", "",
        *markdown_table(["entry", "LR", *METRICS, "in rule"],
                        [[r["recipe"], fmt_lr(r["lr"]), *(cell(r.get(m)) for m in METRICS),
                          "yes" if r["recipe"] in selection.recipes else ""] for r in selection.rows])]
    if not selection.at_edge:
        head = f"{fmt_lr(lower)} / {fmt_lr(chosen)} / {fmt_lr(upper)}"
        lines += ["", f"## Sensitivity: LR {head} (selection seed)", "",
                  *markdown_table(["entry", *(f"{m} ({head})" for m in METRICS)],
                                  [[s["recipe"], *(" / ".join(cell((s[at] or {}).get(m)) for at in ("lower", "chosen", "upper"))
                                                   for m in METRICS)] for s in selection.sensitivity()])]
    return "\n".join(lines) + "\n"


def write(folder: Path, selection: Selection) -> Path:
    atomic_write(folder / "lr_selection.json", json.dumps(selection.to_json(), indent=2) + "\n")
    atomic_write(folder / "lr_selection.md", render(selection))
    return folder / "lr_selection.md"


def summary_line(selection: Selection) -> str:
    own = "".join(f"; {e} at its own {fmt_lr(lr)}" for e, lr in selection.own_lr.items())
    lower, upper = selection.neighbours
    return (f"LR: {fmt_lr(selection.chosen)} for every entry{own}, chosen on selection seed {selection.seed} by the "
            f"rule in [lr_selection.md](lr_selection.md) (grid {', '.join(fmt_lr(lr) for lr in selection.grid)}; "
            f"sensitivity at {fmt_lr(lower)} and {fmt_lr(upper)} there).")


def note_in_summary(summary_md: Path, selection: Selection) -> None:
    """Put the LR line under summary.md's title."""
    title, _, rest = summary_md.read_text().partition("\n\n")
    atomic_write(summary_md, f"{title}\n\n{summary_line(selection)}\n\n{rest}")
