"""A synthetic test split is drawn once per run and kept: every later evaluation reads the same samples."""

import torch

from lmmcl.data.datamodule import SkillDataModule
from lmmcl.data.skill import get_skill
from lmmcl.data.synthetic import DrawnSplit, drawn_once
from lmmcl.models import load_model


def test_a_drawn_split_holds_exactly_the_samples_of_the_split():
    data = get_skill("count").dataset("test", 6, seed=3)
    drawn = drawn_once(data)
    assert isinstance(drawn, DrawnSplit) and len(drawn) == 6
    for i in range(6):
        a, b = data[i], drawn[i]
        assert (a.question, a.answer, a.answers, a.meta) == (b.question, b.answer, b.answers, b.meta)
        assert a.image.tobytes() == b.image.tobytes()
    drawn[0].answers.append("changed")  # a reader changing its copy changes nothing for the next one
    assert drawn[0].answers == data[0].answers
    assert drawn_once(drawn.samples) is drawn.samples  # anything not a synthetic split: as it is


def test_every_evaluation_after_the_first_reads_the_kept_split(monkeypatch):
    _, processor, _ = load_model("tiny_scratch")
    dm = SkillDataModule("color", test_size=8, eval_batch_size=4)
    dm.processor = processor
    draws = []
    generate = type(dm.skill).generate
    monkeypatch.setattr(type(dm.skill), "generate", lambda self, rng: draws.append(1) or generate(self, rng))
    first = list(dm.test_dataloader())
    n_first = len(draws)
    second = list(dm.test_dataloader())
    assert n_first >= 8 and len(draws) == n_first  # drawn for the first loader only
    assert len(first) == len(second) == 2
    for a, b in zip(first, second):
        assert a["questions"] == b["questions"] and a["refs"] == b["refs"]
        assert torch.equal(a["pixel_values"], b["pixel_values"]) and torch.equal(a["input_ids"], b["input_ids"])
    assert len(list(dm.train_dataloader())) > 0 and len(draws) > n_first  # a train split is drawn where it is read
