"""Local copies of the paper's benchmarks in their real on-disk format, for the rehearsal (no download).

Each (benchmark, split) gets ``rows`` good records with the real dataset's columns and types (taken from the
loader fixtures in tests/data/test_hf_loaders.py, cycled), each with a picture drawn here, followed by bad
records of every kind lmmcl must survive: an undecodable image, a missing image, an empty question, a missing
answer; the benchmarks in ``long`` (default: PathVQA, trained and evaluated, and DocVQA) also a question too
long for ``data.max_length``, and those in ``huge`` (default: DocVQA, whose real pages are the largest) a
picture larger than ``max_image_pixels`` (a good record, downscaled when read). Those two are limited to a few
benchmarks because every read of them costs a tenth of a second or more (tokenizing 33,000 words, decoding
18 megapixels), on every evaluation. Written as Parquet (what a hub download or
``Dataset.to_parquet`` gives) under ``<root>/<benchmark>/<split>.parquet``: point ``LMMCL_DATA_DIR`` at root.

    python tests/rehearsal/local_benchmarks.py OUT_DIR [--rows 24] [--skills cub200 ai2d ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import random
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PAPER_SKILLS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock",
                "ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar"]
LONG_WORDS = 33_000  # words in the over-long question: each at least one token, beyond paper.yaml's max_length 32768
HUGE_SIDE = 4200     # a JPEG of 4200 x 4200 pixels: above the 4096^2 max_image_pixels default


def _fixtures() -> Any:
    """The real-schema fixtures of the loader tests, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("hf_loader_fixtures", HERE.parent / "data" / "test_hf_loaders.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def picture(rng: random.Random, side: int | None = None, fmt: str = "PNG") -> dict[str, Any]:
    """A locally drawn picture (coloured shapes on a background) as a `datasets.Image` cell."""
    side = side or rng.randint(24, 64)
    image = Image.new("RGB", (side, side), tuple(rng.randint(0, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 4)):
        x0, y0 = rng.randint(0, side // 2), rng.randint(0, side // 2)
        box = (x0, y0, x0 + rng.randint(side // 8, side // 2), y0 + rng.randint(side // 8, side // 2))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(rng.randint(0, 255) for _ in range(3)))
    buf = io.BytesIO()
    image.save(buf, fmt)
    return {"bytes": buf.getvalue(), "path": None}


def table(fixture: Any, rows: int, rng: random.Random, broken: dict[str, Any], long: bool = False,
          huge: bool = False):
    """``rows`` good records, then one bad record of each kind the fixture's schema allows (an over-long question
    with ``long``), and with ``huge`` a picture over the pixel bound."""
    import datasets

    wrap = fixture.image
    good = [{**fixture.rows[i % len(fixture.rows)], "image": wrap(picture(rng))} for i in range(rows)]
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
                     long: tuple[str, ...] = ("pathvqa", "docvqa"), huge: tuple[str, ...] = ("docvqa",)) -> Path:
    """Write every split of ``skills`` under ``root`` (see the module docstring); returns ``root``."""
    import datasets

    datasets.disable_progress_bars()
    fixtures = _fixtures()
    root = Path(root)
    for (skill, split), fixture in fixtures.FIXTURES.items():
        if skill in skills:
            rng = random.Random(f"{seed}/{skill}/{split}")
            (root / skill).mkdir(parents=True, exist_ok=True)
            rows_table = table(fixture, rows, rng, fixtures.BROKEN, skill in long, skill in huge)
            rows_table.to_parquet(str(root / skill / f"{split}.parquet"))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=24, help="good records per split")
    parser.add_argument("--skills", nargs="+", default=PAPER_SKILLS)
    args = parser.parse_args()
    print(f"[rehearsal] benchmarks written to {write_benchmarks(args.out, args.skills, args.rows)}")


if __name__ == "__main__":
    main()
