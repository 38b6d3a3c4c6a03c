"""The documentation's links lead somewhere: every relative link in a Markdown file names a file that exists and,
with a #fragment, a heading of that file."""

from __future__ import annotations

import json
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


def recipe_rows(path: Path) -> dict[str, list[str]]:
    """The rows of the first table whose header starts "| recipe | learning | held-out final": recipe -> cells."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| recipe | learning | held-out final"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("*", "") for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_readme_headline_table_repeats_the_results_page():
    readme, results = recipe_rows(ROOT / "README.md"), recipe_rows(ROOT / "docs" / "results" / "results.md")
    shown = [r for r in readme if r in results]
    assert shown, "the README's results table shows no recipe of docs/results/results.md's first table"
    differ = {r: (readme[r][:3], results[r][:3]) for r in shown if readme[r][:3] != results[r][:3]}
    assert not differ, f"README vs docs/results/results.md (learning, held-out final, held-out mean): {differ}"


def test_the_readme_figure_is_drawn_from_the_results_data(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("figure", ROOT / "docs" / "figures" / "frontier.py")
    figure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figure)
    summary = json.loads(figure.SUMMARY.read_text(encoding="utf-8"))
    results = recipe_rows(ROOT / "docs" / "results" / "results.md")
    assert set(summary["per_budget"]) == set(results)  # the page's table and the figure come from one comparison
    assert set(figure.paper_points()) == {"llm", "sa_proj", "mlp_gate_up"}
    assert "docs/figures/frontier.png" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert figure.draw(tmp_path / "figure.png").stat().st_size > 10_000


def test_the_results_table_is_the_comparisons_summary():
    """The headline numbers on the results page are the ones the comparison's summary.json holds, rounded."""
    summary = json.loads((ROOT / "docs" / "results" / "data" / "compare_tiny_summary.json").read_text(encoding="utf-8"))
    results = recipe_rows(ROOT / "docs" / "results" / "results.md")
    for row in summary["rows"]:
        shown = [f"{row[k]:+.1f} ± {row[k + '_std']:.1f}".replace("-", "−") for k in ("learning", "heldout_final")]
        assert results[row["recipe"]][:2] == shown, row["recipe"]


def test_every_repository_path_the_docs_cite_exists():
    """Guide, reference, results and READMEs name files that exist (the history records describe their own day)."""
    cited = re.compile(r"\b(?:lmmcl|tests|configs|benchmarks|research)/[\w./-]+\.(?:py|yaml|md|sh)\b")
    missing = [f"{path.relative_to(ROOT)}: {name}"
               for path in markdown_files() if "history" not in path.relative_to(ROOT).parts
               for name in sorted(set(cited.findall(path.read_text(encoding="utf-8")))) if not (ROOT / name).exists()]
    assert not missing, "the docs cite files that do not exist:\n" + "\n".join(missing)
