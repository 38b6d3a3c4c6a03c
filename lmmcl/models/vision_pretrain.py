"""The miniature's vision pre-training: the tiny SigLIP tower learns to name what stands in every cell.

A 7B LMM starts from a vision tower that already sees (SigLIP was trained on billions of pictures); the tiny
model's tower starts from random weights. This phase gives it that start cheaply and without any skill's data:
random scenes of 0-4 objects drawn with the world's own primitives, and two linear heads on every patch token
that name the colour and the shape of the object in that patch's cell (or "none"). Two heads rather than one
over (colour, shape) pairs, so a token's colour and shape become separate directions that a question word can
pick out. The heads are thrown away; only the tower is kept.

Why (docs/history/2026-11-27-why-nothing-binds.md): from random weights the image tokens differ from
picture to picture by a few per cent of their size, and the language model answers each question's prior.

With ``tasks``, more heads name: ``glyph``,  the character drawn in every patch (random strings of letters and digits in
the world's pixel font, at the two sizes its skills use), the miniature's counterpart of a tower that has seen
text; ``stroke``, the direction of a line leaving every cell (what clock hands and arrows are made of). Why: a
tower taught only colours and shapes leaves the ``text`` stage unlearnable by any recipe that keeps the tower
frozen (docs/history/2026-11-27-stage-length-and-vision-tasks.md).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from lmmcl.data.collate import IGNORE_INDEX
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


CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def glyph_batch(rng: random.Random, skill: Any, size: int) -> tuple[list[Any], torch.Tensor]:
    """``size`` pictures of random characters and their (cells,) labels: the character whose centre lies in the
    cell (1 + index in :data:`CHARS`), 0 where none does.

    Half are a string of 1-4 characters on a coloured band at the ``text`` skill's size (one character per
    cell column), half single characters in random cells on light paper at the ``document`` skill's size.
    """
    from lmmcl.data.font import draw_text, text_width
    from lmmcl.data.synthetic import COLORS, jitter, shade

    grid, cell, side = skill.grid, skill.cell_px, skill.image_size
    images, labels = [], []
    for _ in range(size):
        canvas, label = skill.canvas(rng), [0] * grid ** 2
        if rng.random() < 0.5:
            scale, text = max(2, side // 16), "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 4)))
            height = 5 * scale + 2
            y = rng.randrange(0, side - height + 1)
            x = rng.randrange(0, side - text_width(text, scale) + 1)
            canvas.draw.rectangle((0, y, side - 1, y + height - 1), fill=shade(rng, rng.choice(tuple(COLORS))))
            ink = rng.choice(((10, 10, 10), (250, 250, 250)))
            draw_text(canvas.draw, x, y + 1, text, fill=ink, scale=scale)
            for i, char in enumerate(text):  # centres one cell apart
                cx, cy = x + i * 4 * scale + 3 * scale // 2, y + 1 + 5 * scale // 2
                label[(cy // cell) * grid + cx // cell] = 1 + CHARS.index(char)
        else:
            canvas.draw.rectangle((0, 0, side - 1, side - 1), fill=jitter(rng, (240, 240, 235), 12))
            ink, scale = (rng.randint(0, 40),) * 3, max(1, side // 32)
            for c in rng.sample(range(grid ** 2), rng.randint(1, 3)):
                char = rng.choice(CHARS)
                row, col = divmod(c, grid)
                draw_text(canvas.draw, col * cell + rng.randint(0, cell - 3 * scale),
                          row * cell + rng.randint(0, cell - 5 * scale), char, fill=ink, scale=scale)
                label[c] = 1 + CHARS.index(char)
        images.append(canvas.image.convert("RGB"))
        labels.append(label)
    return images, torch.tensor(labels)


DIRECTIONS = 8  # a stroke leaves its cell towards one of 8 compass points


def stroke_batch(rng: random.Random, skill: Any, size: int) -> tuple[list[Any], torch.Tensor]:
    """``size`` pictures of 1-3 straight strokes and their (cells,) labels: 1 + the compass point (0 = up,
    clockwise in eighths) towards which the stroke that starts in the cell runs, 0 where none starts.

    Strokes vary in length (half a cell to two), width, ink and angle (within a sixteenth of a turn); half end
    in an arrowhead: the lines that clock hands and diagram arrows are made of.
    """
    import math

    from lmmcl.data.synthetic import COLORS, jitter, shade

    grid, cell, side = skill.grid, skill.cell_px, skill.image_size
    images, labels = [], []
    for _ in range(size):
        canvas, label = skill.canvas(rng), [0] * grid ** 2
        if rng.random() < 0.5:  # a light face, as behind clock hands
            canvas.draw.rectangle((0, 0, side - 1, side - 1), fill=jitter(rng, (235, 235, 225), 15))
        for c in rng.sample(range(grid ** 2), rng.randint(1, 3)):
            point = rng.randrange(DIRECTIONS)
            angle = 2 * math.pi * (point / DIRECTIONS + rng.uniform(-1, 1) / 32)
            row, col = divmod(c, grid)
            x0 = (col + 0.5) * cell + rng.uniform(-1, 1) * cell / 8
            y0 = (row + 0.5) * cell + rng.uniform(-1, 1) * cell / 8
            length = rng.uniform(0.5, 2.0) * cell
            x1, y1 = x0 + length * math.sin(angle), y0 - length * math.cos(angle)
            ink = rng.choice(((20, 20, 20), (230, 230, 230), shade(rng, rng.choice(tuple(COLORS)))))
            canvas.draw.line((x0, y0, x1, y1), fill=ink, width=rng.randint(1, max(1, cell // 5)))
            if rng.random() < 0.5:
                head = cell / 4
                left, right = angle + 2.6, angle - 2.6
                canvas.draw.polygon([(x1, y1), (x1 + head * math.sin(left), y1 - head * math.cos(left)),
                                     (x1 + head * math.sin(right), y1 - head * math.cos(right))], fill=ink)
            label[c] = 1 + point
        images.append(canvas.image.convert("RGB"))
        labels.append(label)
    return images, torch.tensor(labels)


# Extra naming tasks beyond colour and shape: name -> (picture batches, classes including 'none').
TASKS = {"glyph": (glyph_batch, 1 + len(CHARS)), "stroke": (stroke_batch, 1 + DIRECTIONS)}


def pretrain_vision(model: Any, processor: Any, *, steps: int, lr: float = 1e-3, batch_size: int = 32,
                    seed: int = 0, log_every: int = 100, tasks: Sequence[str] = ()) -> dict[str, float]:
    """Train ``model``'s vision tower in place for ``steps`` steps; return the last batch's cell accuracies (%).

    The scenes are the ``shape`` skill's (its grid and picture size); the model must see one patch per cell.
    ``tasks`` (names in :data:`TASKS`): every step also shows ``batch_size // 2`` pictures of each to a head of
    its own. Each head is scored on its own pictures only ('none' would swamp the rest), and a task's accuracy
    is over the cells that hold something.
    """
    from lmmcl.data.skill import get_skill
    from lmmcl.data.synthetic import COLORS, SHAPES

    torch.manual_seed(seed)  # the heads' initialisation too: the same tower whoever calls this
    skill = get_skill("shape")
    tower = model.model.vision_tower
    width = model.config.vision_config.hidden_size
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise LmmclError(f"Unknown vision pre-training task(s) {unknown}; known: {', '.join(TASKS)}. "
                         f"Fix the preset's pretrain.vision_tasks.")
    heads = torch.nn.ModuleList([torch.nn.Linear(width, 1 + len(COLORS)), torch.nn.Linear(width, 1 + len(SHAPES))]
                                + [torch.nn.Linear(width, TASKS[t][1]) for t in tasks])
    optimizer = torch.optim.AdamW([*tower.parameters(), *heads.parameters()], lr=lr)
    rng, accuracy = random.Random(f"vision-pretrain:{seed}"), {}
    tower.train()
    for step in range(1, steps + 1):
        images, target = scene_batch(rng, skill, batch_size)
        target = torch.cat([target, torch.full((*target.shape[:2], len(tasks)), IGNORE_INDEX)], -1)
        for i, task in enumerate(tasks):
            more, labels = TASKS[task][0](rng, skill, batch_size // 2)
            rows = torch.full((*labels.shape, target.shape[-1]), IGNORE_INDEX)
            rows[..., 2 + i] = labels
            images, target = images + more, torch.cat([target, rows])
        pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"].to(tower.device)
        tokens = tower(pixel_values=pixels).last_hidden_state
        if tokens.shape[1] != skill.grid ** 2:
            raise LmmclError(f"Vision pre-training needs one patch per cell: the tower gives {tokens.shape[1]} "
                             f"tokens for a {skill.grid}x{skill.grid} grid. Set the preset's image_size/patch_size "
                             f"so that image_size / patch_size = {skill.grid}, or leave pretrain.vision_steps at 0.")
        target = target.to(tokens.device)
        logits = [head(tokens) for head in heads]
        loss = sum(torch.nn.functional.cross_entropy(x.flatten(0, 1), target[..., i].flatten(),
                                                     ignore_index=IGNORE_INDEX) for i, x in enumerate(logits))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scored = [target[..., 0] != IGNORE_INDEX, target[..., 1] != IGNORE_INDEX]
        scored += [target[..., 2 + i] > 0 for i in range(len(tasks))]
        accuracy = {name: 100 * (x.argmax(-1) == target[..., i])[scored[i]].float().mean().item()
                    for i, (name, x) in enumerate(zip(("colour", "shape", *tasks), logits))}
        if log_every and (step % log_every == 0 or step == steps):
            print(f"[lmmcl] vision pre-training step {step}/{steps}: loss {loss.item():.3f}, cell accuracy "
                  + ", ".join(f"{k} {v:.1f}" for k, v in accuracy.items()), flush=True)
    return accuracy
