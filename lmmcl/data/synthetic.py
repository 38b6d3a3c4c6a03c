"""The synthetic world: small procedural pictures of coloured shapes on a grid, and questions about them.

Every sample is a pure function of (seed, skill, split, index), so runs are reproducible and nothing is
stored on disk. Every picture varies in ways that do not change its answer (an object's size, offset and
shade, the backdrop, distractors, a clock's face, a sign's ink); the split is keyed by the rendered
picture itself, so train and test never share a picture while every answer of a closed set occurs in both
(docs/reference/synthetic_world.md).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw
from torch.utils.data import Dataset

from lmmcl.data.skill_type import Sample, Skill, register_skill_type
from lmmcl.errors import LmmclError

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 230),
    "yellow": (235, 215, 40), "purple": (150, 50, 190), "orange": (245, 140, 30),
}
SHAPES = ("square", "circle", "triangle", "cross")
PLURALS = {"square": "squares", "circle": "circles", "triangle": "triangles", "cross": "crosses"}
BACKGROUND = (24, 24, 24)
TEST_FRACTION = 0.2
IMAGE_SIZE = 64  # every synthetic picture is IMAGE_SIZE x IMAGE_SIZE pixels (a skill YAML may override)
SHADE_SPREAD = 18  # an object's colour is its named colour +- this much per channel: still that colour
# Part of every built model's cache key (tokenizer corpus, base pre-training data): bump it whenever a
# change alters the generated samples, or a stale cached model would silently be reused.
WORLD_VERSION = 5


@dataclass(frozen=True)
class Obj:
    """One shape in one grid cell; ``inset``, ``dx``, ``dy`` and ``rgb`` are nuisances (size, offset, shade)."""

    shape: str
    color: str
    cell: int  # index into the grid, row-major
    inset: int = 1  # margin inside the cell: the larger, the smaller the object
    dx: int = 0
    dy: int = 0
    rgb: tuple[int, int, int] | None = None  # the drawn shade of ``color`` (None: the named colour itself)


def jitter(rng: random.Random, rgb: tuple[int, int, int], spread: int) -> tuple[int, int, int]:
    """``rgb`` moved by up to ``spread`` per channel (clipped to 0..255)."""
    return tuple(min(255, max(0, c + rng.randint(-spread, spread))) for c in rgb)  # type: ignore[return-value]


def shade(rng: random.Random, color: str, spread: int = SHADE_SPREAD) -> tuple[int, int, int]:
    """A shade of the named ``color``: a different picture, the same colour name."""
    return jitter(rng, COLORS[color], spread)


def backdrop(rng: random.Random) -> tuple[int, int, int]:
    """A dark, slightly tinted background, never close to a named colour."""
    level = rng.randint(10, 44)
    return tuple(max(0, level + rng.randint(-6, 6)) for _ in range(3))  # type: ignore[return-value]


def varied(rng: random.Random, shape: str, color: str, cell: int, cell_px: int) -> Obj:
    """An object with random size, offset within its cell and shade (``cell_px``: the cell's side in pixels)."""
    inset = rng.randint(max(1, cell_px // 8), max(1, cell_px // 4))
    move = inset - 1  # keeps a one-pixel gap to the neighbouring cell
    return Obj(shape, color, cell, inset, rng.randint(-move, move), rng.randint(-move, move), shade(rng, color))


class Canvas:
    """A square picture divided into ``grid`` × ``grid`` cells, one object per cell at most."""

    def __init__(self, size: int = 32, grid: int = 4, background: tuple[int, int, int] = BACKGROUND):
        self.size, self.grid = size, grid
        self.cell = size // grid
        self.image = Image.new("RGB", (size, size), background)
        self.draw = ImageDraw.Draw(self.image)

    @property
    def n_cells(self) -> int:
        return self.grid * self.grid

    def box(self, cell: int, margin: int = 1, dx: int = 0, dy: int = 0) -> tuple[int, int, int, int]:
        row, col = divmod(cell, self.grid)
        x0, y0 = col * self.cell + margin + dx, row * self.cell + margin + dy
        return x0, y0, x0 + self.cell - 1 - 2 * margin, y0 + self.cell - 1 - 2 * margin

    def shape(self, obj: Obj) -> None:
        x0, y0, x1, y1 = self.box(obj.cell, obj.inset, obj.dx, obj.dy)
        fill = obj.rgb or COLORS[obj.color]
        if obj.shape == "square":
            self.draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "circle":
            self.draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "triangle":
            self.draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
        elif obj.shape == "cross":
            mx, my, arm = (x0 + x1) // 2, (y0 + y1) // 2, max(1, (x1 - x0) // 6)
            self.draw.rectangle((mx - arm, y0, mx + arm, y1), fill=fill)
            self.draw.rectangle((x0, my - arm, x1, my + arm), fill=fill)
        else:
            raise ValueError(f"Unknown shape {obj.shape!r}. Known: {', '.join(SHAPES)}")

    def fill_cell(self, cell: int, fill: tuple[int, int, int], margin: int = 0, dx: int = 0, dy: int = 0) -> None:
        self.draw.rectangle(self.box(cell, margin, dx, dy), fill=fill)


def draw_scene(objects: list[Obj], size: int = 32, grid: int = 4,
               background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    canvas = Canvas(size, grid, background)
    for obj in objects:
        canvas.shape(obj)
    return canvas.image


def random_objects(rng: random.Random, n: int, skill: SyntheticSkill, shapes=SHAPES,
                   colors=tuple(COLORS)) -> list[Obj]:
    """``n`` objects of random shape and colour in distinct cells of ``skill``'s grid, each varied."""
    cells = rng.sample(range(skill.grid ** 2), n)
    return [skill.obj(rng, rng.choice(shapes), rng.choice(colors), c) for c in cells]


def object_count(rng: random.Random, skill: SyntheticSkill, most: int) -> int:
    """How many objects a scene has: 1 to ``most``, capped by the skill's ``max_objects`` param if set.

    The cap is a curriculum knob (one-object scenes first); without it the draw is ``rng.randint(1, most)``.
    """
    return rng.randint(1, min(most, skill.params.get("max_objects", most)))


def lettered(options: list[str]) -> str:
    return "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(options))


def split_of(key: Any) -> str:
    digest = int(hashlib.sha1(repr(key).encode()).hexdigest()[:8], 16)
    return "test" if digest / 0xFFFFFFFF < TEST_FRACTION else "train"


def picture_split(skill: str, image: Image.Image) -> str:
    """The split a picture belongs to: keyed by its pixels, so every nuisance variation is in the key."""
    return split_of((skill, hashlib.sha1(image.convert("RGB").tobytes()).hexdigest()))


@dataclass
class Drawn:
    """What a generator returns: the picture and its question/answer text."""

    image: Image.Image
    question: str
    answer: str
    answers: list[str] | None = None


class SyntheticDataset(Dataset):
    def __init__(self, skill: SyntheticSkill, split: str, size: int, seed: int):
        self.skill, self.split, self.size, self.seed = skill, split, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.size:
            raise IndexError(index)
        rng = random.Random(f"{self.seed}:{self.skill.name}:{self.split}:{index}")
        while True:  # rejection: keep only content that belongs to this split
            drawn = self.skill.generate(rng)
            if picture_split(self.skill.split_key, drawn.image) == self.split:
                break
        return Sample(drawn.image, drawn.question, drawn.answer, list(drawn.answers or []),
                      meta={"skill": self.skill.name, "index": index})


class DrawnSplit(Dataset):
    """A synthetic split with its samples drawn once, at construction, and kept: a split is a pure function of
    (seed, skill, split, index), so every evaluation after the first reads the same samples without drawing them
    again (a test sample costs ~5 draws: the split keeps only the pictures that hash into it). Each read returns
    its own copy of the sample's lists, so a consumer cannot change what the next evaluation sees."""

    def __init__(self, data: SyntheticDataset):
        self.skill, self.split, self.size, self.seed = data.skill, data.split, data.size, data.seed
        self.samples = [data[i] for i in range(len(data))]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        s = self.samples[index]
        return Sample(s.image, s.question, s.answer, list(s.answers), dict(s.meta))


def drawn_once(data: Dataset) -> Dataset:
    """``data`` as a :class:`DrawnSplit` when it is a synthetic split; any other dataset as it is."""
    return DrawnSplit(data) if isinstance(data, SyntheticDataset) else data


# Generators: name -> function(rng, skill) -> Drawn. Each is one small, readable picture-and-question rule.
GENERATORS: dict[str, Callable[[random.Random, SyntheticSkill], Drawn]] = {}


def generator(name: str) -> Callable:
    def wrap(fn: Callable) -> Callable:
        GENERATORS[name] = fn
        return fn

    return wrap


class SyntheticSkill(Skill):
    """A skill drawn by one of :data:`GENERATORS`, configured from configs/skills/<name>.yaml."""

    def __init__(self, name: str, generator: str, metric: str, kind: str = "target", chance: float = 0.0,
                 max_new_tokens: int = 6, image_size: int = IMAGE_SIZE, grid: int = 4, description: str = "",
                 **params: Any):
        if "params" in params:  # generators read the YAML's own keys: a nested block would be silently ignored
            raise LmmclError(f"Skill {name!r}: write the generator's parameters ({', '.join(params['params'])}) as "
                             f"top-level keys of its YAML, not under `params:`.")
        if generator not in GENERATORS:
            raise LmmclError(f"Skill {name!r}: unknown generator {generator!r}. Known: {', '.join(sorted(GENERATORS))}")
        self.name, self.generator, self.metric, self.kind = name, generator, metric, kind
        self.chance, self.max_new_tokens, self.description = chance, max_new_tokens, description
        self.image_size, self.grid, self.params = image_size, grid, params

    @property
    def split_key(self) -> str:
        """The name its pictures' split is keyed by: ``split_as`` (an easier version of a target skill splits its
        pictures as that target does, so none of its training pictures is one of the target's test pictures),
        else its own name."""
        return self.params.get("split_as", self.name)

    def generate(self, rng: random.Random) -> Drawn:
        return GENERATORS[self.generator](rng, self)

    @property
    def cell_px(self) -> int:
        return self.image_size // self.grid

    def canvas(self, rng: random.Random | None = None) -> Canvas:
        """A blank canvas; with ``rng``, on a random dark backdrop (a nuisance), else on the plain background."""
        return Canvas(self.image_size, self.grid, backdrop(rng) if rng else BACKGROUND)

    def obj(self, rng: random.Random, shape: str, color: str, cell: int) -> Obj:
        """An object of this skill's grid with random size, offset and shade."""
        return varied(rng, shape, color, cell, self.cell_px)

    def scene(self, rng: random.Random, objects: list[Obj]) -> Image.Image:
        """``objects`` drawn on a random backdrop."""
        return draw_scene(objects, self.image_size, self.grid, backdrop(rng))

    def dataset(self, split: str, size: int | None = None, seed: int = 0) -> Dataset:
        if split not in ("train", "test"):
            raise LmmclError(f"Unknown split {split!r} for skill {self.name!r}: use 'train' or 'test'.")
        if size is None or size < 1:
            raise LmmclError(f"Synthetic skill {self.name!r} needs a positive size, got {size!r}.")
        return SyntheticDataset(self, split, size, seed)


register_skill_type("synthetic")(SyntheticSkill)  # its generators: lmmcl.data.skills registers them


def world_fingerprint(skills: list[Skill], per_split: int = 3) -> str:
    """A hash of the first samples (pixels, question, answers) of each skill's train and test split.

    tests/data/test_synthetic.py pins it per ``WORLD_VERSION``, so a change to the world that forgets to bump
    the version (and would reuse stale cached models) fails a test instead of going unnoticed.
    """
    digest = hashlib.sha1()
    for skill in skills:
        for split in ("train", "test"):
            add_samples(digest, skill.name, split, skill.dataset(split, per_split, seed=0))
    return digest.hexdigest()[:16]


def add_samples(digest: Any, name: str, split: str, data: Dataset) -> None:
    """Feed every sample of ``data`` (pixels, question, answers) into ``digest``."""
    for i in range(len(data)):
        s = data[i]
        digest.update(f"{name}|{split}|{s.question}|{s.answer}|{s.answers}".encode())
        digest.update(s.image.convert("RGB").tobytes())


def skill_fingerprint(skill: Skill, seed: int, split: str = "test", n: int = 3) -> dict[str, Any] | None:
    """What a synthetic skill's ``split`` at ``seed`` is a function of: its configuration, the world's version and
    a hash of its first ``n`` samples (so a generator changed without a ``WORLD_VERSION`` bump changes it too).
    None for a skill that is not synthetic (its data can change on disk without any of this changing)."""
    if not isinstance(skill, SyntheticSkill):
        return None
    digest = hashlib.sha1()
    add_samples(digest, skill.name, split, skill.dataset(split, n, seed))
    config = json.loads(json.dumps(vars(skill), sort_keys=True, default=str))
    return {"config": config, "world": WORLD_VERSION, "seed": seed, "split": split, "samples": digest.hexdigest()[:16]}
