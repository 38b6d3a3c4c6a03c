"""Evaluation generates greedily, whatever generation settings a checkpoint ships.

``generate`` fills every option a call leaves unset from the model's ``generation_config``, and checkpoints ship
sampling-time settings there (copies of Qwen2.5-VL: ``repetition_penalty: 1.05``, which also penalises the option
letters and digits a prompt contains). lmmcl keeps only the checkpoint's token ids (:func:`greedy_config`, applied
when a model is loaded) and passes the greedy options explicitly on every call (:func:`greedy_kwargs`).
"""

from __future__ import annotations

from typing import Any

TOKEN_IDS = ("pad_token_id", "eos_token_id", "bos_token_id", "decoder_start_token_id")


def greedy_config(shipped: Any) -> Any:
    """A ``GenerationConfig`` with ``shipped``'s token ids and nothing else of it: greedy search, no penalty."""
    from transformers import GenerationConfig

    ids = {name: getattr(shipped, name, None) for name in TOKEN_IDS}
    return GenerationConfig(do_sample=False, num_beams=1, repetition_penalty=1.0,
                            **{name: value for name, value in ids.items() if value is not None})


def greedy_kwargs(tokenizer: Any, max_new_tokens: int, synced: bool = False) -> dict[str, Any]:
    """``generate`` options of every evaluation: greedy, one beam, no repetition penalty, the tokenizer's
    end-of-turn and padding ids. ``synced``: keep stepping until every rank is done (``synced_gpus``; under FSDP
    each step's forward is a collective, and ranks' prompts finish at different steps)."""
    return {"max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1, "repetition_penalty": 1.0,
            "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id, "synced_gpus": synced}
