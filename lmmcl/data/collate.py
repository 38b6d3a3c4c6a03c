"""Turn samples into model batches through the model's own processor and chat template.

Training batches: prompt then answer, right-padded; labels are -100 on everything but the answer tokens
(prompt text, the image placeholder's expanded tokens, padding). Evaluation batches: prompts only,
left-padded, so batched greedy generation continues every row from its last real token.
The answer is tokenized on its own and appended to the prompt's ids, so training sees exactly the
prompt tokens generation will start from.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

from lmmcl.data.bad import merge_counts, reason_of
from lmmcl.data.skill import Sample
from lmmcl.errors import LmmclError

IGNORE_INDEX = -100


def answer_positions(labels: torch.Tensor) -> torch.Tensor:
    """Boolean (batch, seq) mask of the positions whose logits predict an answer token: ``labels[:, t + 1]``
    is not ignored. The last position predicts nothing."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return keep


def chat_prompt(processor: Any, question: str) -> str:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


class Collator:
    """Collate :class:`Sample` lists for training (``train=True``) or generation.

    Bad items (``None`` or :class:`~lmmcl.data.bad.BadRecord`, found while reading) and samples longer than
    ``max_length`` (never truncated: truncation could cut image tokens) are dropped; each batch carries their
    reasons in ``batch["bad_records"]`` (also summed in ``skipped``). A batch with no usable sample has no
    ``input_ids``: the module skips it.
    """

    def __init__(self, processor: Any, train: bool, max_length: int = 512):
        self.processor, self.train, self.max_length = processor, train, max_length
        self.tokenizer = processor.tokenizer
        self.skipped = 0

    def __call__(self, samples: list[Sample | None]) -> dict[str, Any]:
        good = [s for s in samples if s]
        bad = merge_counts(Counter(reason_of(s) for s in samples if not s))
        batch: dict[str, Any] = {"refs": [], "questions": []}
        while good:
            batch = self._encode(good)
            lengths = self._lengths(batch)
            if max(lengths) <= self.max_length:
                break
            too_long = sum(n > self.max_length for n in lengths)
            bad = merge_counts(bad, {"too_long": too_long})
            good = [s for s, n in zip(good, lengths) if n <= self.max_length]
            batch = {"refs": [], "questions": []}
        batch["bad_records"] = bad
        self.skipped += sum(bad.values())
        return batch

    def _encode(self, good: list[Sample]) -> dict[str, Any]:
        prompts = [chat_prompt(self.processor, s.question) for s in good]
        enc = self.processor(text=prompts, images=[s.image.convert("RGB") for s in good],
                             padding=True, padding_side="left", return_tensors="pt")
        batch = self._train_batch(enc, good) if self.train else dict(enc)
        batch["refs"] = [s.answers for s in good]
        batch["questions"] = [s.question for s in good]
        return batch

    @staticmethod
    def _lengths(batch: dict[str, Any]) -> list[int]:
        """Each row's real tokens (prompt, and answer when training)."""
        return batch["attention_mask"].sum(dim=1).tolist()

    def _train_batch(self, enc: dict[str, torch.Tensor], samples: list[Sample]) -> dict[str, Any]:
        eos = [self.tokenizer.eos_token_id]
        rows, labels = [], []
        for ids, mask, sample in zip(enc["input_ids"], enc["attention_mask"], samples):
            if not sample.answer.strip():
                raise LmmclError(f"Empty answer in sample {sample.meta}: a training target must be non-empty.")
            prompt = ids[mask.bool()].tolist()
            answer = self.tokenizer(" " + sample.answer.strip(), add_special_tokens=False)["input_ids"] + eos
            rows.append(prompt + answer)
            labels.append([IGNORE_INDEX] * len(prompt) + answer)
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id
        batch = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}
        batch["input_ids"] = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        batch["attention_mask"] = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        batch["labels"] = torch.tensor([l + [IGNORE_INDEX] * (width - len(l)) for l in labels])
        # Other per-token tensors (e.g. Qwen2.5-VL's mm_token_type_ids) follow the same re-alignment:
        # the prompt's real positions, then 0 for the answer and the padding.
        for key, value in enc.items():
            if key not in ("input_ids", "attention_mask") and torch.is_tensor(value) and value.shape == enc["input_ids"].shape:
                batch[key] = torch.stack([self._realign(v, m, width) for v, m in zip(value, enc["attention_mask"])])
        return batch

    @staticmethod
    def _realign(values: torch.Tensor, mask: torch.Tensor, width: int) -> torch.Tensor:
        real = values[mask.bool()]
        return torch.cat([real, real.new_zeros(width - len(real))])

