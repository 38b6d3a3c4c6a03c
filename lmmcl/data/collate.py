"""Turn samples into model batches through the model's own processor and chat template.

Training batches: prompt then answer, right-padded; labels are -100 on everything but the answer tokens
(prompt text, the image placeholder's expanded tokens, padding). A conversation (a sample with ``messages``: several
turns or images) is encoded whole through the chat template, and every assistant turn is labelled. Evaluation
batches: prompts only, left-padded, so batched greedy generation continues every row from its last real token.
The answer's ids are those the tokenizer gives it right after the prompt's text (:func:`answer_ids`), appended to
the prompt's ids: training sees exactly the prompt tokens generation starts from, and answer tokens generation can
produce there (after Qwen2's or Llama-3's ``assistant\n`` an answer starts ``red``, not `` red``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

from lmmcl.data.bad import merge_counts, reason_of
from lmmcl.data.shards import ShardPadding
from lmmcl.data.skill_type import Sample
from lmmcl.errors import LmmclError

IGNORE_INDEX = -100
MAX_LENGTH = 512  # tokens of prompt (+ answer) when no run says otherwise (data.max_length)


def answer_positions(labels: torch.Tensor) -> torch.Tensor:
    """Boolean (batch, seq) mask of the positions whose logits predict an answer token: ``labels[:, t + 1]``
    is not ignored. The last position predicts nothing."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return keep


def chat_prompt(processor: Any, question: str) -> str:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def image_count(messages: list[dict[str, Any]]) -> int:
    return sum(part["type"] == "image" for m in messages for part in m["content"])


def sample_text(processor: Any, sample: Sample, train: bool) -> tuple[str, list[Any]]:
    """The text a sample is encoded from and its images, in order: a plain sample's prompt (its answer is appended
    when training); a conversation's every turn when training, its turns up to the last user turn, with the
    generation prompt, when evaluating (the images those turns show)."""
    if not sample.messages:
        return chat_prompt(processor, sample.question), [sample.image]
    turns = sample.messages if train else sample.messages[:-1]
    text = processor.apply_chat_template(turns, add_generation_prompt=not train, tokenize=False)
    return text, sample.images[:image_count(turns)]


def assistant_labels(processor: Any, tokenizer: Any, ids: list[int], sample: Sample) -> list[int]:
    """Labels of a conversation encoded whole (``ids``): every assistant turn's tokens (and its end-of-turn token) as
    the chat template renders them, IGNORE_INDEX elsewhere. Each turn's start is the length of the encoded
    conversation before it (with the generation prompt), its tokens those :func:`answer_ids` gives in context."""
    labels = [IGNORE_INDEX] * len(ids)
    for k, message in enumerate(sample.messages):
        if message["role"] != "assistant":
            continue
        before = sample.messages[:k]
        prompt = processor.apply_chat_template(before, add_generation_prompt=True, tokenize=False)
        head = processor(text=[prompt], images=sample.images[:image_count(before)] or None)["input_ids"][0]
        head = head.tolist() if torch.is_tensor(head) else list(head)
        answer = answer_ids(tokenizer, [prompt], ["\n".join(p["text"] for p in message["content"]
                                                           if p["type"] == "text").strip()])[0]
        if ids[:len(head)] != head or ids[len(head):len(head) + len(answer)] != answer:
            raise LmmclError(f"Sample {sample.meta}: the chat template does not render assistant turn {k} as the "
                             f"prompt before it followed by the answer and the end-of-turn token, so its tokens cannot "
                             f"be found to train on. Check the model's chat template.")
        labels[len(head):len(head) + len(answer)] = answer
    return labels


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
    ``input_ids``: the module runs a placeholder batch in its place (every rank the same forwards).
    :class:`~lmmcl.data.shards.ShardPadding` items (padded evaluation shards) are dropped without a count.
    """

    def __init__(self, processor: Any, train: bool, max_length: int = MAX_LENGTH, max_images: int | None = None):
        self.processor, self.train, self.max_length, self.max_images = processor, train, max_length, max_images
        self.tokenizer = processor.tokenizer
        self.skipped = 0

    def __call__(self, samples: list[Sample | None]) -> dict[str, Any]:
        samples = [s for s in samples if not isinstance(s, ShardPadding)]  # no sample: neither used nor counted
        good = [s for s in samples if s]
        bad = merge_counts(Counter(reason_of(s) for s in samples if not s))
        if self.max_images is not None:  # a model that takes fewer images per prompt (lmmcl.data.conversations)
            many = sum(len(s.images) > self.max_images for s in good)
            good = [s for s in good if len(s.images) <= self.max_images]
            bad = merge_counts(bad, {"multi_image": many})
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

    def usable(self, batches: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        """The ``batches`` that hold a sample; none at all is an error naming why every sample was dropped
        (``what``: whose samples, for the message)."""
        kept = [b for b in batches if "input_ids" in b]
        if not kept:
            reasons = merge_counts(*(b["bad_records"] for b in batches))
            given = ", ".join(f"{r}: {n}" for r, n in reasons.items()) or "none given"
            raise LmmclError(f"{what}: every sample was dropped ({given}) "
                             f"at max_length={self.max_length}: raise data.max_length (a real picture is thousands of "
                             f"image tokens), or choose other prompt skills.")
        return kept

    def _encode(self, good: list[Sample]) -> dict[str, Any]:
        texts = [sample_text(self.processor, s, self.train) for s in good]
        prompts = [text for text, _ in texts]
        enc = self.processor(text=prompts, images=[i.convert("RGB") for _, images in texts for i in images],
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
        plain = [k for k, s in enumerate(samples) if not s.messages]
        answers = dict(zip(plain, answer_ids(self.tokenizer, [prompts[k] for k in plain],
                                             [samples[k].answer.strip() for k in plain]))) if plain else {}
        rows, labels = [], []
        for k, (ids, mask, sample) in enumerate(zip(enc["input_ids"], enc["attention_mask"], samples)):
            prompt = ids[mask.bool()].tolist()
            if sample.messages:  # the whole conversation is encoded: its assistant turns are the labels
                rows.append(prompt)
                labels.append(assistant_labels(self.processor, self.tokenizer, prompt, sample))
                continue
            rows.append(prompt + answers[k])
            labels.append([IGNORE_INDEX] * len(prompt) + answers[k])
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id
        batch = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}
        batch["input_ids"] = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        batch["attention_mask"] = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        batch["labels"] = torch.tensor([lab + [IGNORE_INDEX] * (width - len(lab)) for lab in labels])
        # Other per-token tensors (e.g. Qwen2.5-VL's mm_token_type_ids) follow the same re-alignment:
        # the prompt's real positions, then 0 for the answer and the padding.
        for key, value in enc.items():
            per_token = torch.is_tensor(value) and value.shape == enc["input_ids"].shape
            if key not in ("input_ids", "attention_mask") and per_token:
                batch[key] = torch.stack([self._realign(v, m, width) for v, m in zip(value, enc["attention_mask"])])
        return batch

    @staticmethod
    def _realign(values: torch.Tensor, mask: torch.Tensor, width: int) -> torch.Tensor:
        real = values[mask.bool()]
        return torch.cat([real, real.new_zeros(width - len(real))])

