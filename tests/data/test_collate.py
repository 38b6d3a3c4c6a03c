import torch
from PIL import Image

from lmmcl.data.bad import BadRecord
from lmmcl.data.collate import IGNORE_INDEX, Collator
from lmmcl.data.skill_type import Sample
from lmmcl.models import load_model


def _samples():
    image = Image.new("RGB", (32, 32), (200, 0, 0))
    return [Sample(image, "How many squares are in the image?", "3"),
            Sample(image, "What color is the big round circle on the left?", "red")]


def test_labels_cover_only_the_answer_and_eos():
    _, processor, _ = load_model("tiny_scratch")
    tok = processor.tokenizer
    batch = Collator(processor, train=True)(_samples())
    image_id = tok.convert_tokens_to_ids("<image>")
    for row, answer in enumerate(["3", "red"]):
        labels, ids, mask = batch["labels"][row], batch["input_ids"][row], batch["attention_mask"][row]
        kept = labels[labels != IGNORE_INDEX]
        # hand-checked: the kept labels are exactly " <answer>" followed by <eos>
        assert tok.decode(kept) == f" {answer}<eos>"
        assert kept[-1].item() == tok.eos_token_id
        # the kept positions are the last real tokens, and the labels equal the inputs there
        n_real = int(mask.sum())
        assert torch.equal(labels[n_real - len(kept):n_real], ids[n_real - len(kept):n_real])
        # image tokens (16 of them), prompt and padding are all masked
        assert int((ids == image_id).sum()) == 16
        assert (labels[ids == image_id] == IGNORE_INDEX).all()
        assert (labels[mask == 0] == IGNORE_INDEX).all()
    assert batch["attention_mask"][0, -1] == 0  # right padding on the shorter row


def test_eval_batch_is_left_padded_prompts_with_refs():
    _, processor, _ = load_model("tiny_scratch")
    batch = Collator(processor, train=False)(_samples())
    assert "labels" not in batch
    assert batch["attention_mask"][0, 0] == 0 and batch["attention_mask"][:, -1].all()
    assert processor.tokenizer.decode(batch["input_ids"][1, -3:]).endswith("ASSISTANT:")
    assert batch["refs"] == [["3"], ["red"]]


def test_bad_and_overlong_samples_are_dropped_and_counted_by_reason():
    _, processor, _ = load_model("tiny_scratch")
    collate = Collator(processor, train=True, max_length=40)
    short = Sample(Image.new("RGB", (32, 32)), "Hi?", "yes")
    long = Sample(Image.new("RGB", (32, 32)), "word " * 60, "yes")
    batch = collate([None, BadRecord("undecodable_image"), long, short])
    assert batch["input_ids"].shape[0] == 1 and batch["refs"] == [["yes"]]
    assert batch["bad_records"] == {"undecodable_image": 1, "too_long": 1, "bad_record": 1}
    empty = collate([long])  # a batch of bad records only: no model input, the module skips it
    assert "input_ids" not in empty and empty["bad_records"] == {"too_long": 1} and collate.skipped == 4
