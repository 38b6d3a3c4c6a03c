"""Per answer token, what a recipe's training leaves: teacher-forced loss beside the greedy answer.

Trains what ``--recipe`` selects of a model directory on one skill for ``--steps`` batches of 32 (LR 1e-3,
clipping 1.0), then prints, for the first ``--show`` training samples, each answer piece with its loss (nats)
and the greedy answer. Why: on ``pathology`` the narrow recipes keep a batch loss near 2.2 while their greedy
answers are 85-90 % right (docs/miniature_measurements.md, "Session 5").

    python -m benchmarks.answer_token_loss lmmcl/models/shipped/llava-base-<hash> --skill pathology
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.models.presets import get_preset
    from lmmcl.train.recipes import apply_recipe, get_recipe

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--skill", default="pathology")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--show", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    processor, model = AutoProcessor.from_pretrained(a.model), AutoModelForImageTextToText.from_pretrained(a.model)
    apply_recipe(model, get_recipe(a.recipe), get_preset("tiny").components)
    split = get_skill(a.skill).dataset("train", 4000, seed=0)
    data = [split[i] for i in range(len(split))]
    train, test = Collator(processor, train=True), Collator(processor, train=False)
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    draw = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(a.steps):
        loss = model(**inputs(train([data[i] for i in torch.randint(0, len(data), (32,), generator=draw).tolist()]))).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()
    batch, tokenizer = train(data[:a.show]), processor.tokenizer
    with torch.no_grad():
        out = model(**inputs(batch))
        prompts = test(data[:a.show])
        generated = model.generate(**inputs(prompts), max_new_tokens=8, do_sample=False,
                                   pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    target = batch["labels"][:, 1:]
    losses = torch.nn.functional.cross_entropy(out.logits[:, :-1].transpose(1, 2), target, reduction="none")
    answers = tokenizer.batch_decode(generated[:, prompts["input_ids"].shape[1]:], skip_special_tokens=True)
    print(f"{a.recipe} on {a.skill}, {a.steps} steps: batch loss {out.loss.item():.3f}")
    for row, answer in enumerate(answers):
        keep = target[row] != -100
        pieces = tokenizer.convert_ids_to_tokens(target[row][keep].tolist())
        print(f"  reference {data[row].answer!r}, greedy {answer.strip()!r}: "
              + " ".join(f"{piece}:{x:.2f}" for piece, x in zip(pieces, losses[row][keep].tolist())))


def inputs(batch):
    return {k: v for k, v in batch.items() if k not in ("refs", "questions", "bad_records")}


if __name__ == "__main__":
    main()
