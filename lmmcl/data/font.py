"""A 3×5 pixel font, so the synthetic world can render words and digits without any font file."""

from __future__ import annotations

from PIL import ImageDraw

GLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("###", "#.#", "###", "#.#", "#.#"), "b": ("##.", "#.#", "##.", "#.#", "##."),
    "c": ("###", "#..", "#..", "#..", "###"), "d": ("##.", "#.#", "#.#", "#.#", "##."),
    "e": ("###", "#..", "##.", "#..", "###"), "f": ("###", "#..", "##.", "#..", "#.."),
    "g": ("###", "#..", "#.#", "#.#", "###"), "h": ("#.#", "#.#", "###", "#.#", "#.#"),
    "i": ("###", ".#.", ".#.", ".#.", "###"), "j": ("..#", "..#", "..#", "#.#", "###"),
    "k": ("#.#", "#.#", "##.", "#.#", "#.#"), "l": ("#..", "#..", "#..", "#..", "###"),
    "m": ("#.#", "###", "###", "#.#", "#.#"), "n": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "o": ("###", "#.#", "#.#", "#.#", "###"), "p": ("###", "#.#", "###", "#..", "#.."),
    "q": ("###", "#.#", "#.#", "###", "..#"), "r": ("##.", "#.#", "##.", "#.#", "#.#"),
    "s": ("###", "#..", "###", "..#", "###"), "t": ("###", ".#.", ".#.", ".#.", ".#."),
    "u": ("#.#", "#.#", "#.#", "#.#", "###"), "v": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "w": ("#.#", "#.#", "###", "###", "#.#"), "x": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "y": ("#.#", "#.#", "###", ".#.", ".#."), "z": ("###", "..#", ".#.", "#..", "###"),
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
}


def draw_text(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, fill: tuple[int, int, int],
              scale: int = 1, advance: int = 4) -> None:
    """Draw ``text`` with its top-left corner at (x, y); each glyph is 3×5 pixels times ``scale``."""
    for i, char in enumerate(text.lower()):
        if char not in GLYPHS:
            raise ValueError(f"The pixel font has no glyph for {char!r}; use letters a-z and digits.")
        for row, line in enumerate(GLYPHS[char]):
            for col, bit in enumerate(line):
                if bit == "#":
                    x0, y0 = x + i * advance * scale + col * scale, y + row * scale
                    draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill=fill)


def text_width(text: str, scale: int = 1, advance: int = 4) -> int:
    """Width in pixels of ``text`` as :func:`draw_text` draws it."""
    return ((len(text) - 1) * advance + 3) * scale if text else 0
