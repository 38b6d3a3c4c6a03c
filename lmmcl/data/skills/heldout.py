"""Held-out analogs: general abilities the base model has and the target stages may erode."""

from __future__ import annotations

import random

from PIL import ImageDraw

from lmmcl.data.synthetic import (
    COLORS,
    SHAPES,
    Drawn,
    SyntheticSkill,
    draw_scene,
    generator,
    jitter,
    lettered,
    object_count,
    random_objects,
    shade,
)


@generator("color")
def color(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Name the colour of the one object of a given shape (single-word answers)."""
    n = object_count(rng, skill, len(SHAPES))
    shapes = rng.sample(SHAPES, n)
    cells = rng.sample(range(skill.grid ** 2), n)
    objects = [skill.obj(rng, s, rng.choice(tuple(COLORS)), c) for s, c in zip(shapes, cells)]
    asked = objects[0]
    return Drawn(skill.scene(rng, objects), f"What color is the {asked.shape}?", asked.color)


@generator("exist")
def exist(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Is there a <colour> <shape>? Half the questions are about an object that is present (yes/no answers)."""
    objects = random_objects(rng, object_count(rng, skill, 4), skill)
    if rng.random() < 0.5:
        target = rng.choice(objects)
        shape, colour = target.shape, target.color
    else:
        present = {(o.shape, o.color) for o in objects}
        shape, colour = rng.choice([(s, c) for s in SHAPES for c in COLORS if (s, c) not in present])
    answer = "yes" if any(o.shape == shape and o.color == colour for o in objects) else "no"
    return Drawn(skill.scene(rng, objects), f"Is there a {colour} {shape} in the image?", answer)


@generator("shape")
def shape(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Name the shape of the one object of a given colour (single word)."""
    n = object_count(rng, skill, 4)
    colours = rng.sample(tuple(COLORS), n)
    cells = rng.sample(range(skill.grid ** 2), n)
    objects = [skill.obj(rng, rng.choice(SHAPES), c, cell) for c, cell in zip(colours, cells)]
    return Drawn(skill.scene(rng, objects), f"What shape is the {objects[0].color} object?", objects[0].shape)


QUADRANTS = ("top left", "top right", "bottom left", "bottom right")


@generator("position")
def position(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Where is an object: a quadrant as a short phrase (spatial relation, RealWorldQA-like)."""
    objects = random_objects(rng, object_count(rng, skill, 3), skill)
    objects = list({(o.shape, o.color): o for o in objects}.values())  # the asked object must be unique
    asked = objects[0]
    row, col = divmod(asked.cell, skill.grid)
    half = skill.grid // 2
    answer = QUADRANTS[2 * (row >= half) + (col >= half)]
    return Drawn(skill.scene(rng, objects), f"Where is the {asked.color} {asked.shape} in the image?", answer)


@generator("chart")
def chart(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A bar chart of three coloured bars; read one bar's height (number, ChartQA analog).

    Nuisances: bar shades and widths, the backdrop, the axis's grey. One height unit is always the same size.
    """
    colours = rng.sample(tuple(COLORS), 3)
    heights = [rng.randint(1, 7) for _ in colours]
    canvas = skill.canvas(rng)
    size, unit = skill.image_size, (skill.image_size - 4) // 7
    grey = rng.randint(150, 230)
    canvas.draw.line((1, size - 2, size - 2, size - 2), fill=(grey, grey, grey))
    width = (size - 4) // 3
    gap = rng.randint(1, max(1, width // 4))
    for i, (colour, h) in enumerate(zip(colours, heights)):
        x0 = 2 + i * width
        canvas.draw.rectangle((x0 + gap, size - 2 - h * unit, x0 + width - 1 - gap, size - 3), fill=shade(rng, colour))
    asked = rng.randrange(3)
    return Drawn(canvas.image, f"How tall is the {colours[asked]} bar? Answer with a number.", str(heights[asked]))


@generator("document")
def document(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A key-value 'document': rows of a colour swatch and a digit; read a value (DocVQA/InfoVQA analog).

    Nuisances: the paper's tint, the swatches' shades, where the rows start, the ink's darkness.
    """
    from lmmcl.data.font import draw_text

    n_rows = 3
    colours = rng.sample(tuple(COLORS), n_rows)
    values = [rng.randint(0, 9) for _ in colours]
    canvas = skill.canvas()
    size, scale = skill.image_size, max(1, skill.image_size // 32)
    canvas.draw.rectangle((0, 0, size - 1, size - 1), fill=jitter(rng, (240, 240, 235), 12))
    pitch = canvas.cell  # one row of the document per row of cells
    top = rng.randrange(skill.grid - n_rows + 1)
    ink = (rng.randint(0, 40),) * 3
    for i, (colour, value) in enumerate(zip(colours, values)):
        y = (top + i) * pitch + 1
        canvas.draw.rectangle((2, y, 2 + 4 * scale, y + 5 * scale), fill=shade(rng, colour))
        draw_text(canvas.draw, pitch + 2 * scale, y, str(value), fill=ink, scale=scale)
    asked = rng.randrange(n_rows)
    return Drawn(canvas.image, f"What number is written next to the {colours[asked]} box?", str(values[asked]))


ARROWS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


@generator("arrow")
def arrow(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A diagram: an arrow points at one of four shapes; answer its letter (AI2D analog).

    Nuisances: where the diagram sits, the shapes' colours, sizes and offsets, the arrow's grey, the backdrop.
    """
    g = skill.grid
    centre = rng.randrange(1, g - 1) * g + rng.randrange(1, g - 1)
    row, col = divmod(centre, g)
    shapes = list(SHAPES)
    rng.shuffle(shapes)
    objects = [skill.obj(rng, s, rng.choice(tuple(COLORS)), (row + dr) * g + col + dc)
               for s, (dr, dc) in zip(shapes, ARROWS.values())]
    direction = rng.choice(tuple(ARROWS))
    target = objects[list(ARROWS).index(direction)]
    image = skill.scene(rng, objects)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = skill.canvas().box(centre, margin=1)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dr, dc = ARROWS[direction]
    half, head = skill.cell_px * 3 // 8, max(1, skill.cell_px // 8)
    tip = (cx + dc * half, cy + dr * half)
    light = (rng.randint(200, 255),) * 3
    draw.line((cx - dc * half, cy - dr * half, *tip), fill=light, width=max(1, skill.cell_px // 16))
    draw.polygon([tip, (cx + dc * head - dr * 2 * head, cy + dr * head - dc * 2 * head),
                  (cx + dc * head + dr * 2 * head, cy + dr * head + dc * 2 * head)], fill=light)
    options = list(SHAPES)
    rng.shuffle(options)
    letter = chr(65 + options.index(target.shape))
    question = f"Which shape does the arrow point to?\n{lettered(options)}\nAnswer with a letter."
    return Drawn(image, question, letter, [letter, target.shape])


@generator("choice")
def choice(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Which of four colours appears in the picture; answer its letter (MMStar / SEED-Bench analog)."""
    objects = random_objects(rng, rng.randint(1, 3), skill)
    present = {o.color for o in objects}
    absent = [c for c in COLORS if c not in present]
    gold = rng.choice(sorted(present))
    options = rng.sample(absent, 3) + [gold]
    rng.shuffle(options)
    letter = chr(65 + options.index(gold))
    question = f"Which color appears in the image?\n{lettered(options)}\nAnswer with a letter."
    return Drawn(skill.scene(rng, objects), question, letter, [letter, gold])


@generator("caption")
def caption(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Describe the image: the objects in reading order, no numbers (the counting-bias probe's prompt)."""
    objects = sorted(random_objects(rng, rng.randint(1, 3), skill), key=lambda o: o.cell)
    text = " and ".join(f"{o.color} {o.shape}" for o in objects)
    return Drawn(skill.scene(rng, objects), "Describe the image.", text)


@generator("background")
def background(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """Name the background colour of a scene (a whole-picture ability: it also teaches the base model to look).

    Nuisances: the background's shade, and the objects on it (never of its colour).
    """
    colour = rng.choice(tuple(COLORS))
    others = tuple(c for c in COLORS if c != colour)
    objects = random_objects(rng, rng.randint(0, 2), skill, colors=others)
    image = draw_scene(objects, skill.image_size, skill.grid, background=shade(rng, colour))
    return Drawn(image, "What color is the background?", colour)
