"""Held-out analogs: general abilities the base model has and the target stages may erode."""

from __future__ import annotations

import random

from lmmcl.data.synthetic import COLORS, SHAPES, Drawn, Obj, SyntheticSkill, draw_scene, generator, random_objects


@generator("color")
def color(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Name the colour of the one object of a given shape (single-word answers)."""
    n = rng.randint(1, len(SHAPES))
    shapes = rng.sample(SHAPES, n)
    cells = rng.sample(range(skill.grid ** 2), n)
    objects = [Obj(s, rng.choice(tuple(COLORS)), c) for s, c in zip(shapes, cells)]
    asked = objects[0]
    image = draw_scene(objects, skill.image_size, skill.grid)
    return Drawn(tuple(objects), image, f"What color is the {asked.shape}?", asked.color)


@generator("exist")
def exist(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Is there a <colour> <shape>? Half the questions are about an object that is present (yes/no answers)."""
    objects = random_objects(rng, rng.randint(1, 4), skill.grid ** 2)
    if rng.random() < 0.5:
        target = rng.choice(objects)
        shape, colour = target.shape, target.color
    else:
        present = {(o.shape, o.color) for o in objects}
        shape, colour = rng.choice([(s, c) for s in SHAPES for c in COLORS if (s, c) not in present])
    answer = "yes" if any(o.shape == shape and o.color == colour for o in objects) else "no"
    image = draw_scene(objects, skill.image_size, skill.grid)
    return Drawn(tuple(objects), image, f"Is there a {colour} {shape} in the image?", answer)
