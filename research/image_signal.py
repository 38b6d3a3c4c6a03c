"""How much do a model's image tokens differ from picture to picture?

For 128 training pictures of a skill, the vision tower's and the projector's tokens: the norm of their mean
(per token position, the part every picture shares) against the mean norm of each picture's deviation from
it (the part that carries the picture). A language model reads its input through RMSNorm, so a shared part
many times the deviation leaves it little to read. docs/history/2026-11-27-binding-the-picture.md holds the runs.

    python -m research.image_signal                       # the tiny preset's random-weight build
    python -m research.image_signal --model DIR --skill shape
"""

from __future__ import annotations

import argparse

import torch


def spread(tokens: torch.Tensor) -> tuple[float, float]:
    """(norm of the per-position mean, mean norm of the deviation from it) of (pictures, tokens, width)."""
    mean = tokens.mean(0)
    return mean.norm(dim=-1).mean().item(), (tokens - mean).norm(dim=-1).mean().item()


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.skill import get_skill
    from lmmcl.models.presets import built_checkpoint, get_preset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="", help="a model directory (default: the tiny preset's random-weight build)")
    p.add_argument("--skill", default="shape")
    p.add_argument("--n", type=int, default=128)
    a = p.parse_args()
    path = a.model or built_checkpoint(get_preset("tiny"))
    processor, model = AutoProcessor.from_pretrained(path), AutoModelForImageTextToText.from_pretrained(path)
    data = get_skill(a.skill).dataset("train", a.n, seed=0)
    images = [data[i].image.convert("RGB") for i in range(a.n)]
    pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        vision = model.model.vision_tower(pixel_values=pixels).last_hidden_state
        projected = model.model.multi_modal_projector(vision)
    for name, tokens in (("vision tower", vision), ("projector", projected)):
        shared, own = spread(tokens)
        print(f"{name}: shared part {shared:.3f}, each picture's own part {own:.3f} (ratio {own / shared:.2f})")


if __name__ == "__main__":
    main()
