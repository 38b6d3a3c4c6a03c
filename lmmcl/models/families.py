"""Tiny models of the paper's three real families, built locally like ``tiny`` and loaded like a 7B checkpoint.

Each builder writes a directory that ``AutoModelForImageTextToText`` / ``AutoProcessor`` load: the family's
real model class on a tiny config, a tokenizer trained locally on the synthetic world's text (shared with
``lmmcl.models.tiny``), and the family's real processor class configured for 32-pixel images, with a chat
template in the family's own turn format. A freezing recipe then sees the same parameter names it would see
on the 7B/8B model, and generation runs the same code (anyres image tokens, Qwen's 3-D rotary positions).

    family           model class                             vision / language    chat turn
    llava_onevision  LlavaOnevisionForConditionalGeneration  SigLIP / Qwen2       <|im_start|>user ...<|im_end|>
    llava_next       LlavaNextForConditionalGeneration       CLIP / Llama         <|start_header_id|>user
                                                                                  <|end_header_id|> ...<|eot_id|>
    qwen2_5_vl       Qwen2_5_VLForConditionalGeneration      Qwen2.5-ViT / Qwen2  <|im_start|>user <|vision_start|>
                                                                                  ...<|im_end|>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lmmcl.models.processors import images_only
from lmmcl.models.tiny import save_checkpoint, world_tokenizer

# Each family's special tokens, as its real tokenizer names them: padding, end of turn (generation stops there),
# the image/video placeholders the processor expands, and the chat template's turn markers.
TOKENS: dict[str, dict[str, Any]] = {
    "llava_onevision": dict(pad="<|endoftext|>", eos="<|im_end|>",
                            media={"image_token": "<image>", "video_token": "<video>"}, markers=("<|im_start|>",)),
    "llava_next": dict(pad="<pad>", eos="<|eot_id|>", media={"image_token": "<image>"},
                       markers=("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>")),
    "qwen2_5_vl": dict(pad="<|endoftext|>", eos="<|im_end|>",
                       media={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
                       markers=("<|im_start|>", "<|vision_start|>", "<|vision_end|>")),
}


def chat_template(*, turn: tuple[str, str], image: str, end: str, begin: str = "") -> str:
    """A Jinja chat template in the HF message format: ``begin``, then per message ``turn[0] + role + turn[1]``,
    the content (``image`` for an image part), ``end``; the generation prompt opens an assistant turn."""
    return (
        f"{begin}"
        "{% for message in messages %}"
        f"{turn[0]}{{{{ message['role'] }}}}{turn[1]}"
        "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for part in message['content'] %}"
        f"{{% if part['type'] == 'image' %}}{image}{{% else %}}{{{{ part['text'] }}}}{{% endif %}}"
        "{% endfor %}{% endif %}"
        f"{end}"
        "{% endfor %}"
        f"{{% if add_generation_prompt %}}{turn[0]}assistant{turn[1]}{{% endif %}}"
    )


def _token_ids(tokenizer: Any) -> dict[str, int]:
    return {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": tokenizer.eos_token_id}


def _text_args(tokenizer: Any, positions: int = 512) -> dict[str, Any]:
    """The language model's settings every tiny family shares (vocabulary, ``positions``, untied head)."""
    return {"vocab_size": len(tokenizer), "max_position_embeddings": positions, "tie_word_embeddings": False,
            **_token_ids(tokenizer)}


def _finish(out_dir: str | Path, model_class: Any, config: Any, processor: Any, seed: int) -> Path:
    """The model of ``config`` with weights drawn from ``seed``, saved with its processor."""
    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    return save_checkpoint(out_dir, model, processor)


def _grid_pinpoints(image_size: int) -> list[list[int]]:
    """anyres crops of 1x1, 1x2 and 2x1 tiles (a 32x32 image gets the base view plus one tile)."""
    return [[image_size, image_size], [image_size, 2 * image_size], [2 * image_size, image_size]]


