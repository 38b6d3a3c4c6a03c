"""Iteration curves: the paper's counting-only tune, probed after 1, 10, 100 and 1000 optimizer steps.

    lmmcl probe --model tiny --recipes mlp_gate_up sa_proj --steps 1 10 100 1000 [--out DIR]

For each recipe the base model is tuned on the counting skill alone (its train split, reshuffled every pass,
AdamW at the model's LR with the stage schedule - warmup then cosine - over the last probed step, shifted by
one step so that step 1 already trains). After each
probed step it measures

- the counting bias (:class:`lmmcl.eval.probe.CountingBiasProbe`): number-token mass on counting prompts
  (``target``) and on other prompts (``heldout``, "Describe the image.");
- the layer contribution (:func:`lmmcl.eval.layers.layer_contributions`) of every language-model block,
  tuned vs base, each through its own model's LM head, on the positions that predict answer tokens of
  ``--layer-skill`` test samples (mask shifted by one).

The layer contribution needs the base next to the tuned model: the tool keeps a frozen copy of the base,
twice the weights in memory. Writes ``probe.json``, ``probe.png`` (per recipe: counting bias against steps, then
the MLP and attention contribution per layer, one line per probed step) and TensorBoard events into ``--out``
(default ``logs/probe/<model>``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from lmmcl.atomic import atomic_write
from lmmcl.errors import LmmclError

DEFAULT_STEPS = (1, 10, 100, 1000)


def batches_forever(module: Any, skill: str, size: int, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
    """Training batches of ``skill``, a new seeded order every pass."""
    from lmmcl.data.collate import Collator
    from lmmcl.data.datamodule import SeededShuffle
    from lmmcl.data.skill import get_skill

    data = get_skill(skill).dataset("train", size, seed)
    sampler = SeededShuffle(len(data), seed, per_epoch=True)
    collate = Collator(module.processor, train=True)
    while True:
        yield from DataLoader(data, batch_size=batch_size, sampler=sampler, collate_fn=collate)


def probe_recipe(recipe: str, preset: str, steps: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """Tune ``preset`` with ``recipe`` on counting and measure at ``steps``."""
    from transformers import get_cosine_schedule_with_warmup

    from lmmcl.eval.layers import answer_batches, layer_contributions
    from lmmcl.eval.probe import CountingBiasProbe
    from lmmcl.train.module import BATCH_META, LMMModule
    from lmmcl.train.recipes import apply_recipe, get_recipe

    torch.manual_seed(args.seed)
    module = LMMModule(preset, lr=args.lr) if args.lr else LMMModule(preset)
    base = copy.deepcopy(module.model).eval()
    model = module.model.train()
    apply_recipe(model, get_recipe(recipe), module.preset.components)
    probe = CountingBiasProbe(n=args.n, counting=[args.skill], seed=args.seed)
    layer_batches = answer_batches(module.processor, args.layer_skill, args.n, args.batch_size, args.seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=module.hparams.lr,
                                  weight_decay=module.hparams.weight_decay)
    last = max(steps)
    scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(module.hparams.warmup_ratio * last), last + 1)
    with warnings.catch_warnings():  # shifted by one on purpose: warmup's step 0 has LR 0, and step 1 is probed
        warnings.filterwarnings("ignore", ".*lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`.*")
        scheduler.step()
    data = batches_forever(module, args.skill, args.train_size, args.batch_size, args.seed)
    points = []
    for step in range(1, last + 1):
        batch = next(data)
        loss = model(**{k: v for k, v in batch.items() if k not in BATCH_META}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # as every lmmcl stage does
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step in steps:
            bias = probe.measure(module)
            layers = layer_contributions(base, model, layer_batches, own_heads=True)["layers"]
            model.train()
            points.append({"step": step, "loss": loss.item(), "counting_bias": bias, "layers": layers})
            print(f"[lmmcl probe] {recipe} step {step}: loss {loss.item():.3f}, number mass on other prompts "
                  f"{bias['heldout']['mass_mean']:.3f}")
    return {"recipe": recipe, "points": points}


def probe_figure(result: dict[str, Any]):
    """Per recipe (row): counting bias vs steps; MLP and attention contribution per layer, a line per step."""
    from matplotlib.figure import Figure

    runs = result["recipes"]
    fig = Figure(figsize=(12, 3 * len(runs)), dpi=110, layout="constrained")
    axes = fig.subplots(len(runs), 3, squeeze=False)
    for row, run in zip(axes, runs):
        steps = [p["step"] for p in run["points"]]
        for group, label in (("target", "counting prompts"), ("heldout", "other prompts")):
            row[0].plot(steps, [p["counting_bias"][group]["mass_mean"] for p in run["points"]], marker="o", label=label)
        row[0].set_xscale("log")
        row[0].set_xlabel("optimizer steps (counting-only tune)")
        row[0].set_ylabel("number-token mass")
        row[0].set_title(f"{run['recipe']}: counting bias", fontsize=10)
        row[0].legend(fontsize=8)
        for ax, block in zip(row[1:], ("mlp", "self_attn")):
            for p in run["points"]:
                ax.plot([row["layer"] for row in p["layers"]], [row[block] for row in p["layers"]], marker=".",
                        label=f"step {p['step']}")
            ax.set_xlabel("language-model layer")
            ax.set_xticks([row["layer"] for row in run["points"][0]["layers"]] if run["points"] else [])
            ax.set_ylabel("||logit change|| on answer tokens")
            ax.set_title(f"{run['recipe']}: {block} contribution", fontsize=10)
            ax.legend(fontsize=7)
    return fig


def write_outputs(out_dir: Path, result: dict[str, Any]) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    atomic_write(out_dir / "probe.json", json.dumps(result, indent=2) + "\n")
    fig = probe_figure(result)
    fig.savefig(out_dir / "probe.png")
    with SummaryWriter(str(out_dir)) as writer:
        for run in result["recipes"]:
            for p in run["points"]:
                for group in ("target", "heldout"):
                    writer.add_scalar(f"probe/{run['recipe']}/{group}/mass_mean",
                                      p["counting_bias"][group]["mass_mean"], global_step=p["step"])
        writer.add_figure("probe/iterations", fig)
    return out_dir / "probe.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="model preset (default: tiny, the pre-trained base)")
    parser.add_argument("--recipes", nargs="+", default=["mlp_gate_up", "sa_proj"])
    parser.add_argument("--steps", nargs="+", type=int, default=list(DEFAULT_STEPS), help="steps to probe at")
    parser.add_argument("--skill", default="count", help="the tuned skill (counting prompts of the probe)")
    parser.add_argument("--layer-skill", default="count", help="skill whose answer tokens the layer contribution reads")
    parser.add_argument("--n", type=int, default=32, help="probe prompts per group and layer-contribution samples")
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, help="learning rate (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="output directory (default: logs/probe/<model>)")
    args = parser.parse_args(argv)
    steps = sorted(set(args.steps))
    try:
        if steps[0] < 1:
            raise LmmclError(f"--steps {steps[0]}: steps count optimizer steps and start at 1.")
        from lmmcl.train.recipes import get_recipe

        for recipe in args.recipes:
            get_recipe(recipe)  # an unknown recipe fails before any training
        result = {"model": args.model, "skill": args.skill, "layer_skill": args.layer_skill, "steps": steps,
                  "recipes": [probe_recipe(r, args.model, steps, args) for r in args.recipes]}
    except (LmmclError, ValueError) as err:
        print(f"lmmcl probe: error: {err}")
        return 2
    path = write_outputs(Path(args.out or Path("logs") / "probe" / args.model), result)
    print(f"[lmmcl probe] {path} (probe.png, TensorBoard events)")
    return 0
