"""The one table formatter: Markdown tables for reports, aligned plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[str]:
    """``| a | b |`` lines: the header, its ``|---|`` rule, one line per row."""
    return ["| " + " | ".join(map(str, header)) + " |", "|---" * len(header) + "|"] + \
        ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def text_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], right: bool = False) -> str:
    """Aligned plain text with a dashed line under the header; with ``right``, every column but the first is
    right-aligned (numbers)."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(map(len, column)) for column in zip(*cells)]
    cells.insert(1, ["-" * w for w in widths])
    return "\n".join("  ".join(c.rjust(w) if right and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in cells)
