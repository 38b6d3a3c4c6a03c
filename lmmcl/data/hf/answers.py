"""Answer transforms: a raw answer cell -> (training target, accepted references), or None when unusable."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from lmmcl.data.hf.source import LETTERS


def answer_texts(value: Any) -> list[str]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [s for s in (str(v).strip() for v in values if v is not None) if s]


def _as_is(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    refs = answer_texts(value)  # a list cell (DocVQA, OCRBench) gives all its answers as references
    return (refs[0], refs) if refs else None


def _most_common(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    refs = answer_texts(value)  # Counter keeps first-seen order among ties: the reference's TextVQA target
    return (Counter(refs).most_common(1)[0][0], refs) if refs else None


def _index_to_letter(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]]:
    letter = LETTERS[int(value)]
    return letter, [letter]


def _count_from_sentence(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    match = re.search(r"\d+", str(value))  # "There are 4 dogs in this image." -> "4"
    return (match.group(), [match.group()]) if match else None


def _count_sentence(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]]:
    count, label = int(value), str(cells["label"]).strip()  # PixMo-Count's training target
    text = f"There {'is' if count == 1 else 'are'} {count} {label} in this image."
    return text, [text]


ANSWER_TRANSFORMS: dict[str, Callable[[Any, dict[str, Any]], tuple[str, list[str]] | None]] = {
    "as_is": _as_is,
    "most_common": _most_common,
    "index_to_letter": _index_to_letter,
    "count_from_sentence": _count_from_sentence,
    "count_sentence": _count_sentence,
}
