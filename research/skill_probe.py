"""One skill, raw PyTorch loop: can the model learn it, and where does the learning stop?

Trains a model directory (default: a fresh random-weight tiny build) on one synthetic skill and prints the
test accuracy of greedy answers every ``--every`` steps, with the first answers (a constant answer for every
picture = the model answers the question's prior). Modes:

- ``lmm``: the whole model, or what ``--recipe`` selects (``--freeze-lm-steps N``: the language model frozen
  for the first N steps; ``--lm-lr``: the language model's own LR);
- ``vision-head``: the vision tower plus a linear classifier on its pooled tokens, no language model
  (closed-set skills only): can the picture's property be read at all?

    python -m research.skill_probe --skill shape --max-objects 1 --mode vision-head --steps 1000
    python -m research.skill_probe --skill shape --max-objects 1 --steps 600
    python -m research.skill_probe --skill shape --freeze-lm-steps 300 --steps 900
    python -m research.skill_probe --skill clock --model $LMMCL_CACHE/models/llava-base-<hash> --clip 1
    python -m research.skill_probe --skill text --model lmmcl/models/shipped/llava-base-<hash> \
        --recipe mlp_gate_up --clip 1 --log curves.jsonl --tag mgu_text    # one stage's learning curve

research/stage_curves_gpu.sh runs many of these at once on a GPU machine.

docs/history/README.md lists the records of what these showed.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmmcl.data.skill import get_skill
    from lmmcl.models.presets import built_checkpoint, get_preset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skill", required=True)
    p.add_argument("--max-objects", type=int, default=0, help="cap the objects per scene (0: the skill as it is)")
    p.add_argument("--model", default="", help="a model directory (default: the tiny preset's random-weight build)")
    p.add_argument("--mode", choices=("lmm", "vision-head"), default="lmm")
    p.add_argument("--pool", choices=("mean", "max"), default="mean", help="vision-head: how tokens are pooled")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lm-lr", type=float, default=0.0, help="the language model's LR (default: --lr)")
    p.add_argument("--freeze-lm-steps", type=int, default=0)
    p.add_argument("--clip", type=float, default=0.0, help="gradient-norm clipping (0: none)")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=150)
    p.add_argument("--train-size", type=int, default=6000)
    p.add_argument("--test-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    p.add_argument("--recipe", default="", help="lmm mode: train only what this recipe selects (default: everything)")
    p.add_argument("--log", default="", help="append one JSON line per evaluation to this file")
    p.add_argument("--tag", default="", help="a name for this run in --log")
    p.add_argument("--heldout", nargs="*", default=[], metavar="SKILL",
                   help="lmm mode: also score these skills' test splits (their own metrics, 64 each) at every "
                        "evaluation: what the stage forgets while it learns")
    p.add_argument("--save", default="", help="save the trained model and processor to this directory (a --model "
                                              "for the next probe: one stage after another)")
    p.add_argument("--vision-pretrain", type=int, default=0,
                   help="first train the vision tower this many steps to name each cell's object "
                        "(lmmcl.models.vision_pretrain)")
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    path = a.model or built_checkpoint(get_preset("tiny"))
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path).to(a.device)
    model.train()
    if a.recipe:
        from lmmcl.train.recipes import apply_recipe, get_recipe

        apply_recipe(model, get_recipe(a.recipe), get_preset("tiny").components)
    skill = get_skill(a.skill)
    if a.max_objects:
        skill.params["max_objects"] = a.max_objects
    train_split, test_split = skill.dataset("train", a.train_size, seed=0), skill.dataset("test", a.test_size, seed=0)
    train, test = [train_split[i] for i in range(a.train_size)], [test_split[i] for i in range(a.test_size)]
    if a.vision_pretrain:
        from lmmcl.models.vision_pretrain import pretrain_vision

        pretrain_vision(model, processor, steps=a.vision_pretrain, lr=a.lr)
    probe = (VisionHead if a.mode == "vision-head" else WholeModel)(model, processor, train, test, a)
    if a.heldout and a.mode != "lmm":
        p.error("--heldout scores the language model's answers: use it with --mode lmm")
    heldout = [(h, probe.test_collate([h.dataset("test", 64, seed=0)[i] for i in range(64)]))
               for h in map(get_skill, a.heldout)]  # collated once, scored at every evaluation
    if heldout:
        print("before training: held-out", {h.name: probe.score(h, batch) for h, batch in heldout}, flush=True)
    start, draw = time.time(), torch.Generator().manual_seed(0)
    for step in range(1, a.steps + 1):
        probe.step([train[i] for i in torch.randint(0, len(train), (32,), generator=draw).tolist()], step)
        if step % a.every == 0:
            accuracy, answers = probe.evaluate()
            kept = {h.name: probe.score(h, batch) for h, batch in heldout}
            kept_text = f", held-out mean {sum(kept.values()) / len(kept):.1f} {kept}" if kept else ""
            print(f"step {step}: loss {probe.loss:.3f}, test accuracy {accuracy:.1f}, first answers {answers[:6]}"
                  f"{kept_text}, {time.time() - start:.0f} s", flush=True)
            if a.log:
                with open(a.log, "a") as f:
                    f.write(json.dumps({"tag": a.tag, "skill": a.skill, "recipe": a.recipe or "everything", "lr": a.lr,
                                        "step": step, "loss": probe.loss, "accuracy": accuracy,
                                        "distinct_answers": len(set(answers)), "answers": answers[:8],
                                        "heldout": kept}) + "\n")
    if a.save:
        model.save_pretrained(a.save)
        processor.save_pretrained(a.save)


class WholeModel:
    """The LMM trained on its answers (labels = the answer tokens), scored on greedy answers."""

    def __init__(self, model, processor, train, test, a):
        from lmmcl.data.collate import Collator

        self.model, self.processor, self.a = model, processor, a
        self.train_collate, self.test_collate = Collator(processor, train=True), Collator(processor, train=False)
        self.test_batch = self.test_collate(test)
        lm = [p for n, p in model.named_parameters()
              if p.requires_grad and n.startswith(("language_model", "model.language_model", "lm_head"))]
        rest = [p for p in model.parameters() if p.requires_grad and all(p is not q for q in lm)]
        self.lm = lm
        self.optimizer = torch.optim.AdamW([{"params": rest, "lr": a.lr}, {"params": lm, "lr": a.lm_lr or a.lr}])
        self.loss = float("nan")

    def step(self, samples, step: int) -> None:
        frozen = step <= self.a.freeze_lm_steps
        if self.a.freeze_lm_steps:
            for p in self.lm:
                p.requires_grad_(not frozen)
        batch = self.train_collate(samples)
        loss = self.model(**inputs(batch, self.a.device)).loss
        self.optimizer.zero_grad()
        loss.backward()
        if self.a.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.a.clip)
        self.optimizer.step()
        self.loss = loss.item()

    def evaluate(self):
        answers = self.answers(self.test_batch, 8)
        return 100 * sum(p in refs for p, refs in zip(answers, self.test_batch["refs"])) / len(answers), answers

    @torch.no_grad()
    def answers(self, batch, max_new_tokens: int) -> list[str]:
        from lmmcl.train.module import greedy_answers

        self.model.eval()
        answers = greedy_answers(self.model, self.processor.tokenizer, inputs(batch, self.a.device), max_new_tokens)
        self.model.train()
        return answers

    def score(self, skill, batch) -> float:
        """``skill``'s own metric on greedy answers to a collated test ``batch`` of its samples, in percent."""
        from lmmcl.eval.metrics import build_metric

        metric = build_metric(skill.metric)
        metric.update(self.answers(batch, skill.max_new_tokens), batch["refs"])
        return round(100 * float(metric.compute()), 1)


