"""Local copies of the paper's benchmarks in their real on-disk format, for the rehearsal (no download).

Each (benchmark, split) gets ``rows`` good records with the real dataset's columns and types (taken from
:mod:`lmmcl.rehearsal.schemas`, cycled), each with a picture drawn here, followed by bad
records of every kind lmmcl must survive: an undecodable image, a missing image, an empty question, a missing
answer; the benchmarks in ``long`` (default: PathVQA, trained and evaluated, and DocVQA) also a question too
long for ``data.max_length``, and those in ``huge`` (default: DocVQA, whose real pages are the largest) a
picture larger than ``max_image_pixels`` (a good record, downscaled when read). Those two are limited to a few
benchmarks because every read of them costs a tenth of a second or more (tokenizing 33,000 words, decoding
18 megapixels), on every evaluation. Written as Parquet (what a hub download or
``Dataset.to_parquet`` gives) under ``<root>/<benchmark>/<split>.parquet``: point ``LMMCL_DATA_DIR`` at root.

With ``page_sizes`` the pictures have the sizes of the real datasets' (:data:`PAGE_SIZES`: DocVQA's scanned pages,
InfoVQA's tall infographics, ChartQA's charts, TextVQA's photos), so that a family's real image processor turns
each into thousands of image tokens, as on the real benchmarks; the other benchmarks keep small pictures.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from lmmcl.rehearsal import schemas

PAPER_SKILLS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock",
                "ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar"]
LONG_WORDS = 33_000  # words in the over-long question: each at least one token, beyond paper.yaml's max_length 32768
HUGE_SIDE = 4200     # a JPEG of 4200 x 4200 pixels: above the 4096^2 max_image_pixels default
# (width, height) of typical pictures of the real datasets: DocVQA's pages are scans of about 1700 x 2200
# (letter size at 200 dpi), InfoVQA's infographics about 1000 pixels wide and three times as tall, ChartQA's
# (Statista) charts 800 x 557, TextVQA's Open Images photos at most 1024 on a side.
PAGE_SIZES = {"docvqa": (1700, 2200), "infovqa": (1000, 3000), "chartqa": (800, 557), "textvqa": (1024, 768),
              "countbench": (1024, 768)}  # CountBench: web photos, sized like TextVQA's
# The counting-bias probe's prompts at real lengths: benchmarks the run does not score (the probe never prompts with
# an item the run scores, and the run scores every item of its own benchmarks' copies)
PROBE_SKILLS = {"counting": "countbench", "other": "ocrbench"}


def picture(rng: random.Random, side: int | tuple[int, int] | None = None, fmt: str = "PNG") -> dict[str, Any]:
    """A locally drawn picture (coloured shapes on a background) as a `datasets.Image` cell; ``side``: its
    side, or (width, height) (default: a random square of 24 to 64 pixels)."""
    width, height = side if isinstance(side, tuple) else (side or rng.randint(24, 64),) * 2
    image = Image.new("RGB", (width, height), tuple(rng.randint(0, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 4)):
        x0, y0 = rng.randint(0, width // 2), rng.randint(0, height // 2)
        box = (x0, y0, x0 + rng.randint(width // 8, width // 2), y0 + rng.randint(height // 8, height // 2))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(rng.randint(0, 255) for _ in range(3)))
    buf = io.BytesIO()
    image.save(buf, fmt)
    return {"bytes": buf.getvalue(), "path": None}


def table(fixture: Any, rows: int, rng: random.Random, broken: dict[str, Any], long: bool = False,
          huge: bool = False, size: tuple[int, int] | None = None):
    """``rows`` good records (pictures of ``size``, default small), then one bad record of each kind the fixture's
    schema allows (an over-long question with ``long``), and with ``huge`` a picture over the pixel bound."""
    import datasets

    wrap = fixture.image
    good = [{**fixture.rows[i % len(fixture.rows)], "image": wrap(picture(rng, size))} for i in range(rows)]
    base = fixture.rows[0]
    bad = [{**base, "image": wrap(broken)}, {**base, "image": None if wrap(1) == 1 else []}]
    if fixture.empty:
        bad.append({**base, "image": wrap(picture(rng)), fixture.empty[0]: fixture.empty[1]})
    bad.append({**base, "image": wrap(picture(rng)), fixture.missing[0]: fixture.missing[1]})
    if long and "question" in base:
        bad.append({**base, "image": wrap(picture(rng)), "question": "why " * LONG_WORDS + base["question"]})
    large = [{**fixture.rows[-1], "image": wrap(picture(rng, HUGE_SIDE, "JPEG"))}] if huge else []
    extra = [{**r, "image": wrap(picture(rng))} for r in fixture.extra_rows]  # rows the config filters out
    features = datasets.Features({"image": fixture.table().features["image"], **fixture.features})
    return datasets.Dataset.from_list(good + bad + large + extra, features=features)


def write_benchmarks(root: str | Path, skills: list[str] = PAPER_SKILLS, rows: int = 24, seed: int = 0,
                     long: tuple[str, ...] = ("pathvqa", "docvqa"), huge: tuple[str, ...] = ("docvqa",),
                     page_sizes: bool = False) -> Path:
    """Write every split of ``skills`` under ``root`` (see the module docstring); returns ``root``."""
    import datasets

    datasets.disable_progress_bars()
    root = Path(root)
    for (skill, split), fixture in schemas.FIXTURES.items():
        if skill in skills:
            rng = random.Random(f"{seed}/{skill}/{split}")
            (root / skill).mkdir(parents=True, exist_ok=True)
            size = PAGE_SIZES.get(skill) if page_sizes else None
            data = table(fixture, rows, rng, schemas.BROKEN, skill in long, skill in huge, size)
            data.to_parquet(str(root / skill / f"{split}.parquet"))
    return root
