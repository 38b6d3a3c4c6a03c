"""Per answer token, what a recipe's training leaves: teacher-forced loss beside the greedy answer.

Trains what ``--recipe`` selects of a model directory on one skill for ``--steps`` batches of 32 (LR 1e-3,
clipping 1.0), then prints, for the first ``--show`` training samples, each answer piece with its loss (nats)
and the greedy answer. Why: on ``pathology`` the narrow recipes keep a batch loss near 2.2 while their greedy
answers are 85-90 % right (docs/history/2026-11-27-stage-length-and-vision-tasks.md).

    python -m research.answer_token_loss lmmcl/models/shipped/llava-base-<hash> --skill pathology
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.collate import IGNORE_INDEX
    from lmmcl.data.skill import get_skill
    from lmmcl.models.presets import get_preset
    from lmmcl.train.recipes import apply_recipe, get_recipe
    from research.skill_probe import WholeModel, inputs

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--skill", default="pathology")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--show", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(lr=1e-3, lm_lr=0.0, clip=1.0, freeze_lm_steps=0, device="cpu")  # skill_probe's WholeModel
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    processor, model = AutoProcessor.from_pretrained(a.model), AutoModelForImageTextToText.from_pretrained(a.model)
    apply_recipe(model, get_recipe(a.recipe), get_preset("tiny").components)
    split = get_skill(a.skill).dataset("train", 4000, seed=0)
    data = [split[i] for i in range(len(split))]
    probe, draw = WholeModel(model, processor, data, data[:a.show], a), torch.Generator().manual_seed(0)
    model.train()
    for step in range(1, a.steps + 1):
        probe.step([data[i] for i in torch.randint(0, len(data), (32,), generator=draw).tolist()], step)
    _, answers = probe.evaluate()
    model.eval()
    batch, tokenizer = probe.train_collate(data[:a.show]), processor.tokenizer
    with torch.no_grad():
        out = model(**inputs(batch))
    target = batch["labels"][:, 1:]
    losses = torch.nn.functional.cross_entropy(out.logits[:, :-1].transpose(1, 2), target, reduction="none")
    print(f"{a.recipe} on {a.skill}, {a.steps} steps: batch loss {out.loss.item():.3f}")
    for row, answer in enumerate(answers):
        keep = target[row] != IGNORE_INDEX
        pieces = tokenizer.convert_ids_to_tokens(target[row][keep].tolist())
        print(f"  reference {data[row].answer!r}, greedy {answer!r}: "
              + " ".join(f"{piece}:{x:.2f}" for piece, x in zip(pieces, losses[row][keep].tolist())))


if __name__ == "__main__":
    main()
