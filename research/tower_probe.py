"""Does a frozen vision tower still tell characters (or stroke directions) apart? A linear probe per cell.

Trains a fresh linear head on a model directory's frozen tower tokens for ``--steps`` batches of
:func:`lmmcl.models.vision_pretrain.glyph_batch` (or ``stroke_batch``) pictures, then prints its accuracy on the
cells that hold a character (stroke) in 256 new pictures, beside the majority class's share.

    python -m research.tower_probe lmmcl/models/shipped/llava-base-<hash> --task glyph

``--answers SKILL`` asks instead whether the frozen tower's tokens tell a closed-set skill's answers apart: a
linear and an MLP classifier on all its tokens of a picture (flattened), trained on 6,000 training pictures and
scored on 512 test pictures (``text``: which word is written).

docs/history/2026-11-27-stage-length-and-vision-tasks.md and
docs/history/2026-11-28-text-stage-and-world-4.md hold what it showed.
"""

from __future__ import annotations

import argparse
import random

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.skill import get_skill
    from lmmcl.models.vision_pretrain import TASKS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model directory (a base)")
    p.add_argument("--task", choices=sorted(TASKS), default="glyph")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--answers", default="", metavar="SKILL", help="classify this skill's answers instead")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, processor = AutoModelForImageTextToText.from_pretrained(a.model), AutoProcessor.from_pretrained(a.model)
    tower, skill = model.model.vision_tower.eval(), get_skill("shape")
    if a.answers:
        return answer_probe(tower, processor, get_skill(a.answers), 5000 if a.steps == 600 else a.steps)
    pictures, classes = TASKS[a.task]
    head = torch.nn.Linear(model.config.vision_config.hidden_size, classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3)

    def tokens(images):
        with torch.no_grad():
            pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"]
            return tower(pixel_values=pixels).last_hidden_state

    rng = random.Random(0)
    for _ in range(a.steps):
        images, labels = pictures(rng, skill, 32)
        loss = torch.nn.functional.cross_entropy(head(tokens(images)).flatten(0, 1), labels.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    images, labels = pictures(random.Random(99), skill, 256)
    predicted, held = head(tokens(images)).argmax(-1), labels > 0
    accuracy = 100 * (predicted[held] == labels[held]).float().mean().item()
    majority = 100 * labels[held].bincount().max().item() / held.sum().item()
    print(f"{a.model}: {a.task} named in {accuracy:.1f} % of the cells that hold one (majority class {majority:.1f} %)")


def answer_probe(tower, processor, skill, steps: int) -> None:
    """Linear and MLP classifiers of ``skill``'s answers on the frozen tower's flattened tokens."""
    def tokens(split: str, n: int):
        data = skill.dataset(split, n, seed=0)
        samples = [data[i] for i in range(len(data))]
        with torch.no_grad():
            out = [tower(pixel_values=processor.image_processor([s.image.convert("RGB") for s in samples[i:i + 256]],
                                                                return_tensors="pt")["pixel_values"]).last_hidden_state
                   for i in range(0, len(samples), 256)]
        return torch.cat(out).flatten(1), [s.answer for s in samples]

    (x, train_answers), (x_test, test_answers) = tokens("train", 6000), tokens("test", 512)
    classes = sorted(set(train_answers))
    y, y_test = (torch.tensor([classes.index(t) if t in classes else -1 for t in ts])
                 for ts in (train_answers, test_answers))
    for kind in ("linear", "mlp"):
        torch.manual_seed(0)
        head = (torch.nn.Linear(x.shape[1], len(classes)) if kind == "linear" else
                torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.GELU(),
                                    torch.nn.Linear(256, len(classes))))
        optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
        for _ in range(steps):
            pick = torch.randint(0, len(x), (64,))
            loss = torch.nn.functional.cross_entropy(head(x[pick]), y[pick])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            train_acc = 100 * (head(x[:1000]).argmax(-1) == y[:1000]).float().mean().item()
            test_acc = 100 * (head(x_test).argmax(-1) == y_test).float().mean().item()
        print(f"{skill.name}: {kind} classifier on the frozen tower's tokens: train {train_acc:.1f} %, "
              f"test {test_acc:.1f} % "
              f"(chance {100 / len(classes):.1f} %)")


if __name__ == "__main__":
    main()
