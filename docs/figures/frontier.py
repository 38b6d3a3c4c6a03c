"""Draw the README's figure: every recipe's learning-forgetting frontier from the comparison whose summary is
docs/results/data/compare_tiny_summary.json, with the paper's LLaVA-OneVision-7B rows as stars.

    .venv/bin/python docs/figures/frontier.py      # rewrites docs/figures/frontier.png

The frontiers are drawn by the function `lmmcl compare` uses (`lmmcl.tools.figures.frontier_figure`); the paper's
points are read from the table in docs/results/results.md whose header starts "| recipe | learning | held-out
final", column "paper: learning / held-out final" ("+31.8 / −23.3"). The figure has no numbers of its own.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results" / "results.md"
SUMMARY = HERE.parent / "results" / "data" / "compare_tiny_summary.json"
PAPER_COLUMN = "paper: learning / held-out final"
PAIR = re.compile(r"([+\-−]\d+(?:\.\d+)?) / ([+\-−]\d+(?:\.\d+)?)")


def value(text: str) -> float:
    return float(text.replace("−", "-"))


def paper_points(path: Path = RESULTS) -> dict[str, tuple[float, float]]:
    """recipe -> the paper's (learning, held-out final), from the results page's headline table."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| recipe | learning | held-out final"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    column = header.index(PAPER_COLUMN)
    points = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if match := PAIR.search(cells[column]):
            points[cells[0]] = (value(match.group(1)), value(match.group(2)))
    return points


def draw(out: Path, summary_path: Path = SUMMARY, results: Path = RESULTS) -> Path:
    from lmmcl.tools.figures import frontier_figure

    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    fig = frontier_figure(summary["per_budget"], summary["frontiers"], summary["budget"])
    ax = fig.axes[0]
    for recipe, (learning, final) in paper_points(results).items():
        ax.plot(learning, -final, "*", ms=13, color="black", mfc="gold")
        ax.annotate(f"paper {recipe}", (learning, -final), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_title("learning-forgetting frontiers, mean ± std over 3 seeds (filled: default LR; stars: the paper)")
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "frontier.png")
    print(draw(parser.parse_args().out))


if __name__ == "__main__":
    main()
