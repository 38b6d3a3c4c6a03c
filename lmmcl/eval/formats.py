"""The format of an answer: what kind of thing the model replied, whatever its correctness.

Used by the drift monitor (format of the first answer token, now vs at the stage start) and by
``lmmcl samples --diff`` (how an answer changed between two stages, e.g. ``word -> number``).
Formats are checked in the order of :data:`FORMATS`; the first that matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lmmcl.eval.probe import SPACE_MARKERS, is_number_text

YES_NO = frozenset({"yes", "no"})
LETTER = re.compile(r"\(?[A-Ha-h][.):]?")
CLOCK = re.compile(r"\d{1,2}:\d{2}")


def _words(text: str) -> list[str]:
    return text.strip().strip(SPACE_MARKERS).strip().rstrip(".!?").split()


FORMATS: dict[str, Callable[[str], bool]] = {
    "empty": lambda t: not _words(t),
    "clock": lambda t: bool(CLOCK.fullmatch(" ".join(_words(t)))),
    "number": lambda t: len(_words(t)) == 1 and is_number_text(_words(t)[0]),
    "yes_no": lambda t: len(_words(t)) == 1 and _words(t)[0].lower() in YES_NO,
    "letter": lambda t: len(_words(t)) == 1 and bool(LETTER.fullmatch(_words(t)[0])) and _words(t)[0].isupper(),
    "word": lambda t: len(_words(t)) == 1,
    "phrase": lambda t: True,
}


def answer_format(text: str) -> str:
    """One of ``empty``, ``clock``, ``number``, ``yes_no``, ``letter``, ``word``, ``phrase`` (several words)."""
    return next(name for name, test in FORMATS.items() if test(text))
