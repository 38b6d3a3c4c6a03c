"""Batched greedy generation (left padding) answers exactly what batch-size-1 generation answers, per family."""

import pytest
import torch

from lmmcl.data.collate import Collator, chat_prompt
from lmmcl.data.skill import get_skill
from lmmcl.models.presets import get_preset
from lmmcl.train.base import ensure_base
from lmmcl.train.module import LMMModule

FAMILIES = ["tiny", "tiny_onevision", "tiny_next", "tiny_qwen2_5_vl"]


@pytest.fixture(autouse=True, scope="module")
def tiny_base():
    ensure_base(get_preset("tiny"))  # a fresh clone has only the shipped base; fit copies it, LMMModule does not


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared 2-core machine
    yield
    torch.set_num_threads(threads)


def _prompts():
    """8 questions of different lengths (24 to 128 characters), two per skill."""
    samples = []
    for skill in ("species", "count", "color", "exist"):
        data = get_skill(skill).dataset("test", 2, seed=1)
        samples += [data[0], data[1]]
    assert len({len(s.question) for s in samples}) >= 6
    return samples


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_answers_equal_batch_of_one(family):
    # tiny: the shipped base, whose answers depend on the prompt; others: random weights
    module = LMMModule(family).eval()
    samples, collate = _prompts(), Collator(module.processor, train=False)
    batch = collate(samples)
    assert (batch["attention_mask"][:, 0] == 0).any() and batch["attention_mask"][:, -1].all()  # left padded
    batched = module.generate(batch, max_new_tokens=6)
    single = [module.generate(collate([s]), max_new_tokens=6)[0] for s in samples]
    assert batched == single
    assert len(set(single)) > 1  # the answers depend on the prompt, so the comparison means something

    # and padding side matters: the same prompts right-padded answer differently
    prompts = [chat_prompt(module.processor, s.question) for s in samples]
    right = module.processor(text=prompts, images=[s.image.convert("RGB") for s in samples], padding=True,
                             padding_side="right", return_tensors="pt")
    assert module.generate(dict(right), max_new_tokens=6) != single


def test_evaluation_ignores_the_generation_settings_a_checkpoint_ships(tmp_path):
    """A checkpoint whose generation_config samples and penalises repeats (Qwen2.5-VL copies ship
    repetition_penalty 1.05) answers in evaluation exactly as the same weights with a plain config."""
    import json
    import shutil

    from transformers import AutoModelForImageTextToText

    from lmmcl.models.presets import get_preset, resolve_checkpoint

    source = resolve_checkpoint(get_preset("tiny_scratch"))
    shipped = tmp_path / "shipped"
    shutil.copytree(source, shipped)
    config = json.loads((shipped / "generation_config.json").read_text())
    config.update(repetition_penalty=20.0, no_repeat_ngram_size=1, do_sample=True, temperature=3.0, top_k=5)
    (shipped / "generation_config.json").write_text(json.dumps(config))

    plain, penalised = LMMModule("tiny_scratch").eval(), LMMModule("tiny_scratch", model_path=str(shipped)).eval()
    assert penalised.model.generation_config.repetition_penalty == 1.0
    batch = Collator(plain.processor, train=False)(_prompts())
    answers = plain.generate(batch, max_new_tokens=8)
    assert penalised.generate(batch, max_new_tokens=8) == answers
    # the shipped settings would have changed the answers: the model loaded without lmmcl's pinning
    raw = AutoModelForImageTextToText.from_pretrained(shipped).eval()
    tok = plain.processor.tokenizer
    inputs = plain.model_inputs(batch)
    out = raw.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id,
                       eos_token_id=tok.eos_token_id)
    raw_answers = tok.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert [t.strip() for t in raw_answers] != answers
