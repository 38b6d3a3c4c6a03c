"""Base pre-training levers: build a tiny Llava of given sizes, pre-train it, record held-out scores and time.

Each call appends one JSON line to ``--log`` (tag, arguments, seconds, parameters, scores, mean, smallest
margin over chance). ``--src`` continues a previous run's weights with a fresh schedule (a learning curve
in chunks); ``--skills`` narrows the mixture. docs/history/2026-11-27-world-3-first-base.md and
docs/history/2026-11-27-binding-the-picture.md hold the runs made with it.

    python -m research.base_levers --tag e1 --epochs 1 --train-size 1000 --lr 0.002
    python -m research.base_levers --tag e3 --src $LMMCL_CACHE/levers/base-e1 --seed 1 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback


def main() -> None:
    from lmmcl.models.presets import cache_dir, config_hash, get_preset
    from lmmcl.models.tiny import build_tiny
    from lmmcl.train.base import build_base

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tag", required=True)
    p.add_argument("--image-size", type=int, default=64, help="the model's input size (pictures are resized to it)")
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--vision-width", type=int, default=96)
    p.add_argument("--vision-layers", type=int, default=3)
    p.add_argument("--vision-heads", type=int, default=3)
    p.add_argument("--text-width", type=int, default=128)
    p.add_argument("--text-layers", type=int, default=4)
    p.add_argument("--image-norm", type=float, nargs=2, default=None, metavar=("MEAN", "STD"),
                   help="the processor's pixel normalisation (default: the preset's)")
    p.add_argument("--vision-pretrain", type=int, default=0,
                   help="first train the vision tower this many steps to name every cell's object")
    p.add_argument("--vision-lr", type=float, default=0.0, help="the vision phase's LR (default: --lr)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-size", type=int, default=1000)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="data and initialisation seed of the pre-training")
    p.add_argument("--skills", default="", help="comma-separated skills (default: the tiny preset's pretrain skills)")
    p.add_argument("--max-objects", type=int, default=0,
                   help="cap the objects per scene of color/exist/shape/position (a curriculum phase; 0: no cap)")
    p.add_argument("--src", default="", help="continue from this checkpoint instead of building a fresh model")
    p.add_argument("--log", default="research/results/base_levers.jsonl")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 on the shared machine)")
    p.add_argument("--test-size", type=int, default=64, help="test samples per skill")
    p.add_argument("--val-every", type=int, default=0,
                   help="also score the test splits every N epochs and append each to --curve (a learning curve)")
    p.add_argument("--curve", default="research/results/base_curves.jsonl")
    p.add_argument("--accelerator", default="cpu", help="cpu, or gpu on a GPU machine")
    p.add_argument("--workers", type=int, default=0, help="data-loader worker processes")
    p.add_argument("--align-epochs", type=int, default=0,
                   help="first train only the vision tower and projector for this many epochs (0: no such phase)")
    p.add_argument("--align-lr", type=float, default=0.0, help="the alignment phase's LR (default: --lr)")
    p.add_argument("--lm-lr", type=float, default=0.0, help="the language model's own LR (default: --lr)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    preset = get_preset("tiny")
    build = {**preset.build, "image_size": a.image_size, "patch_size": a.patch,
             "vision": {"hidden_size": a.vision_width, "intermediate_size": 2 * a.vision_width,
                        "num_hidden_layers": a.vision_layers, "num_attention_heads": a.vision_heads},
             "text": {**preset.build["text"], "hidden_size": a.text_width, "intermediate_size": 2 * a.text_width,
                      "num_hidden_layers": a.text_layers},
             **({"image_mean": a.image_norm[0], "image_std": a.image_norm[1]} if a.image_norm else {})}
    root = cache_dir() / "levers"
    src = Path(a.src) if a.src else root / f"built-{config_hash(build)}"
    if not (src / "config.json").exists():
        build_tiny(src, **build)
    settings = {**preset.pretrain, "seed": a.seed, "epochs": a.epochs, "train_size": a.train_size, "lr": a.lr,
                "batch_size": a.batch_size, "test_size": a.test_size, "accelerator": a.accelerator,
                "num_workers": a.workers, **({"skills": a.skills.split(",")} if a.skills else {})}
    if a.val_every:
        settings.update(val_every=a.val_every, callbacks=[CurveLog(a.tag, a.curve)])
    if a.max_objects:  # skill objects with the cap (test splits too: the phase is judged on its own scenes)
        settings["skills"] = [capped(name, a.max_objects) for name in settings["skills"]]
    start = time.time()
    if a.lm_lr:
        settings["component_lr"] = {"language_model": a.lm_lr}
    if a.vision_pretrain:
        settings.update(vision_steps=a.vision_pretrain, vision_lr=a.vision_lr or a.lr)
    if a.align_epochs:
        settings["align"] = {"epochs": a.align_epochs, "lr": a.align_lr or a.lr}
    out = build_base(src, root / f"base-{a.tag}", preset="tiny", **settings)
    seconds = time.time() - start
    result = json.loads((out / "base_eval.json").read_text())
    scores = {k: v for k, v in result["heldout_test"].items() if k != "heldout_mean"}
    from safetensors.torch import load_file

    n_params = sum(t.numel() for t in load_file(out / "model.safetensors").values())
    row = {"tag": a.tag, "args": vars(a), "seconds": round(seconds), "params": n_params, "scores": scores,
           "mean": round(sum(scores.values()) / len(scores), 1),
           "min_margin": round(min(scores[k] - result["chance"][k] for k in scores), 1)}
    Path(a.log).parent.mkdir(parents=True, exist_ok=True)
    with open(a.log, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


class CurveLog(Callback):
    """Appends each validation's scores (phase, step, seconds, per skill, mean) to a JSON-lines file."""

    def __init__(self, tag: str, path: str):
        self.tag, self.path = tag, path
        self.start, self.steps_before = time.time(), 0  # steps of earlier phases (one curve over all)

    def on_train_end(self, trainer, module):
        self.steps_before += trainer.global_step

    def on_validation_end(self, trainer, module):
        from lmmcl.train.recipes import freeze_recipe

        scores = {k: round(v, 1) for k, v in module.last_scores.items() if not k.endswith("_mean")}
        chance = {s.name: s.chance for s in module.benchmarks}
        row = {"tag": self.tag, "phase": freeze_recipe(trainer).recipe.name, "epoch": trainer.current_epoch + 1,
               "step": self.steps_before + trainer.global_step, "seconds": round(time.time() - self.start),
               "scores": scores, "mean": round(sum(scores.values()) / len(scores), 1),
               "min_margin": round(min(scores[k] - chance[k] for k in scores), 1)}
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def capped(name: str, max_objects: int):
    """Skill ``name`` with at most ``max_objects`` objects per scene (skills without the knob are unchanged)."""
    from lmmcl.data.skill import get_skill

    skill = get_skill(name)
    skill.params["max_objects"] = max_objects
    return skill


if __name__ == "__main__":
    main()
