"""Turn samples into model batches through the model's own processor and chat template.

Training batches: prompt then answer, right-padded; labels are -100 on everything but the answer tokens
(prompt text, the image placeholder's expanded tokens, padding). Evaluation batches: prompts only,
left-padded, so batched greedy generation continues every row from its last real token.
The answer's ids are those the tokenizer gives it right after the prompt's text (:func:`answer_ids`), appended to
the prompt's ids: training sees exactly the prompt tokens generation starts from, and answer tokens generation can
produce there (after Qwen2's or Llama-3's ``assistant\n`` an answer starts ``red``, not `` red``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

from lmmcl.data.bad import merge_counts, reason_of
from lmmcl.data.skill_type import Sample
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


def answer_separator(prompt: str) -> str:
    """What the family's chat format puts between the generation prompt and the answer: nothing after a line break
    (Qwen2's and Llama-3's ``assistant\n``), one space after a marker like LLaVA-1.5's ``ASSISTANT:``."""
    return "" if prompt[-1:].isspace() else " "


def answer_ids(tokenizer: Any, prompts: list[str], answers: list[str]) -> list[list[int]]:
    """Each answer's token ids as the tokenizer splits ``prompt + separator + answer`` (the text a model's greedy
    continuation of the prompt decodes to), followed by the end-of-turn token (``tokenizer.eos_token_id``).

    Tokenized in context, not alone: byte-level BPE tokenizers spell a word differently after a space, and
    SentencePiece ones add a word-start marker to a text's first word.
    """
    whole = tokenizer([p + answer_separator(p) + a for p, a in zip(prompts, answers)], add_special_tokens=False)
    heads = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    out = []
    for head, ids, answer in zip(heads, whole["input_ids"], answers):
        if ids[:len(head)] != head:
            raise LmmclError(f"The answer {answer!r} merges with the end of its prompt into one token: generation "
                             f"could not produce it as trained. Check the chat template's generation prompt.")
        out.append(ids[len(head):] + [tokenizer.eos_token_id])
    return out


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
        batch = self._train_batch(enc, good, prompts) if self.train else dict(enc)
        batch["refs"] = [s.answers for s in good]
        batch["questions"] = [s.question for s in good]
        return batch

    @staticmethod
    def _lengths(batch: dict[str, Any]) -> list[int]:
        """Each row's real tokens (prompt, and answer when training)."""
        return batch["attention_mask"].sum(dim=1).tolist()

    def _train_batch(self, enc: dict[str, torch.Tensor], samples: list[Sample], prompts: list[str]) -> dict[str, Any]:
        for sample in samples:
            if not sample.answer.strip():
                raise LmmclError(f"Empty answer in sample {sample.meta}: a training target must be non-empty.")
        answers = answer_ids(self.tokenizer, prompts, [s.answer.strip() for s in samples])
        rows, labels = [], []
        for ids, mask, answer in zip(enc["input_ids"], enc["attention_mask"], answers):
            prompt = ids[mask.bool()].tolist()
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

