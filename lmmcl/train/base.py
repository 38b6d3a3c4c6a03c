"""The base model: a freshly built tiny model first trained on the general-ability world.

The paper tunes models that already have general abilities to lose. The tiny model gets them here:
every recipe trains on the held-out analogs' *train* splits (never their test splits, never a target
skill) until its held-out test scores are far above chance. The result is cached by a hash of the
build and pre-training configs, so it is built once; ``make base`` rebuilds it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmmcl import cpu
from lmmcl.atomic import atomic_dir


def pretrain(src: str | Path, out: str | Path, *, preset: str, skills: list[str], train_size: int,
             test_size: int = 64, epochs: int = 1, batch_size: int = 32, lr: float = 3e-3,
             warmup_ratio: float = 0.05, gradient_clip_val: float | None = 1.0, seed: int = 0,
             accelerator: str = "cpu", val_every: int | None = None, num_workers: int = 0,
             callbacks: list[Any] = (), recipe: str = "full", component_lr: dict[str, float] | None = None,
             train_only: list[str] = (), eval_only: list[str] = ()) -> Path:
    """Train the model in ``src`` on ``skills`` and ``train_only`` (trained, never scored) with the ``recipe``'s
    parameters, score it on ``skills`` and ``eval_only`` (scored, never trained: the target skills before any
    stage), and save it to ``out`` atomically.

    ``component_lr`` gives model components their own LR (e.g. ``{language_model: 1e-4}``).
    ``val_every`` (epochs; default: only after the last) and ``callbacks`` serve learning-curve measurements
    (research/base_levers.py); ``accelerator`` lets such a measurement run on a GPU.
    """
    import lightning as L
    from lightning.pytorch.utilities.seed import isolate_rng

    from lmmcl.data.datamodule import SkillMixture
    from lmmcl.train.module import LMMModule
    from lmmcl.train.progress import LineProgress
    from lmmcl.train.recipes import FreezeRecipe

    out = Path(out)
    with isolate_rng():  # building the base must not shift the caller's random state
        L.seed_everything(seed, verbose=False)
        module = LMMModule(preset, model_path=str(src), lr=lr, warmup_ratio=warmup_ratio, component_lr=component_lr)
        data = SkillMixture(skills, train_size=train_size, test_size=test_size, batch_size=batch_size, seed=seed,
                            num_workers=num_workers, train_only=train_only, eval_only=eval_only)
        trainer = L.Trainer(accelerator=accelerator, devices=1, max_epochs=epochs, logger=False,
                            enable_checkpointing=False, num_sanity_val_steps=0,
                            check_val_every_n_epoch=val_every or epochs, enable_model_summary=False,
                            callbacks=[FreezeRecipe(recipe), LineProgress("base pre-training"), *callbacks],
                            deterministic=accelerator == "cpu", gradient_clip_val=gradient_clip_val,
                            enable_progress_bar=False)  # lines instead: a build is read in logs as often as live
        print(f"[lmmcl] building the base model of {preset!r} ({recipe}): {epochs} epoch(s) over {len(skills)} "
              f"general skills{f' and {len(train_only)} unscored' if train_only else ''} x {train_size} samples "
              f"(once; cached in {out})")
        trainer.fit(module, data)
    scores = {k: round(v, 2) for k, v in module.last_scores.items()}
    held, targets = ({k: v for k, v in scores.items() if k in names} for names in (skills, eval_only))
    chance = {s.name: s.chance for s in data.benchmarks}
    with atomic_dir(out) as tmp:
        module.model.save_pretrained(tmp)
        module.processor.save_pretrained(tmp)
        (tmp / "base_eval.json").write_text(json.dumps({"heldout_test": held, "target_test": targets,
                                                        "chance": chance}, indent=2))
    print(f"[lmmcl] base model held-out test scores: {held}")
    if targets:
        print(f"[lmmcl] base model target test scores (never trained on): {targets}")
    return out


def build_base(src: str | Path, out: str | Path, *, preset: str, threads: int | None = None, **settings: Any) -> Path:
    """:func:`build_phases` with ``threads`` torch threads (restored afterwards; None: as they are).

    Why: the base's weights, and its scores by several points, depend on the thread count (the same config built
    with 1 and 2 threads: held-out mean 73.3 and 69.0), so a preset pins it to make a rebuild reproduce its base.
    """
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return build_phases(src, out, preset=preset, **settings)
    finally:
        torch.set_num_threads(before)


def build_phases(src: str | Path, out: str | Path, *, preset: str, align: dict[str, Any] | None = None,
                 vision_steps: int = 0, vision_lr: float = 1e-3, vision_tasks: Sequence[str] = (),
                 **settings: Any) -> Path:
    """:func:`pretrain` after up to two earlier phases:

    - ``vision_steps``: the vision tower alone learns to name every cell's colour and shape, and with
      ``vision_tasks`` the character or stroke in it (:mod:`lmmcl.models.vision_pretrain`, the miniature's SigLIP
      pre-training);
    - ``align``: the vision tower and projector alone train on the skills (recipe ``align``, ``align``
      overriding ``settings`` such as ``epochs`` and ``lr``), then every parameter on fresh data (seed + 1).

    Why: trained from random weights all at once, the language model settles on each question's answer prior
    within a few hundred steps and the picture never reaches it; a tower that already tells objects apart, or a
    language model frozen while the vision side aligns, lets the picture through
    (docs/history/2026-11-27-why-nothing-binds.md).
    """
    out = Path(out)
    if vision_steps:
        src = vision_pretrained(src, out.with_name(out.name + "-vision"), steps=vision_steps, lr=vision_lr,
                                seed=settings.get("seed", 0), tasks=vision_tasks)
    try:
        if not align:
            return pretrain(src, out, preset=preset, **settings)
        aligned = pretrain(src, out.with_name(out.name + "-align"), preset=preset, recipe="align",
                           **{**settings, **align})
        try:
            return pretrain(aligned, out, preset=preset, **{**settings, "seed": settings.get("seed", 0) + 1})
        finally:
            shutil.rmtree(aligned, ignore_errors=True)
    finally:
        if vision_steps:
            shutil.rmtree(src, ignore_errors=True)


def vision_pretrained(src: str | Path, out: Path, *, steps: int, lr: float, seed: int,
                      tasks: Sequence[str] = ()) -> Path:
    """``src`` with its vision tower pre-trained (:func:`~lmmcl.models.vision_pretrain.pretrain_vision`), saved to
    ``out``."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.models.tiny import save_checkpoint
    from lmmcl.models.vision_pretrain import pretrain_vision

    processor, model = AutoProcessor.from_pretrained(src), AutoModelForImageTextToText.from_pretrained(src)
    print(f"[lmmcl] vision pre-training: {steps} steps naming every cell's object (once; then the base)")
    pretrain_vision(model, processor, steps=steps, lr=lr, seed=seed, tasks=tasks)
    return save_checkpoint(out, model, processor)


