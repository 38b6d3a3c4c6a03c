"""Does a frozen vision tower still tell characters (or stroke directions) apart? A linear probe per cell.

Trains a fresh linear head on a model directory's frozen tower tokens for ``--steps`` batches of
:func:`lmmcl.models.vision_pretrain.glyph_batch` (or ``stroke_batch``) pictures, then prints its accuracy on the
cells that hold a character (stroke) in 256 new pictures, beside the majority class's share.

    python -m benchmarks.tower_probe lmmcl/models/shipped/llava-base-<hash> --task glyph

docs/miniature_measurements.md ("Session 5") holds what it showed.
"""

from __future__ import annotations

import argparse
import random

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.skill import get_skill
    from lmmcl.models.vision_pretrain import TASKS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model directory (a base)")
    p.add_argument("--task", choices=sorted(TASKS), default="glyph")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, processor = AutoModelForImageTextToText.from_pretrained(a.model), AutoProcessor.from_pretrained(a.model)
    tower, skill = model.model.vision_tower.eval(), get_skill("shape")
    pictures, classes = TASKS[a.task]
    head = torch.nn.Linear(model.config.vision_config.hidden_size, classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3)

    def tokens(images):
        with torch.no_grad():
            pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"]
            return tower(pixel_values=pixels).last_hidden_state

    rng = random.Random(0)
    for _ in range(a.steps):
        images, labels = pictures(rng, skill, 32)
        loss = torch.nn.functional.cross_entropy(head(tokens(images)).flatten(0, 1), labels.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    images, labels = pictures(random.Random(99), skill, 256)
    predicted, held = head(tokens(images)).argmax(-1), labels > 0
    accuracy = 100 * (predicted[held] == labels[held]).float().mean().item()
    majority = 100 * labels[held].bincount().max().item() / held.sum().item()
    print(f"{a.model}: {a.task} named in {accuracy:.1f} % of the cells that hold one (majority class {majority:.1f} %)")


if __name__ == "__main__":
    main()
