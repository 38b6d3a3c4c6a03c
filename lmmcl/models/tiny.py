"""Build the tiny LMM of a real HF architecture and save it like any hub checkpoint.

The result is a directory that ``AutoModelForImageTextToText`` / ``AutoProcessor`` load exactly as they
load a 7B model: a Llava model (SigLIP vision tower + Qwen2 language model), a byte-level BPE tokenizer
trained locally with ``tokenizers`` on the synthetic world's text, and a Llava processor with a chat template.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from lmmcl.atomic import atomic_dir

# A minimal chat template in the HF message format: "USER: <image>\n{text}\nASSISTANT:" then the answer.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: "
    "{% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '\\n' }}{% else %}<eos>{{ '\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def corpus(skills: list[str], per_skill: int) -> list[str]:
    """Questions and answers of the synthetic world, plus the chat template's words and the numbers."""
    from lmmcl.data.skill import get_skill

    lines = ["USER: ASSISTANT:", " ".join(str(i) for i in range(100)), " ".join(chr(65 + i) for i in range(26))]
    for name in skills:
        data = get_skill(name).dataset("train", per_skill, seed=0)
        lines += [f"{s.question}\nASSISTANT: {s.answer}" for s in (data[i] for i in range(len(data)))]
    return lines


def world_tokenizer(corpus_skills: list[str], corpus_per_skill: int, vocab_size: int, **special: Any):
    """A tiny model's tokenizer: :func:`train_tokenizer` (``special``: its special tokens) on the world's
    :func:`corpus`."""
    return train_tokenizer(corpus(corpus_skills, corpus_per_skill), vocab_size, **special)


def train_tokenizer(texts: list[str], vocab_size: int, *, pad: str = "<pad>", eos: str = "<eos>",
                    media: dict[str, str] | None = None, markers: tuple[str, ...] = ()):
    """A byte-level BPE (any text encodes) with single-digit number tokens (the counting probe reads them).

    Special tokens, in id order: ``pad``, ``eos``, the ``media`` placeholders (attribute name -> token, e.g.
    ``{"image_token": "<image>"}``, which the family's processor reads from the tokenizer), then the chat
    template's ``markers`` (e.g. ``<|im_start|>``). Each is one token, never split, dropped when decoding.
    """
    from transformers import PreTrainedTokenizerFast

    media = {"image_token": "<image>"} if media is None else media
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[pad, eos, *media.values(), *markers],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, eos_token=eos, extra_special_tokens=media,
                                   padding_side="left", model_max_length=512)


def save_checkpoint(out_dir: str | Path, model: Any, processor: Any) -> Path:
    """``save_pretrained`` model and processor into ``out_dir`` atomically (a temp dir renamed at the end)."""
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return Path(out_dir)


def copy_checkpoint(src: str | Path, out_dir: str | Path) -> Path:
    """Copy the checkpoint directory ``src`` to ``out_dir`` atomically."""
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    return Path(out_dir)


def build_tiny(out_dir: str | Path, *, seed: int = 0, image_size: int = 32, patch_size: int = 8,
               vision: dict[str, int], text: dict[str, int], vocab_size: int = 512,
               corpus_skills: list[str], corpus_per_skill: int = 200, image_mean: float = 0.5,
               image_std: float = 0.5) -> Path:
    """Build the tiny model and processor into ``out_dir`` (atomically: a temp dir renamed at the end).

    ``image_mean``/``image_std``: the processor's pixel normalisation (per channel alike, pixels in 0..1).
    """
    from transformers import (
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        Qwen2Config,
        SiglipImageProcessor,
        SiglipVisionConfig,
    )

    tokenizer = world_tokenizer(corpus_skills, corpus_per_skill, vocab_size)
    image_processor = SiglipImageProcessor(size={"height": image_size, "width": image_size}, do_resize=True,
                                           image_mean=[image_mean] * 3, image_std=[image_std] * 3)
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
                               vision_feature_select_strategy="full", chat_template=CHAT_TEMPLATE,
                               num_additional_image_tokens=0)
    config = LlavaConfig(
        vision_config=SiglipVisionConfig(image_size=image_size, patch_size=patch_size, vision_use_head=False, **vision),
        text_config=Qwen2Config(vocab_size=len(tokenizer), max_position_embeddings=512, tie_word_embeddings=False,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                bos_token_id=tokenizer.eos_token_id, **text),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=(image_size // patch_size) ** 2,
        vision_feature_select_strategy="full", vision_feature_layer=-1, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return save_checkpoint(out_dir, model, processor)
