"""Question formats: how a row's options join its question -> (options, raw answer)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from lmmcl.data.hf.answers import answer_texts
from lmmcl.data.hf.source import LETTERS, Source


def _plain(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    return [], cells.get("answer")


def _options(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    return [str(o).strip() for o in cells.get("options") or []], cells.get("answer")


def _class_choice(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    label = cells.get("label")
    if blank(label):
        return [], None
    gold = classes[label] if isinstance(label, int) else class_name(label)
    others = rng.sample([c for c in classes if c != gold], min(src.num_choices, len(classes)) - 1)
    at = rng.randrange(len(others) + 1)  # the gold option lands on a uniformly random letter
    return others[:at] + [gold] + others[at:], LETTERS[at]


FORMATS: dict[str, Callable[..., tuple[list[str], Any]]] = {
    "plain": _plain,
    "options": _options,  # options from a list column or several columns (AI2D, SEED-Bench, ScienceQA)
    "class_choice": _class_choice,  # options drawn from the label's classes, seeded per row (CUB-200)
}


def class_name(raw: str) -> str:
    """CUB's "001.Black_footed_Albatross" -> "Black footed Albatross"."""
    return re.sub(r"^\d+\.", "", str(raw)).replace("_", " ").strip()


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, tuple)) and not answer_texts(value))
