"""The base model: a freshly built tiny model first trained on the general-ability world.

The paper tunes models that already have general abilities to lose. The tiny model gets them here:
every recipe trains on the held-out analogs' *train* splits (never their test splits, never a target
skill) until its held-out test scores are far above chance. The result is cached by a hash of the
build and pre-training configs, so it is built once; ``make base`` rebuilds it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def pretrain(src: str | Path, out: str | Path, *, preset: str, skills: list[str], train_size: int,
             test_size: int = 64, epochs: int = 1, batch_size: int = 32, lr: float = 3e-3,
             warmup_ratio: float = 0.05, gradient_clip_val: float | None = 1.0, seed: int = 0,
             accelerator: str = "cpu", val_every: int | None = None, num_workers: int = 0,
             callbacks: list[Any] = (), recipe: str = "full", component_lr: dict[str, float] | None = None) -> Path:
    """Train the model in ``src`` on ``skills`` (the ``recipe``'s parameters) and save it to ``out`` atomically.

    ``component_lr`` gives model components their own LR (e.g. ``{language_model: 1e-4}``).
    ``val_every`` (epochs; default: only after the last) and ``callbacks`` serve learning-curve measurements
    (benchmarks/base_levers.py); ``accelerator`` lets such a measurement run on a GPU.
    """
    import lightning as L
    from lightning.pytorch.utilities.seed import isolate_rng

    from lmmcl.data.datamodule import SkillMixture
    from lmmcl.train.module import LMMModule
    from lmmcl.train.recipes import FreezeRecipe

    out = Path(out)
    with isolate_rng():  # building the base must not shift the caller's random state
        L.seed_everything(seed, verbose=False)
        module = LMMModule(preset, model_path=str(src), lr=lr, warmup_ratio=warmup_ratio, component_lr=component_lr)
        data = SkillMixture(skills, train_size=train_size, test_size=test_size, batch_size=batch_size, seed=seed,
                            num_workers=num_workers)
        trainer = L.Trainer(accelerator=accelerator, devices=1, max_epochs=epochs, logger=False,
                            enable_checkpointing=False, num_sanity_val_steps=0,
                            check_val_every_n_epoch=val_every or epochs, enable_model_summary=False,
                            callbacks=[FreezeRecipe(recipe), *callbacks], deterministic=accelerator == "cpu",
                            gradient_clip_val=gradient_clip_val)
        print(f"[lmmcl] building the base model of {preset!r} ({recipe}): {epochs} epoch(s) over {len(skills)} "
              f"general skills x {train_size} samples (once; cached in {out})")
        trainer.fit(module, data)
    scores = {k: round(v, 2) for k, v in module.last_scores.items()}
    chance = {s.name: s.chance for s in data.benchmarks}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        module.model.save_pretrained(tmp)
        module.processor.save_pretrained(tmp)
        (tmp / "base_eval.json").write_text(json.dumps({"heldout_test": scores, "chance": chance}, indent=2))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"[lmmcl] base model held-out test scores: {scores}")
    return out


def build_base(src: str | Path, out: str | Path, *, preset: str, align: dict[str, Any] | None = None,
               **settings: Any) -> Path:
    """:func:`pretrain` in two phases when ``align`` is given: first the vision tower and projector alone
    (recipe ``align``, ``align`` overriding ``settings`` such as ``epochs`` and ``lr``), then every parameter
    on fresh data (seed + 1).

    Why: trained from random weights all at once, the language model settles on each question's answer prior
    within a few hundred steps and the picture's shape never reaches it (one-object shape stays at chance);
    with the language model frozen first, the same model reads shapes (docs/miniature_measurements.md).
    """
    if not align:
        return pretrain(src, out, preset=preset, **settings)
    out = Path(out)
    aligned = pretrain(src, out.with_name(out.name + "-align"), preset=preset, recipe="align",
                       **{**settings, **align})
    try:
        return pretrain(aligned, out, preset=preset, **{**settings, "seed": settings.get("seed", 0) + 1})
    finally:
        shutil.rmtree(aligned, ignore_errors=True)


def ensure_base(preset: Any) -> Path:
    """``preset``'s pre-trained base, built (random-weight build, then :func:`build_base`) if it is not cached."""
    from lmmcl.models.presets import built_checkpoint

    base = preset.base_path()
    if not (base / "config.json").exists():
        build_base(built_checkpoint(preset), base, preset=preset.name, **preset.pretrain)
    return base


def main(argv: list[str]) -> int:
    """``lmmcl base [MODEL] [--rebuild]``: build (or rebuild) a preset's base model and print its scores."""
    from lmmcl.models.presets import get_preset

    parser = argparse.ArgumentParser(prog="lmmcl base", description=main.__doc__)
    parser.add_argument("model", nargs="?", default="tiny", help="a preset with a `pretrain` section (default: tiny)")
    parser.add_argument("--rebuild", action="store_true", help="delete the cached base model first")
    args = parser.parse_args(argv)
    preset = get_preset(args.model)
    if not preset.pretrain:
        parser.error(f"model {args.model!r} has no `pretrain` section: nothing to build.")
    if args.rebuild and preset.base_path().exists():
        shutil.rmtree(preset.base_path())
    path = ensure_base(preset)
    print(f"[lmmcl] base model: {path}")
    print((Path(path) / "base_eval.json").read_text())
    return 0


def describe(preset: Any) -> str:
    return f"{preset.name} base ({preset.base_path()})"
