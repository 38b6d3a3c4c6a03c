"""Bad records: items a benchmark holds but lmmcl cannot use, skipped and counted by reason, never fatal.

Reasons found when a split is built (texts): ``empty_question``, ``missing_answer``, ``bad_answer``. Found when
an item is read or collated: ``missing_image``, ``undecodable_image``, ``too_long`` (prompt + answer over
``data.max_length``: lmmcl never truncates, truncation can cut image tokens). Conversation files add
``no_assistant_turn``, ``image_count_mismatch`` (image placeholders and images differ in number) and, at collate,
``multi_image`` (more images than the model takes per prompt; :mod:`lmmcl.data.conversations`). Read-time reasons
travel with each batch (``batch["bad_records"]``), so they add up across DataLoader workers and ranks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REASONS = ("empty_question", "missing_answer", "bad_answer", "missing_image", "undecodable_image", "too_long",
           "bad_record", "no_assistant_turn", "image_count_mismatch", "multi_image")


@dataclass(frozen=True)
class BadRecord:
    """An item that cannot be used: the collate drops it and counts ``reason``. Falsy, like a missing item."""

    reason: str
    row: int | None = None

    def __bool__(self) -> bool:
        return False


def reason_of(item: object) -> str:
    """The reason a dropped item was bad (``bad_record`` for a bare ``None``)."""
    return item.reason if isinstance(item, BadRecord) else "bad_record"


def merge_counts(*counts: Mapping[str, int]) -> dict[str, int]:
    """Reason -> count, summed, zeros dropped, in :data:`REASONS` order."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    order = sorted(total, key=lambda r: (r not in REASONS, REASONS.index(r) if r in REASONS else 0, r))
    return {r: total[r] for r in order if total[r]}


def as_vector(counts: Mapping[str, int], reasons: Iterable[str] = REASONS) -> list[int]:
    return [int(counts.get(r, 0)) for r in reasons]
