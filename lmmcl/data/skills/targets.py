"""Target-skill analogs of the paper's five skills: each a picture rule plus its question."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

from lmmcl.data.synthetic import COLORS, PLURALS, SHAPES, Drawn, Obj, SyntheticSkill, generator, jitter, lettered, shade

SPECIES = {  # (head colour, body colour) -> name: fine-grained, every colour appears in several species
    ("red", "blue"): "Scarlet Tanager", ("blue", "red"): "Indigo Bunting",
    ("yellow", "green"): "Golden Warbler", ("green", "yellow"): "Olive Vireo",
    ("purple", "orange"): "Violet Finch", ("orange", "purple"): "Amber Oriole",
    ("red", "green"): "Ruby Kinglet", ("blue", "yellow"): "Azure Jay",
}


@generator("species")
def species(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A 'bird' = head over a two-cell body; its two colours name the species (CUB-200 analog).

    Nuisances: where the bird stands, its size and shades, the backdrop, and a distractor shape beside it.
    With ``gold_species`` (names), only those species are drawn; the options still come from all of them.
    """
    golds = skill.params.get("gold_species")  # an easier version: only these species are ever the answer
    (head, body), name = rng.choice([item for item in SPECIES.items() if not golds or item[1] in golds])
    grid, cell = skill.grid, skill.cell_px
    col, row = rng.randrange(grid - 1), rng.randrange(grid - 1)
    canvas = skill.canvas(rng)
    top = row * grid + col
    shift = cell // 8
    dx, dy = rng.randint(-shift, shift), rng.randint(-shift, shift)
    canvas.shape(Obj("circle", head, top, rng.randint(1, max(1, cell // 6)), dx, dy, shade(rng, head)))
    body_rgb = shade(rng, body)
    canvas.fill_cell(top + grid, body_rgb, margin=1, dx=dx, dy=dy)
    canvas.fill_cell(top + grid + 1, body_rgb, margin=2, dx=dx, dy=dy)
    free = [c for c in range(grid ** 2) if c not in (top, top + 1, top + grid, top + grid + 1)]
    if rng.random() < 0.5:  # a distractor that is not a bird part (never a circle)
        canvas.shape(skill.obj(rng, rng.choice(("triangle", "cross")), rng.choice(tuple(COLORS)), rng.choice(free)))
    n_options = skill.params.get("n_options", 4)
    others = rng.sample([s for s in SPECIES.values() if s != name], n_options - 1)
    options = others[:]
    gold = rng.randrange(n_options)
    options.insert(gold, name)
    letter = chr(65 + gold)
    question = f"Which species is this bird?\n{lettered(options)}\nAnswer with a letter."
    return Drawn(canvas.image, question, letter, [letter, name])


@generator("count")
def count(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """How many of one shape among distractor shapes (PixMo-Count analog)."""
    low, high = skill.params.get("min_count", 1), skill.params.get("max_count", 6)
    n_distractors = skill.params.get("max_distractors", 4)
    shape = rng.choice(SHAPES)
    n = rng.randint(low, high)
    k = rng.randint(0, min(n_distractors, skill.grid ** 2 - n))
    cells = rng.sample(range(skill.grid ** 2), n + k)
    objects = [skill.obj(rng, shape, rng.choice(tuple(COLORS)), c) for c in cells[:n]]
    objects += [skill.obj(rng, rng.choice([s for s in SHAPES if s != shape]), rng.choice(tuple(COLORS)), c)
                for c in cells[n:]]
    question = f"How many {PLURALS[shape]} are in the image? Answer with a number."
    return Drawn(skill.scene(rng, objects), question, str(n))


TISSUE = {"dotted": (200, 120, 170), "striped": (190, 110, 150), "checkered": (210, 140, 180),
          "smooth": (205, 130, 175)}


@generator("pathology")
def pathology(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A tissue-like texture, maybe with a dark lesion; yes/no and open questions (PathVQA analog).

    Nuisances: the stain's shade, the pattern's phase, the lesion's place, size and darkness.
    ``questions``: which of the two question kinds are asked (default both, half each).
    """
    pattern = rng.choice(tuple(TISSUE))
    lesion = rng.random() < 0.5
    size = skill.image_size
    base = jitter(rng, rng.choice(tuple(TISSUE.values())), 14)  # the stain does not tell the pattern
    dark = tuple(max(0, c - rng.randint(80, 100)) for c in base)
    phase = rng.randrange(4)
    y, x = np.mgrid[0:size, 0:size]
    on = {"dotted": ((x + phase) % 4 == 0) & ((y + phase) % 4 == 0), "striped": (y + phase) % 4 < 2,
          "checkered": ((x + phase) // 4 + y // 4) % 2 == 0, "smooth": np.zeros_like(x, dtype=bool)}[pattern]
    pixels = np.where(on[..., None], np.array(dark, np.uint8), np.array(base, np.uint8))
    canvas = skill.canvas()
    canvas.image.paste(Image.fromarray(pixels.astype(np.uint8)))
    if lesion:
        inset = rng.randint(0, max(0, skill.cell_px // 8))
        x0, y0, x1, y1 = canvas.box(rng.randrange(canvas.n_cells), margin=inset)
        canvas.draw.ellipse((x0, y0, x1, y1), fill=(rng.randint(45, 75), rng.randint(10, 30), rng.randint(35, 65)))
    asked = skill.params.get("questions", ("lesion", "pattern"))  # an easier version: the yes/no half only
    if rng.random() < 0.5 and "lesion" in asked or "pattern" not in asked:
        question, answer = "Does this tissue show a lesion? Answer yes or no.", "yes" if lesion else "no"
    else:
        question, answer = "What pattern does this tissue show?", pattern
    return Drawn(canvas.image, question, answer)


WORDS = ("cat", "dog", "sun", "map", "red", "box", "key", "cup", "pen", "hat", "bus", "egg",
         "fox", "ice", "jam", "owl", "zip", "web", "toy", "van", "gem", "lid", "mud", "rug")


@generator("text")
def text(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A three-letter word in the pixel font on a coloured sign (TextVQA analog).

    Nuisances: the sign's colour and shade, where the sign and the word sit, black or white ink, the backdrop.
    With ``column`` (pixels), the letters sit on columns that wide, one letter centred in each: the tiny model's
    8-pixel patches at the 32 pixels it reads are 16 of the 64-pixel picture, and letters cut by a patch edge
    are read far worse (docs/history/2026-11-28-text-stage-and-world-4.md). ``words``: the words drawn (default
    :data:`WORDS`).
    """
    from lmmcl.data.font import draw_text, text_width

    word = rng.choice(skill.params.get("words", WORDS))
    size, scale = skill.image_size, max(2, skill.image_size // 16)
    canvas = skill.canvas(rng)
    height = 5 * scale + 2
    y = rng.randrange(0, size - height + 1)
    paper = shade(rng, rng.choice(tuple(COLORS)))
    canvas.draw.rectangle((0, y, size - 1, y + height - 1), fill=paper)
    free = size - text_width(word, scale)
    column = skill.params.get("column", 0)
    if column:  # the font's advance is 4 * scale: one letter per column when that equals the column
        x = rng.randrange(free // column + 1) * column + (column - 3 * scale) // 2
    else:
        x = rng.randrange(0, free + 1)
    ink = rng.choice(((10, 10, 10), (250, 250, 250)))
    draw_text(canvas.draw, x, y + 1, word, fill=ink, scale=scale)
    return Drawn(canvas.image, "What word is written in the image?", word)


FACES = ((235, 235, 225), (250, 240, 200), (215, 230, 245), (230, 230, 230))  # clock face tints
HANDS = ((200, 30, 30), (30, 60, 200), (20, 130, 40))  # minute hand colours


@generator("clock")
def clock(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """An analog clock face; answer HH:MM (TimeClock analog). Minutes come in steps of ``minute_step``.

    Nuisances: the face's size, place and tint, tick marks or none, the minute hand's colour, the backdrop.
    The hour hand is always the short thick dark one.
    """
    import math

    step = skill.params.get("minute_step", 15)
    hour, minute = rng.randint(1, 12), rng.randrange(0, 60, step)
    canvas = skill.canvas(rng)
    size = skill.image_size
    radius = rng.uniform(0.78, 1.0) * (size - 3) / 2
    cx = cy = size / 2
    room = (size - 3) / 2 - radius
    cx, cy = cx + rng.uniform(-room, room), cy + rng.uniform(-room, room)
    face = jitter(rng, rng.choice(FACES), 10)
    canvas.draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=face, outline=(90, 90, 90))
    if rng.random() < 0.5:  # tick marks at the hours
        for h in range(12):
            a = 2 * math.pi * h / 12
            canvas.draw.point((cx + (radius - 2) * math.sin(a), cy - (radius - 2) * math.cos(a)), fill=(40, 40, 40))
    minute_hand = jitter(rng, rng.choice(HANDS), 20)
    for turns, length, width, colour in (((hour % 12 + minute / 60) / 12, 0.5, max(2, size // 11), (20, 20, 20)),
                                         (minute / 60, 0.85, max(1, size // 32), minute_hand)):
        a = 2 * math.pi * turns
        canvas.draw.line((cx, cy, cx + length * radius * math.sin(a), cy - length * radius * math.cos(a)),
                         fill=colour, width=width)
    question = "What time does the clock show? Answer with the time in HH:MM format."
    return Drawn(canvas.image, question, f"{hour:02d}:{minute:02d}")
