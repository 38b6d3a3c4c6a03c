"""The synthetic world: small procedural pictures of coloured shapes on a grid, and questions about them.

Every sample is a pure function of (seed, skill, split, index), so runs are reproducible and nothing is
stored on disk. Train and test never share a picture: each sample has a content *key* (the parameters
that drew it) and a key belongs to exactly one split, by hash.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image, ImageDraw
from torch.utils.data import Dataset

from lmmcl.errors import LmmclError
from lmmcl.data.skill import Sample, Skill, register_skill_type

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 230),
    "yellow": (235, 215, 40), "purple": (150, 50, 190), "orange": (245, 140, 30),
}
SHAPES = ("square", "circle", "triangle", "cross")
PLURALS = {"square": "squares", "circle": "circles", "triangle": "triangles", "cross": "crosses"}
BACKGROUND = (24, 24, 24)
TEST_FRACTION = 0.2
# Part of every built model's cache key (tokenizer corpus, base pre-training data): bump it whenever a
# change alters the generated samples, or a stale cached model would silently be reused.
WORLD_VERSION = 2


@dataclass(frozen=True)
class Obj:
    shape: str
    color: str
    cell: int  # index into the grid, row-major


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

    def box(self, cell: int, margin: int = 1) -> tuple[int, int, int, int]:
        row, col = divmod(cell, self.grid)
        x0, y0 = col * self.cell + margin, row * self.cell + margin
        return x0, y0, x0 + self.cell - 1 - 2 * margin, y0 + self.cell - 1 - 2 * margin

    def shape(self, obj: Obj) -> None:
        x0, y0, x1, y1 = self.box(obj.cell)
        fill = COLORS[obj.color]
        if obj.shape == "square":
            self.draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "circle":
            self.draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "triangle":
            self.draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
        elif obj.shape == "cross":
            mx, my = (x0 + x1) // 2, (y0 + y1) // 2
            self.draw.rectangle((mx - 1, y0, mx + 1, y1), fill=fill)
            self.draw.rectangle((x0, my - 1, x1, my + 1), fill=fill)
        else:
            raise ValueError(f"Unknown shape {obj.shape!r}. Known: {', '.join(SHAPES)}")

    def fill_cell(self, cell: int, color: str, margin: int = 0) -> None:
        self.draw.rectangle(self.box(cell, margin), fill=COLORS[color])


def draw_scene(objects: list[Obj], size: int = 32, grid: int = 4,
               background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    canvas = Canvas(size, grid, background)
    for obj in objects:
        canvas.shape(obj)
    return canvas.image


def random_objects(rng: random.Random, n: int, n_cells: int, shapes=SHAPES, colors=tuple(COLORS)) -> list[Obj]:
    cells = rng.sample(range(n_cells), n)
    return [Obj(rng.choice(shapes), rng.choice(colors), c) for c in cells]


def lettered(options: list[str]) -> str:
    return "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(options))


def split_of(key: Any) -> str:
    digest = int(hashlib.sha1(repr(key).encode()).hexdigest()[:8], 16)
    return "test" if digest / 0xFFFFFFFF < TEST_FRACTION else "train"


@dataclass
class Drawn:
    """What a generator returns: the picture's key (the parameters that drew it), the picture, and the question/answer text."""

    key: Any
    image: Image.Image
    question: str
    answer: str
    answers: list[str] | None = None


class SyntheticDataset(Dataset):
    def __init__(self, skill: "SyntheticSkill", split: str, size: int, seed: int):
        self.skill, self.split, self.size, self.seed = skill, split, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.size:
            raise IndexError(index)
        rng = random.Random(f"{self.seed}:{self.skill.name}:{self.split}:{index}")
        while True:  # rejection: keep only content that belongs to this split
            drawn = self.skill.generate(rng)
            if split_of((self.skill.name, drawn.key)) == self.split:
                break
        return Sample(drawn.image, drawn.question, drawn.answer, list(drawn.answers or []),
                      meta={"skill": self.skill.name, "index": index})


# Generators: name -> function(rng, skill) -> Drawn. Each is one small, readable picture-and-question rule.
GENERATORS: dict[str, Callable[[random.Random, "SyntheticSkill"], Drawn]] = {}


def generator(name: str) -> Callable:
    def wrap(fn: Callable) -> Callable:
        GENERATORS[name] = fn
        return fn

    return wrap


class SyntheticSkill(Skill):
    """A skill drawn by one of :data:`GENERATORS`, configured from configs/skills/<name>.yaml."""

    def __init__(self, name: str, generator: str, metric: str, kind: str = "target", chance: float = 0.0,
                 max_new_tokens: int = 6, image_size: int = 32, grid: int = 4, description: str = "",
                 **params: Any):
        if generator not in GENERATORS:
            raise LmmclError(f"Skill {name!r}: unknown generator {generator!r}. Known: {', '.join(sorted(GENERATORS))}")
        self.name, self.generator, self.metric, self.kind = name, generator, metric, kind
        self.chance, self.max_new_tokens, self.description = chance, max_new_tokens, description
        self.image_size, self.grid, self.params = image_size, grid, params

    def generate(self, rng: random.Random) -> Drawn:
        return GENERATORS[self.generator](rng, self)

    def canvas(self) -> Canvas:
        return Canvas(self.image_size, self.grid)

    def dataset(self, split: str, size: int | None = None, seed: int = 0) -> Dataset:
        if split not in ("train", "test"):
            raise LmmclError(f"Unknown split {split!r} for skill {self.name!r}: use 'train' or 'test'.")
        if size is None or size < 1:
            raise LmmclError(f"Synthetic skill {self.name!r} needs a positive size, got {size!r}.")
        return SyntheticDataset(self, split, size, seed)


register_skill_type("synthetic")(SyntheticSkill)  # its generators: lmmcl.data.skills registers them


def world_fingerprint(skills: list[str], per_split: int = 3) -> str:
    """A hash of the first samples (pixels, question, answers) of each skill's train and test split.

    tests/data/test_synthetic.py pins it per ``WORLD_VERSION``, so a change to the world that forgets to bump
    the version (and would reuse stale cached models) fails a test instead of going unnoticed.
    """
    from lmmcl.data.skill import get_skill

    digest = hashlib.sha1()
    for name in skills:
        for split in ("train", "test"):
            data = get_skill(name).dataset(split, per_split, seed=0)
            for i in range(len(data)):
                s = data[i]
                digest.update(f"{name}|{split}|{s.question}|{s.answer}|{s.answers}".encode())
                digest.update(s.image.convert("RGB").tobytes())
    return digest.hexdigest()[:16]
