"""Load a checkpoint's processor; image-only where the family's processor also wants a video processor.

LLaVA-OneVision's and Qwen2.5-VL's processors take a video processor, which transformers 5 builds only
with torchvision. lmmcl feeds images only, so where torchvision is missing (or the checkpoint ships no video
processor, like the tiny family builds) the *same* processor class is used without it: same tokenizer,
image processor, image-token expansion and chat template. Everywhere else this is ``AutoProcessor``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError


@functools.cache
def _images_only_classes() -> dict[str, type]:
    """Family processor name -> the same class without ``video_processor`` (transformers reads ``__init__``'s
    own parameter names to know the sub-processors and which saved settings to pass back, hence real signatures)."""
    from transformers import LlavaOnevisionProcessor, Qwen2_5_VLProcessor

    class OnevisionImages(LlavaOnevisionProcessor):
        def __init__(self, image_processor=None, tokenizer=None, num_image_tokens=None,
                     vision_feature_select_strategy=None, chat_template=None, image_token="<image>",
                     video_token="<video>", vision_aspect_ratio="anyres_max_9", **kwargs):
            super().__init__(image_processor, tokenizer, None, num_image_tokens, vision_feature_select_strategy,
                             chat_template, image_token, video_token, vision_aspect_ratio, **kwargs)

    class QwenImages(Qwen2_5_VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    classes = {}
    for cls in (OnevisionImages, QwenImages):
        base = cls.__mro__[1]
        cls.__name__ = cls.__qualname__ = base.__name__  # save_pretrained records the family's real class
        cls.__doc__ = f"{base.__name__} for images only (no video processor)."
        classes[base.__name__] = cls
    return classes


def images_only(cls: type) -> type:
    """The image-only variant of processor class ``cls`` (which takes a ``video_processor``)."""
    variants = _images_only_classes()
    if cls.__name__ not in variants:
        raise LmmclError(f"{cls.__name__} needs a video processor, which needs torchvision here; "
                         f"lmmcl has an image-only variant for {', '.join(variants)} only. Install torchvision.")
    return variants[cls.__name__]


def _processor_class(checkpoint: Path) -> type | None:
    import transformers

    for name in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        path = checkpoint / name
        if path.exists() and (cls := json.loads(path.read_text()).get("processor_class")):
            return getattr(transformers, cls, None)
    return None


def _has_video_processor(checkpoint: Path) -> bool:
    config = checkpoint / "processor_config.json"
    return (checkpoint / "video_preprocessor_config.json").exists() or (
        config.exists() and "video_processor" in json.loads(config.read_text()))


def load_processor(checkpoint: str | Path) -> Any:
    """The processor saved in ``checkpoint`` (a local directory)."""
    from transformers import AutoProcessor
    from transformers.utils import is_torchvision_available

    checkpoint = Path(checkpoint)
    cls = _processor_class(checkpoint)
    if cls is not None and "video_processor" in cls.get_attributes() and (
            not is_torchvision_available() or not _has_video_processor(checkpoint)):
        return images_only(cls).from_pretrained(checkpoint)
    return AutoProcessor.from_pretrained(checkpoint)
