"""The miniature's vision pre-training: the tiny SigLIP tower learns to name what stands in every cell.

A 7B LMM starts from a vision tower that already sees (SigLIP was trained on billions of pictures); the tiny
model's tower starts from random weights. This phase gives it that start cheaply and without any skill's data:
random scenes of 0-4 objects drawn with the world's own primitives, and two linear heads on every patch token
that name the colour and the shape of the object in that patch's cell (or "none"). Two heads rather than one
over (colour, shape) pairs, so a token's colour and shape become separate directions that a question word can
pick out. The heads are thrown away; only the tower is kept.

Why (docs/miniature_measurements.md, "Why nothing binds"): from random weights the image tokens differ from
picture to picture by a few per cent of their size, and the language model answers each question's prior.
"""

from __future__ import annotations

import random
from typing import Any

import torch

from lmmcl.errors import LmmclError


def scene_batch(rng: random.Random, skill: Any, size: int) -> tuple[list[Any], torch.Tensor]:
    """``size`` random 0-4 object scenes of ``skill``'s grid and their (cells, 2) colour/shape labels (0: none)."""
    from lmmcl.data.synthetic import COLORS, SHAPES, random_objects

    images, labels = [], []
    for _ in range(size):
        objects = random_objects(rng, rng.randint(0, 4), skill)
        images.append(skill.scene(rng, objects).convert("RGB"))
        label = [[0, 0] for _ in range(skill.grid ** 2)]
        for o in objects:
            label[o.cell] = [1 + list(COLORS).index(o.color), 1 + SHAPES.index(o.shape)]
        labels.append(label)
    return images, torch.tensor(labels)


def pretrain_vision(model: Any, processor: Any, *, steps: int, lr: float = 1e-3, batch_size: int = 32,
                    seed: int = 0, log_every: int = 100) -> dict[str, float]:
    """Train ``model``'s vision tower in place for ``steps`` steps; return the last batch's cell accuracies (%).

    The scenes are the ``shape`` skill's (its grid and picture size); the model must see one patch per cell.
    """
    from lmmcl.data.skill import get_skill
    from lmmcl.data.synthetic import COLORS, SHAPES

    torch.manual_seed(seed)  # the heads' initialisation too: the same tower whoever calls this
    skill = get_skill("shape")
    tower = model.model.vision_tower
    width = model.config.vision_config.hidden_size
    heads = torch.nn.ModuleList([torch.nn.Linear(width, 1 + len(COLORS)), torch.nn.Linear(width, 1 + len(SHAPES))])
    optimizer = torch.optim.AdamW([*tower.parameters(), *heads.parameters()], lr=lr)
    rng, accuracy = random.Random(f"vision-pretrain:{seed}"), {}
    tower.train()
    for step in range(1, steps + 1):
        images, target = scene_batch(rng, skill, batch_size)
        pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"].to(tower.device)
        tokens = tower(pixel_values=pixels).last_hidden_state
        if tokens.shape[1] != skill.grid ** 2:
            raise LmmclError(f"Vision pre-training needs one patch per cell: the tower gives {tokens.shape[1]} "
                             f"tokens for a {skill.grid}x{skill.grid} grid. Set the preset's image_size/patch_size "
                             f"so that image_size / patch_size = {skill.grid}, or leave pretrain.vision_steps at 0.")
        target = target.to(tokens.device)
        logits = [head(tokens) for head in heads]
        loss = sum(torch.nn.functional.cross_entropy(x.flatten(0, 1), target[..., i].flatten())
                   for i, x in enumerate(logits))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracy = {name: 100 * (x.argmax(-1) == target[..., i]).float().mean().item()
                    for i, (name, x) in enumerate(zip(("colour", "shape"), logits))}
        if log_every and (step % log_every == 0 or step == steps):
            print(f"[lmmcl] vision pre-training step {step}/{steps}: loss {loss.item():.3f}, cell accuracy "
                  f"colour {accuracy['colour']:.1f}, shape {accuracy['shape']:.1f}", flush=True)
    return accuracy
