"""How far a model's answer prior is from each skill's answers: the first answer token's rank and logit gap.

Teacher-forced on ``--n`` training samples of each skill: the loss per answer token, and for the first answer
token its median rank among the vocabulary and its mean logit below the top token. A gap of ~10 logits means the
model answers that question with something else at a confidence a narrow recipe has to overturn first
(docs/history/2026-11-28-text-stage-and-world-4.md).

    python -m research.first_answer_token lmmcl/models/shipped/llava-base-<hash> text species count
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.collate import IGNORE_INDEX, Collator
    from lmmcl.data.skill import get_skill
    from research.skill_probe import inputs

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model directory")
    p.add_argument("skills", nargs="+")
    p.add_argument("--n", type=int, default=128, help="training samples per skill")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = AutoModelForImageTextToText.from_pretrained(a.model).eval()
    collate = Collator(AutoProcessor.from_pretrained(a.model), train=True)
    for name in a.skills:
        split = get_skill(name).dataset("train", a.n, seed=3)
        batch = collate([split[i] for i in range(len(split))])
        with torch.no_grad():
            logits = model(**inputs(batch)).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        answer = labels != IGNORE_INDEX
        loss = torch.nn.functional.cross_entropy(logits[answer], labels[answer])
        rows, first = torch.arange(len(labels)), answer.float().argmax(1)
        at_first, token = logits[rows, first], labels[rows, first]
        own = at_first.gather(1, token[:, None])
        rank = (at_first > own).sum(1).float().median().item()
        gap = (at_first.max(1).values - own[:, 0]).mean().item()
        print(f"{name:12s} loss per answer token {loss.item():.2f}; first answer token: median rank {rank:.0f}, "
              f"mean logit gap to the top token {gap:.2f}")


if __name__ == "__main__":
    main()