class VisionHead:
    """The vision tower's pooled tokens into a linear classifier over the training answers: no language model."""

    def __init__(self, model, processor, train, test, a):
        self.tower, self.processor, self.a = model.model.vision_tower, processor, a
        self.classes = sorted({s.answer for s in train})
        self.head = torch.nn.Linear(model.config.vision_config.hidden_size, len(self.classes))
        self.optimizer = torch.optim.AdamW([*self.tower.parameters(), *self.head.parameters()], lr=a.lr)
        self.test = test
        self.loss = float("nan")

    def logits(self, samples):
        pixels = self.processor.image_processor([s.image.convert("RGB") for s in samples], return_tensors="pt")
        tokens = self.tower(pixel_values=pixels["pixel_values"]).last_hidden_state
        return self.head(tokens.mean(1) if self.a.pool == "mean" else tokens.max(1).values)

    def step(self, samples, step: int) -> None:
        target = torch.tensor([self.classes.index(s.answer) for s in samples])
        loss = torch.nn.functional.cross_entropy(self.logits(samples), target)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.loss = loss.item()

    @torch.no_grad()
    def evaluate(self):
        answers = [self.classes[i] for i in self.logits(self.test).argmax(-1).tolist()]
        return 100 * sum(p == s.answer for p, s in zip(answers, self.test)) / len(answers), answers


def inputs(batch, device="cpu"):
    """The model's tensors of a collated batch (not its metadata: :data:`lmmcl.train.module.BATCH_META`)."""
    from lmmcl.train.module import BATCH_META

    return {k: v.to(device) for k, v in batch.items() if k not in BATCH_META}


if __name__ == "__main__":
    main()