# Bases too slow to build inside `make train` ship with the package, made by `make base` (lmmcl base --ship),
# beside the presets they belong to.
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "shipped"


def shipped_path(preset: Any) -> Path:
    """Where ``preset``'s shipped base would be: named like its cache entry, so a config change misses it."""
    return SHIPPED / preset.base_path().name


def ensure_base(preset: Any, shipped: bool = True) -> Path:
    """``preset``'s pre-trained base: the cached one, else a copy of the shipped one (same config hash; only with
    ``shipped``), else built (random-weight build, then :func:`build_base`)."""
    from lmmcl.models.presets import built_checkpoint
    from lmmcl.models.tiny import copy_checkpoint

    base = preset.base_path()
    if (base / "config.json").exists():
        return base
    copy = shipped_path(preset)
    if shipped and (copy / "config.json").exists():
        print(f"[lmmcl] using the shipped base of {preset.name!r} ({copy.name}, made by `make base`)")
        return copy_checkpoint(copy, base)
    build_base(built_checkpoint(preset), base, preset=preset.name, **preset.pretrain)
    return base


# the libraries a base's weights depend on besides torch (constraints.txt pins them for `make install`)
BUILD_LIBRARIES = ("transformers", "tokenizers", "lightning", "numpy", "pillow")


def library_versions() -> dict[str, str]:
    """The installed versions of :data:`BUILD_LIBRARIES`."""
    from importlib.metadata import version

    return {name: version(name) for name in BUILD_LIBRARIES}


def ship(preset: Any) -> Path:
    """Copy ``preset``'s built base into the package (:data:`SHIPPED`), with ``made_by.json`` (preset, config
    hash, build and pre-training configs, held-out scores), atomically; older shipped bases of the preset are
    removed."""
    import torch

    from lmmcl.data.synthetic import WORLD_VERSION

    base, out = preset.base_path(), shipped_path(preset)
    for old in SHIPPED.glob("*/made_by.json"):
        if json.loads(old.read_text()).get("preset") == preset.name and old.parent != out:
            shutil.rmtree(old.parent)
    scores = json.loads((base / "base_eval.json").read_text())
    made_by = {"preset": preset.name, "config_hash": base.name.rsplit("-", 1)[-1], "command": "make base",
               "torch": torch.__version__, "versions": library_versions(), "cpu": cpu.describe(),
               "world": WORLD_VERSION, "build": preset.build, "pretrain": preset.pretrain,
               "heldout_test": scores["heldout_test"], "target_test": scores.get("target_test", {})}
    with atomic_dir(out) as tmp:  # a shipped base is never without its made_by.json
        shutil.copytree(base, tmp, dirs_exist_ok=True)
        (tmp / "made_by.json").write_text(json.dumps(made_by, indent=2) + "\n")
    return out


def main(argv: list[str]) -> int:
    """``lmmcl base [MODEL] [--rebuild] [--ship]``: build (or rebuild) a preset's base model and print its scores."""
    from lmmcl.models.presets import get_preset

    parser = argparse.ArgumentParser(prog="lmmcl base", description=main.__doc__)
    parser.add_argument("model", nargs="?", default="tiny", help="a preset with a `pretrain` section (default: tiny)")
    parser.add_argument("--rebuild", action="store_true",
                        help="delete the cached base model and its random-weight checkpoint (tokenizer included) "
                             "first, and build both from scratch (not from the shipped copy)")
    parser.add_argument("--ship", action="store_true",
                        help=f"copy the base into the package ({SHIPPED}), where a fresh clone's `make train` finds it")
    args = parser.parse_args(argv)
    preset = get_preset(args.model)
    if not preset.pretrain:
        parser.error(f"model {args.model!r} has no `pretrain` section: nothing to build.")
    if args.rebuild:
        # the random-weight checkpoint too: its cache key is the config and world version, not the code, so a
        # checkpoint cached while the world's code changed under one version would make a base no clone can rebuild
        for cached in (preset.base_path(), preset.local_path()):
            shutil.rmtree(cached, ignore_errors=True)
    path = ensure_base(preset, shipped=not args.rebuild)
    print(f"[lmmcl] base model: {path}")
    print((Path(path) / "base_eval.json").read_text())
    if args.ship:
        print(f"[lmmcl] shipped: {ship(preset)}")
    return 0


def describe(preset: Any) -> str:
    return f"{preset.name} base ({preset.base_path()})"
