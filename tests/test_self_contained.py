"""The repository stands alone: nothing in it points at design notes that live outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
OUTSIDE = ["../" + "shared", "DESIGN" + ".md", "DATASETS" + ".md"]


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked sdist): every file below the root
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts]
    return [ROOT / line for line in out.stdout.splitlines() if (ROOT / line).is_file()]


def test_no_file_points_outside_the_repository() -> None:
    hits = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{path.relative_to(ROOT)}: {needle}" for needle in OUTSIDE if needle in text]
    assert not hits, "these files cite notes outside the repository; cite docs/ instead:\n" + "\n".join(hits)


def test_every_docs_path_cited_in_the_repository_exists() -> None:
    cited = set()
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        cited |= {(path.relative_to(ROOT), m) for m in re.findall(r"\bdocs/[\w./-]+\.md\b", text)}
    missing = sorted(f"{src}: {name}" for src, name in cited if not (ROOT / name).is_file())
    assert not missing, "these files cite docs that do not exist:\n" + "\n".join(missing)
