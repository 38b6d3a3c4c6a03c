"""The documentation's links lead somewhere: every relative link in a Markdown file names a file that exists and,
with a #fragment, a heading of that file."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_self_contained import ROOT, tracked_files

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def markdown_files() -> list[Path]:
    return [p for p in tracked_files() if p.suffix == ".md"]


def test_the_anchor_rule_matches_github():
    assert slug("make compare: recipes side by side") == "make-compare-recipes-side-by-side"
    assert slug("`make train` with longer stages (seed 0)") == "make-train-with-longer-stages-seed-0"


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for path in markdown_files():
        for target in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            name, _, fragment = target.partition("#")
            dest = (path.parent / name).resolve() if name else path
            if not dest.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)
