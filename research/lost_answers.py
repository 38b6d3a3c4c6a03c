"""What the held-out answers that a run loses turn into: a wrong answer of the question's own kind, or a foreign one?

For every run of a compare (its records in ``<compare>/jobs/done/``) and every stage after the base, the held-out
test answers that were right at the base (score ≥ 0.5) and are wrong now (< 0.5) are *lost*. A lost answer is
*foreign* when it lies outside the answers that skill's test questions have (for ``caption``: a word outside its
references' words): a digit for a letter question, a word of the text stage for a colour. Foreign answers are the
output shift of the paper's finding (c) taking over the answer format; the others are wrong choices within the
format. Prints, per recipe and stage, the lost answers per run, the foreign share and the commonest lost answers.

    python -m research.lost_answers logs/compare/tiny --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any


def foreign(prediction: str, own: set[str], skill: str) -> bool:
    """Whether ``prediction`` lies outside ``own``, the references of the skill's test questions."""
    if skill == "caption":  # open-ended: foreign when it says a word no reference says
        return not set(prediction.split()) <= {w for r in own for w in r.split()}
    return prediction.strip() not in own


def lost_answers(run: Path) -> list[dict[str, Any]]:
    """Per stage after the base: the lost held-out answers of ``run``, and which of them are foreign."""
    from lmmcl.eval.samples import load_samples

    report = json.loads((run / "report.json").read_text())
    rows = []
    for k, stage in enumerate(report["stages"][1:], start=1):
        lost, strange = 0, collections.Counter()
        for skill in report["heldout"]:
            base = load_samples(run, 0, skill)
            own = {r for sample in base for r in sample["references"]}
            for before, now in zip(base, load_samples(run, k, skill)):
                if before["score"] >= 0.5 > now["score"]:
                    lost += 1
                    if foreign(now["prediction"], own, skill):
                        strange[now["prediction"].strip()] += 1
        rows.append({"stage": stage["name"], "lost": lost, "foreign": sum(strange.values()), "common": strange})
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("compare", type=Path, help="a compare's output folder (with jobs/done/)")
    p.add_argument("--seeds", nargs="*", type=int, default=None,
                   help="only the runs of these seeds (e.g. the reported 0 1 2, not an LR selection's 100)")
    a = p.parse_args(argv)
    runs = collections.defaultdict(list)
    for path in sorted((a.compare / "jobs" / "done").glob("*.json")):
        record = json.loads(path.read_text())
        seed = int(record["args"][record["args"].index("--seed_everything") + 1])
        if a.seeds is None or seed in a.seeds:
            runs[record["row"]["recipe"]].append(Path(record["row"]["run_dir"]))
    for recipe, dirs in sorted(runs.items()):
        per_run = [lost_answers(run) for run in dirs]
        print(f"{recipe} ({len(dirs)} runs)")
        for stage_rows in zip(*per_run):
            lost, strange = sum(r["lost"] for r in stage_rows), sum(r["foreign"] for r in stage_rows)
            common = sum((r["common"] for r in stage_rows), collections.Counter()).most_common(3)
            print(f"  after {stage_rows[0]['stage']:<10} lost {lost / len(dirs):6.1f} per run, foreign "
                  f"{100 * strange / max(lost, 1):5.1f} %  (commonest: {', '.join(f'{w!r} {n}' for w, n in common)})")


if __name__ == "__main__":
    main()
