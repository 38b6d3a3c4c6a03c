"""Target-skill analogs of the paper's five skills: each a picture rule plus its question."""

from __future__ import annotations

import random

from lmmcl.data.synthetic import COLORS, PLURALS, SHAPES, Drawn, Obj, SyntheticSkill, draw_scene, generator, lettered

SPECIES = {  # (head colour, body colour) -> name: fine-grained, every colour appears in several species
    ("red", "blue"): "Scarlet Tanager", ("blue", "red"): "Indigo Bunting",
    ("yellow", "green"): "Golden Warbler", ("green", "yellow"): "Olive Vireo",
    ("purple", "orange"): "Violet Finch", ("orange", "purple"): "Amber Oriole",
    ("red", "green"): "Ruby Kinglet", ("blue", "yellow"): "Azure Jay",
}


@generator("species")
def species(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A 'bird' = head cell over a two-cell body; its two colours name the species (CUB-200 analog)."""
    (head, body), name = rng.choice(list(SPECIES.items()))
    grid = skill.grid
    col, row = rng.randrange(grid - 1), rng.randrange(grid - 1)
    canvas = skill.canvas()
    top = row * grid + col
    canvas.shape(Obj("circle", head, top))
    canvas.fill_cell(top + grid, body, margin=1)
    canvas.fill_cell(top + grid + 1, body, margin=2)
    n_options = skill.params.get("n_options", 4)
    others = rng.sample([s for s in SPECIES.values() if s != name], n_options - 1)
    options = others[:]
    gold = rng.randrange(n_options)
    options.insert(gold, name)
    letter = chr(65 + gold)
    question = f"Which species is this bird?\n{lettered(options)}\nAnswer with a letter."
    return Drawn((head, body, top), canvas.image, question, letter, [letter, name])


@generator("count")
def count(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """How many of one shape among distractor shapes (PixMo-Count analog)."""
    low, high = skill.params.get("min_count", 1), skill.params.get("max_count", 6)
    n_distractors = skill.params.get("max_distractors", 4)
    shape = rng.choice(SHAPES)
    n = rng.randint(low, high)
    k = rng.randint(0, min(n_distractors, skill.grid ** 2 - n))
    cells = rng.sample(range(skill.grid ** 2), n + k)
    objects = [Obj(shape, rng.choice(tuple(COLORS)), c) for c in cells[:n]]
    objects += [Obj(rng.choice([s for s in SHAPES if s != shape]), rng.choice(tuple(COLORS)), c) for c in cells[n:]]
    image = draw_scene(objects, skill.image_size, skill.grid)
    question = f"How many {PLURALS[shape]} are in the image? Answer with a number."
    return Drawn(tuple(sorted(objects, key=lambda o: o.cell)), image, question, str(n))


TISSUE = {"dotted": (200, 120, 170), "striped": (190, 110, 150), "checkered": (210, 140, 180), "smooth": (205, 130, 175)}


@generator("pathology")
def pathology(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A tissue-like texture, maybe with a dark lesion; yes/no and open questions (PathVQA analog)."""
    pattern = rng.choice(tuple(TISSUE))
    lesion = rng.random() < 0.5
    canvas = skill.canvas()
    size, base = skill.image_size, TISSUE[pattern]
    canvas.draw.rectangle((0, 0, size - 1, size - 1), fill=base)
    dark = tuple(max(0, c - 90) for c in base)
    phase = rng.randrange(4)
    for y in range(size):
        for x in range(size):
            on = {"dotted": (x + phase) % 4 == 0 and (y + phase) % 4 == 0, "striped": (y + phase) % 4 < 2,
                  "checkered": ((x + phase) // 4 + y // 4) % 2 == 0, "smooth": False}[pattern]
            if on:
                canvas.image.putpixel((x, y), dark)
    cell = rng.randrange(canvas.n_cells)
    if lesion:
        x0, y0, x1, y1 = canvas.box(cell, margin=0)
        canvas.draw.ellipse((x0, y0, x1, y1), fill=(60, 20, 50))
    if rng.random() < 0.5:
        question, answer = "Does this tissue show a lesion? Answer yes or no.", "yes" if lesion else "no"
    else:
        question, answer = "What pattern does this tissue show?", pattern
    key = (pattern, cell if lesion else None, phase if pattern != "smooth" else None)  # what is drawn, exactly
    return Drawn(key, canvas.image, question, answer)


WORDS = ("cat", "dog", "sun", "map", "red", "box", "key", "cup", "pen", "hat", "bus", "egg",
         "fox", "ice", "jam", "owl", "zip", "web", "toy", "van", "gem", "lid", "mud", "rug")


@generator("text")
def text(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A three-letter word in the pixel font on a coloured sign (TextVQA analog)."""
    from lmmcl.data.font import draw_text

    word = rng.choice(WORDS)
    ink, paper = rng.sample(tuple(COLORS), 2)
    canvas = skill.canvas()
    y = rng.randrange(0, skill.image_size - 10)
    canvas.draw.rectangle((0, y, skill.image_size - 1, y + 11), fill=COLORS[paper])
    draw_text(canvas.draw, 2, y + 1, word, fill=(250, 250, 250) if ink == paper else (10, 10, 10), scale=2)
    return Drawn((word, paper, y), canvas.image, "What word is written in the image?", word)


@generator("clock")
def clock(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """An analog clock face; answer HH:MM (TimeClock analog). Minutes come in steps of ``minute_step``."""
    import math

    step = skill.params.get("minute_step", 15)
    hour, minute = rng.randint(1, 12), rng.randrange(0, 60, step)
    canvas = skill.canvas()
    size = skill.image_size
    c = (size - 1) / 2
    canvas.draw.ellipse((1, 1, size - 2, size - 2), fill=(235, 235, 225), outline=(90, 90, 90))
    for h in range(12):  # tick marks at the hours
        a = 2 * math.pi * h / 12
        canvas.draw.point((c + (c - 3) * math.sin(a), c - (c - 3) * math.cos(a)), fill=(40, 40, 40))
    for turns, length, width, colour in (((hour % 12 + minute / 60) / 12, 0.5, 3, (20, 20, 20)),
                                         (minute / 60, 0.85, 1, (200, 30, 30))):
        a = 2 * math.pi * turns
        canvas.draw.line((c, c, c + length * c * math.sin(a), c - length * c * math.cos(a)), fill=colour, width=width)
    question = "What time does the clock show? Answer with the time in HH:MM format."
    return Drawn((hour, minute), canvas.image, question, f"{hour:02d}:{minute:02d}")
