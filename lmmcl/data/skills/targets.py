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
    question = f"Which species is this bird?\n{lettered(options)}\nAnswer with the option's letter."
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
