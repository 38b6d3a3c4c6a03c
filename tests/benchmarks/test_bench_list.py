"""benchmarks/ holds what `make bench` runs and nothing else, and benchmarks/RESULTS.md reports each of them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def make_bench_scripts() -> set[str]:
    """The modules `make bench` runs: the `$(BENCH) benchmarks.<name>` lines of the Makefile's bench target."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^bench:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no bench target"
    return set(re.findall(r"\$\(BENCH\) benchmarks\.(\w+)", recipe.group(1)))


def scripts() -> set[str]:
    """Every runnable script in benchmarks/ (a module with a __main__ block; shared helpers have none)."""
    return {p.stem for p in BENCH.glob("*.py") if "__main__" in p.read_text()}


def test_make_bench_runs_every_script_in_benchmarks_and_nothing_else():
    ran, present = make_bench_scripts(), scripts()
    assert ran == present, (f"in benchmarks/ but not in make bench: {sorted(present - ran)} (add it to the bench "
                            f"target, or move a one-off probe to research/); in make bench but missing: "
                            f"{sorted(ran - present)}")
    assert not [p.name for p in BENCH.iterdir() if p.suffix not in (".py", ".md") and p.name not in ("results",
                                                                                                   "__pycache__")]


def test_results_md_reports_each_script_and_names_no_other():
    text = (BENCH / "RESULTS.md").read_text()
    sections = set(re.findall(r"^## .*`benchmarks/(\w+)\.py`", text, re.M))
    assert sections == make_bench_scripts(), "one RESULTS.md section per script `make bench` runs"
    # benchmarks/results/: the output folder
    named = set(re.findall(r"(?<![\w/])benchmarks[/.](\w+)", text)) - {"results"}
    assert named <= scripts() | {"common"}, f"RESULTS.md names scripts that are not in benchmarks/: {named - scripts()}"