def onevision_processor(tokenizer: Any, image_size: int, patch_size: int, pinpoints: list[list[int]]) -> Any:
    """LLaVA-OneVision's processor: anyres_max_9 tiles of ``image_size`` pixels chosen among ``pinpoints``."""
    from transformers import LlavaOnevisionImageProcessorPil, LlavaOnevisionProcessor

    image_processor = LlavaOnevisionImageProcessorPil(
        size={"height": image_size, "width": image_size}, crop_size={"height": image_size, "width": image_size},
        image_grid_pinpoints=pinpoints, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return images_only(LlavaOnevisionProcessor)(
        image_processor=image_processor, tokenizer=tokenizer, num_image_tokens=(image_size // patch_size) ** 2,
        vision_feature_select_strategy="full", vision_aspect_ratio="anyres_max_9",
        chat_template=chat_template(turn=("<|im_start|>", "\n"), image="<image>\n", end="<|im_end|>\n"))


def next_processor(tokenizer: Any, image_size: int, patch_size: int, pinpoints: list[list[int]]) -> Any:
    """LLaVA-NeXT's processor (llama3-llava-next): anyres tiles of ``image_size`` pixels chosen among ``pinpoints``."""
    from transformers import LlavaNextImageProcessorPil, LlavaNextProcessor

    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
        image_grid_pinpoints=pinpoints, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return LlavaNextProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
        chat_template=chat_template(begin="<|begin_of_text|>", turn=("<|start_header_id|>", "<|end_header_id|>\n\n"),
                                    image="<image>\n", end="<|eot_id|>"))


def qwen2_5_vl_processor(tokenizer: Any, patch_size: int, min_pixels: int, max_pixels: int) -> Any:
    """Qwen2.5-VL's processor: pictures resized to between ``min_pixels`` and ``max_pixels``, 2x2 patches merged."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil

    image_processor = Qwen2VLImageProcessorPil(
        patch_size=patch_size, merge_size=2, temporal_patch_size=2, min_pixels=min_pixels, max_pixels=max_pixels,
        image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return images_only(Qwen2_5_VLProcessor)(
        image_processor=image_processor, tokenizer=tokenizer,
        chat_template=chat_template(turn=("<|im_start|>", "\n"), end="<|im_end|>\n",
                                    image="<|vision_start|><|image_pad|><|vision_end|>"))


def build_tiny_onevision(out_dir: str | Path, *, seed: int = 0, image_size: int = 32, patch_size: int = 8,
                         vision: dict[str, int], text: dict[str, int], vocab_size: int = 512,
                         corpus_skills: list[str], corpus_per_skill: int = 200,
                         pinpoints: list[list[int]] | None = None, positions: int = 512) -> Path:
    """LLaVA-OneVision's architecture: SigLIP + 2-layer GELU projector + Qwen2, anyres_max_9 image tiling
    (``pinpoints``: the tile grids, default 1x1, 1x2, 2x1; ``positions``: the language model's)."""
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        Qwen2Config,
        SiglipVisionConfig,
    )

    tokenizer = world_tokenizer(corpus_skills, corpus_per_skill, vocab_size, **TOKENS["llava_onevision"])
    pinpoints = pinpoints or _grid_pinpoints(image_size)
    processor = onevision_processor(tokenizer, image_size, patch_size, pinpoints)
    config = LlavaOnevisionConfig(
        vision_config=SiglipVisionConfig(image_size=image_size, patch_size=patch_size, vision_use_head=False, **vision),
        text_config=Qwen2Config(**_text_args(tokenizer, positions), **text),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=pinpoints, vision_aspect_ratio="anyres_max_9",
        vision_feature_select_strategy="full", vision_feature_layer=-1, tie_word_embeddings=False)
    return _finish(out_dir, LlavaOnevisionForConditionalGeneration, config, processor, seed)


def build_tiny_next(out_dir: str | Path, *, seed: int = 0, image_size: int = 32, patch_size: int = 8,
                    vision: dict[str, int], text: dict[str, int], vocab_size: int = 512,
                    corpus_skills: list[str], corpus_per_skill: int = 200,
                    pinpoints: list[list[int]] | None = None, positions: int = 512) -> Path:
    """LLaVA-NeXT (llama3-llava-next) architecture: CLIP ViT (penultimate layer, no CLS) + projector + Llama
    (``pinpoints``: the tile grids, default 1x1, 1x2, 2x1; ``positions``: the language model's)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaNextConfig, LlavaNextForConditionalGeneration

    tokenizer = world_tokenizer(corpus_skills, corpus_per_skill, vocab_size, **TOKENS["llava_next"])
    pinpoints = pinpoints or _grid_pinpoints(image_size)
    processor = next_processor(tokenizer, image_size, patch_size, pinpoints)
    config = LlavaNextConfig(
        vision_config=CLIPVisionConfig(image_size=image_size, patch_size=patch_size, **vision),
        text_config=LlamaConfig(**_text_args(tokenizer, positions), **text),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), image_grid_pinpoints=pinpoints,
        vision_feature_select_strategy="default", vision_feature_layer=-2, tie_word_embeddings=False)
    return _finish(out_dir, LlavaNextForConditionalGeneration, config, processor, seed)


def build_tiny_qwen2_5_vl(out_dir: str | Path, *, seed: int = 0, image_size: int = 32, patch_size: int = 4,
                          vision: dict[str, Any], text: dict[str, Any], vocab_size: int = 512,
                          corpus_skills: list[str], corpus_per_skill: int = 200, min_pixels: int | None = None,
                          max_pixels: int | None = None, window_size: int | None = None, positions: int = 512) -> Path:
    """Qwen2.5-VL's architecture: windowed ViT with SwiGLU blocks, 2x2 patch merger, Qwen2 with M-RoPE.

    ``text`` needs ``mrope_section`` (three ints summing to head_dim / 2). Images are resized to between
    ``min_pixels`` and ``max_pixels`` (default: exactly ``image_size`` squared, so each gives
    ``(image_size / patch_size / 2) ** 2`` image tokens); ``window_size``: the ViT's attention window in pixels.
    """
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tokenizer = world_tokenizer(corpus_skills, corpus_per_skill, vocab_size, **TOKENS["qwen2_5_vl"])
    merge = 2
    processor = qwen2_5_vl_processor(tokenizer, patch_size, min_pixels or image_size * image_size,
                                     max_pixels or image_size * image_size)
    text = dict(text)
    mrope_section = text.pop("mrope_section")
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in [
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")]}
    config = Qwen2_5_VLConfig(
        text_config=dict(**_text_args(tokenizer, positions),
                         rope_scaling={"type": "mrope", "mrope_section": mrope_section}, **text),
        vision_config=dict(patch_size=patch_size, spatial_merge_size=merge, temporal_patch_size=2,
                           out_hidden_size=text["hidden_size"],
                           window_size=window_size or patch_size * merge * 2, **vision),
        tie_word_embeddings=False, **ids)
    return _finish(out_dir, Qwen2_5_VLForConditionalGeneration, config, processor, seed)
