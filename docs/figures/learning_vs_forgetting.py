"""Draw the README's figure from the numbers in docs/results/results.md: learning against held-out final per recipe,
the miniature's mean ± std over seeds beside the paper's LLaVA-OneVision-7B headline.

    .venv/bin/python docs/figures/learning_vs_forgetting.py      # rewrites docs/figures/learning_vs_forgetting.png

It reads the first table of results.md whose header starts with "recipe | learning | held-out final": one row per
recipe ("+53.2 ± 2.3" cells) and the row starting "paper", whose cells name each recipe's value ("sa_proj +24.9").
Change the table there and run this again; the figure has no numbers of its own.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results" / "results.md"
NUMBER = r"([+\-−]\d+(?:\.\d+)?)"


def value(text: str) -> float:
    return float(text.replace("−", "-"))


def read_table(path: Path = RESULTS) -> tuple[dict[str, tuple[float, float, float, float]],
                                              dict[str, tuple[float, float]]]:
    """(recipe -> (learning, its std, held-out final, its std), paper recipe -> (learning, held-out final))."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| recipe | learning | held-out final"))
    ours, paper = {}, {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if cells[0].startswith("paper"):
            learn = dict(re.findall(r"(\w[\w ]*?) " + NUMBER, cells[1]))
            final = dict(re.findall(r"(\w[\w ]*?) " + NUMBER, cells[2]))
            paper = {name.strip(): (value(learn[name]), value(final[name])) for name in learn if name in final}
            continue
        pair = [re.fullmatch(NUMBER + r"(?: ± (\d+(?:\.\d+)?))?", c.replace("*", "")) for c in cells[1:3]]
        if all(pair):
            (learned, ls), (f, fs) = (m.groups() for m in pair)
            ours[cells[0]] = (value(learned), float(ls or 0), value(f), float(fs or 0))
    return ours, paper


def draw(out: Path) -> Path:
    from matplotlib.figure import Figure

    ours, paper = read_table()
    fig = Figure(figsize=(6.4, 4.2), dpi=120)
    ax = fig.add_axes((0.11, 0.13, 0.85, 0.78))
    for name, (learn, learn_sd, final, final_sd) in ours.items():
        ax.errorbar(final, learn, xerr=final_sd, yerr=learn_sd, fmt="o", color="tab:blue", capsize=3)
        ax.annotate(name, (final, learn), xytext=(5, 4), textcoords="offset points", color="tab:blue", fontsize=9)
    for name, (learn, final) in paper.items():
        ax.plot(final, learn, "s", mfc="none", color="tab:red")
        ax.annotate(name, (final, learn), xytext=(-6, 5), textcoords="offset points", color="tab:red", fontsize=9,
                    ha="right")
    ax.plot([], [], "o", color="tab:blue", label="the miniature (tiny LMM, synthetic skills), mean ± std over seeds")
    ax.plot([], [], "s", mfc="none", color="tab:red", label="the paper (LLaVA-OneVision-7B, real skills)")
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_xlabel("held-out change after the last stage (points): forgetting to the left")
    ax.set_ylabel("learning on the target skills (points)")
    ax.set_title("Learning against forgetting, per tuning recipe", fontsize=11)
    ax.set_xlim(min(f - sd for _, _, f, sd in ours.values()) - 5, 8)
    ax.set_ylim(0, max(learned + sd for learned, sd, _, _ in ours.values()) + 8)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.savefig(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "learning_vs_forgetting.png")
    print(draw(parser.parse_args().out))


if __name__ == "__main__":
    main()
