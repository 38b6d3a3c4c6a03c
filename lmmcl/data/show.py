"""Look at a skill: a grid of example pictures with their questions and answers.

    lmmcl show count                      # -> logs/skills/count.png
    lmmcl show count clock --n 8 --split test --out /tmp/skills
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import numpy as np
from lightning.pytorch import Callback, LightningModule, Trainer
from PIL import Image, ImageDraw

from lmmcl.data.skill import Skill, get_skill, known_skills

THUMB = 128  # largest side of one picture in a grid, pixels: the canvas never grows with the images


def gallery_split(skill: Skill) -> str:
    """The split a gallery shows: ``train`` where the skill has one, else ``test`` (held-out benchmarks)."""
    return "train" if "train" in skill.splits() else "test"


def skill_grid(skill: str | Skill, n: int = 8, split: str = "train", seed: int = 0, cols: int = 4, scale: int = 4,
               thumb: int = THUMB) -> Image.Image:
    """``n`` samples of ``skill`` (a name, a skill file or a skill) as one picture: each image enlarged ``scale``
    times (thumbnails of at most ``thumb`` pixels), its question and answer below."""
    skill = get_skill(skill) if isinstance(skill, str) else skill
    name = skill.name
    data = skill.dataset(split, n, seed)
    samples = [data[i] for i in range(min(n, len(data)))]
    samples = [s for s in samples if s]
    side = min(max((s.image.width for s in samples), default=1) * scale, thumb)
    text_h, pad = 84, 6
    rows = (len(samples) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * (side + pad) + pad, rows * (side + text_h + pad) + pad + 16), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 2), f"skill: {name} ({split})", fill=(0, 0, 0))
    for i, sample in enumerate(samples):
        x, y = pad + (i % cols) * (side + pad), 16 + pad + (i // cols) * (side + text_h + pad)
        picture = sample.image.convert("RGB")
        picture.thumbnail((side, side))  # shrink a large picture, keep its aspect
        canvas.paste(picture.resize((side, side), Image.NEAREST) if max(picture.size) < side else picture, (x, y))
        lines = [line for part in sample.question.split("\n") for line in textwrap.wrap(part, 22)][:7]
        draw.multiline_text((x, y + side + 2), "\n".join(lines), fill=(40, 40, 40), spacing=1)
        draw.text((x, y + side + text_h - 14), f"-> {sample.answer}", fill=(180, 0, 0))
    return canvas


class SkillGallery(Callback):
    """Log one example grid per skill of the run (targets and held-out) to its loggers, once per run: the
    train split, or the test split of a benchmark that has no train split."""

    def __init__(self, n: int = 8):
        self.n = n

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        from lmmcl.loggers import log_image

        if not trainer.is_global_zero or not trainer.loggers:
            return
        for skill in trainer.datamodule.benchmarks:
            grid = np.asarray(skill_grid(skill, self.n, split=gallery_split(skill)))
            log_image(trainer.loggers, f"skills/{skill.name}", grid)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl show", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("skills", nargs="+", help=f"skill names (known: {', '.join(known_skills())})")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--split", choices=["train", "test"],
                        help="default: train, or test for a benchmark without one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="logs/skills", help="output folder")
    args = parser.parse_args(argv)
    for name in args.skills:
        path = Path(args.out) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        skill_grid(name, args.n, args.split or gallery_split(get_skill(name)), args.seed).save(path)
        print(f"[lmmcl] {name}: {path}")
    return 0
