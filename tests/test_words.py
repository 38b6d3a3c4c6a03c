"""The repository speaks of the project only: no file names the work periods, trackers or machines it was made
with. pytest's own ``scope="session"`` is the one use of the word allowed."""

from __future__ import annotations

import re

from tests.test_self_contained import ROOT, tracked_files

# Built from parts so that this file does not match itself.
WORDS = re.compile(r"\b(" + "|".join(["sess" + "ions?", "le" + "nt", "submiss" + "ions?"]) + r")\b", re.I)
PATTERNS = [WORDS, re.compile(r"\biss" + r"ue [0-9]+", re.I), re.compile(r"\$" + "OUT" + r"\b")]
ALLOWED = 'scope="' + 'ses' + 'sion"'
VERBATIM = {"LICENSE"}  # the Apache License's own text ("5. Submiss" "ion of Contributions"), never edited


def offending_lines() -> list[str]:
    hits = []
    for path in tracked_files():
        if path.name in VERBATIM:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line.replace(ALLOWED, "")) for p in PATTERNS):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return hits


def test_no_file_speaks_of_anything_but_the_project():
    hits = offending_lines()
    assert not hits, "name the experiment, its date, commit and CPU instead:\n" + "\n".join(hits)


def test_the_check_finds_what_it_looks_for():
    for line in ["the ses" + "sion 3 base", "see iss" + "ue 14", "on a le" + "nt GPU", "before every submis" + "sion",
                 "curves in $" + "OUT/x"]:
        assert any(p.search(line) for p in PATTERNS), line
    assert not any(p.search(("@pytest.fixture(" + ALLOWED + ")").replace(ALLOWED, "")) for p in PATTERNS)
    assert not any(p.search(w) for p in PATTERNS for w in ["excellent", "tissue", "silent", "$" + "OUTPUT"])
