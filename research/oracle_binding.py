"""Can the tiny language model bind a question to one image token when the image tokens are perfect?

The vision side is replaced by an oracle: every image token is a trainable code of what its cell holds (one
code per (colour, shape) pair, or with ``--factor`` a colour code plus a shape code; empty cells share one
code). The tiny preset's language model then learns question kinds over 1-4 object scenes (``--kinds``:
1 = shape of the <colour> object; 2 adds colour of the <shape>; 3 adds is there a <colour> <shape>; 4 adds
where is it), teacher-forced, and reports the loss and the accuracy of the first answer token on 256 held-out
scenes. No picture is drawn: this measures the language model alone.
docs/history/2026-11-27-binding-the-picture.md holds the runs.

    python -m research.oracle_binding --kinds 4 --lr 3e-4 --factor --steps 1000
"""

from __future__ import annotations

import argparse
import random
import time

import torch

QUESTIONS = ("What shape is the {c} object?", "What color is the {s}?", "Is there a {c} {s} in the image?",
             "Where is the {c} {s} in the image?")
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")


def scene(rng: random.Random, kinds: int) -> tuple[list[tuple[int, int]], str, str]:
    """(per cell (colour id, shape id), 0 = empty), question, answer over a 4x4 grid of 1-4 distinct objects."""
    from lmmcl.data.synthetic import COLORS, SHAPES

    n = rng.randint(1, 4)
    objects = list(zip(rng.sample(SHAPES, n), rng.sample(list(COLORS), n), rng.sample(range(16), n)))
    cells = [(0, 0)] * 16
    for s, c, cell in objects:
        cells[cell] = (1 + list(COLORS).index(c), 1 + SHAPES.index(s))
    s, c, cell = objects[0]
    kind = rng.randrange(kinds)
    if kind == 0:
        return cells, QUESTIONS[0].format(c=c), s
    if kind == 1:
        return cells, QUESTIONS[1].format(s=s), c
    if kind == 2:
        if rng.random() < 0.5:
            return cells, QUESTIONS[2].format(c=c, s=s), "yes"
        present = {(o[0], o[1]) for o in objects}
        s, c = rng.choice([(x, y) for x in SHAPES for y in COLORS if (x, y) not in present])
        return cells, QUESTIONS[2].format(c=c, s=s), "no"
    row, col = divmod(cell, 4)
    return cells, QUESTIONS[3].format(c=c, s=s), QUADRANTS[2 * (row >= 2) + (col >= 2)]


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.collate import IGNORE_INDEX, chat_prompt
    from lmmcl.models.presets import built_checkpoint, get_preset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", type=int, default=1, choices=(1, 2, 3, 4))
    p.add_argument("--factor", action="store_true", help="a colour code plus a shape code per cell")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    path = built_checkpoint(get_preset("tiny"))
    processor, model = AutoProcessor.from_pretrained(path), AutoModelForImageTextToText.from_pretrained(path)
    lm, head, tokenizer = model.model.language_model, model.lm_head, processor.tokenizer
    width = model.config.text_config.hidden_size
    oracle = torch.nn.Embedding(7 * 5 if not a.factor else 7 + 5, width)
    torch.nn.init.normal_(oracle.weight, std=width ** -0.5)
    image_token = tokenizer.convert_tokens_to_ids("<image>")

    def codes(cells):
        if a.factor:
            return oracle(torch.tensor([c for c, _ in cells])) + oracle(torch.tensor([7 + s for _, s in cells]))
        return oracle(torch.tensor([5 * c + s for c, s in cells]))

    def loss_and_logits(batch):
        rows, labels = [], []
        for _, question, answer in batch:
            prompt = tokenizer(chat_prompt(processor, question).replace("<image>", "<image>" * 16),
                               add_special_tokens=False)["input_ids"]
            target = tokenizer(" " + answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            rows.append(prompt + target)
            labels.append([IGNORE_INDEX] * len(prompt) + target)
        w = max(map(len, rows))
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (w - len(r)) for r in rows])
        labels = torch.tensor([x + [IGNORE_INDEX] * (w - len(x)) for x in labels])
        mask = torch.tensor([[1] * len(r) + [0] * (w - len(r)) for r in rows])
        embeds = lm.embed_tokens(ids).clone()
        embeds[ids == image_token] = torch.cat([codes(cells) for cells, _, _ in batch])
        logits = head(lm(inputs_embeds=embeds, attention_mask=mask).last_hidden_state)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten())
        return loss, logits, labels

    rng = random.Random(0)
    test = [scene(random.Random(f"test:{i}"), a.kinds) for i in range(256)]
    params = [*lm.parameters(), *head.parameters(), *oracle.parameters()]
    optimizer = torch.optim.AdamW(params, lr=a.lr)
    start = time.time()
    for step in range(1, a.steps + 1):
        loss, _, _ = loss_and_logits([scene(rng, a.kinds) for _ in range(32)])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        if step % a.every == 0:
            with torch.no_grad():
                test_loss, logits, labels = loss_and_logits(test)
            first = (labels[:, 1:] != IGNORE_INDEX).float().argmax(1)
            rows = torch.arange(len(test))
            accuracy = (logits[rows, first].argmax(-1) == labels[rows, first + 1]).float().mean().item()
            print(f"step {step}: train loss {loss.item():.3f}, test loss {test_loss.item():.3f}, first answer token "
                  f"{100 * accuracy:.1f} %, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
