"""Greedy answers to collated prompt batches: the one generation every evaluation uses (the stage loop's through
:class:`~lmmcl.train.module.LMMModule`, the restore analysis' through :class:`Answerer`)."""

from __future__ import annotations

from typing import Any

import torch

from lmmcl.models.generation import greedy_kwargs

BATCH_META = ("refs", "questions", "bad_records")  # a collated batch's entries that are not model inputs


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The model's inputs of a collated batch (not its metadata)."""
    return {k: v for k, v in batch.items() if k not in BATCH_META}


def greedy_answers(model: Any, tokenizer: Any, inputs: dict[str, torch.Tensor], max_new_tokens: int,
                   synced: bool = False) -> list[str]:
    """``model``'s greedy answers to a left-padded prompt batch (``inputs``: its tensors), stripped of the prompt
    (``synced``: step until every rank is done, see :func:`~lmmcl.models.generation.greedy_kwargs`)."""
    out = model.generate(**inputs, **greedy_kwargs(tokenizer, max_new_tokens, synced))
    new = out[:, inputs["input_ids"].shape[1]:]
    return [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]


class Answerer:
    """A model and its processor answering batches as a run's module does (``model``, ``processor``, ``device``,
    ``model_inputs``, ``generate``: what the evaluations and the counting-bias probe read), outside a run."""

    def __init__(self, model: Any, processor: Any):
        self.model, self.processor = model, processor

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def model_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        return model_inputs(batch)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], max_new_tokens: int) -> list[str]:
        return greedy_answers(self.model, self.processor.tokenizer, self.model_inputs(batch), max_new_tokens)
