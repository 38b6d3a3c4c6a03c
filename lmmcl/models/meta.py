"""A preset's architecture without its weights: the model built from its config.json on the meta device.

Offline and in seconds, even for a 7B model: parameters have shapes and names but no storage. Real presets
ship their config.json in configs/model/real/ (``meta_config``); tiny presets use their built checkpoint's;
``model_path`` (any save_pretrained directory) overrides both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmmcl.errors import MissingResourceError
from lmmcl.models.presets import CONFIG_DIR, ModelPreset, built_checkpoint, get_preset, resolve_checkpoint


def config_path(preset: ModelPreset, model_path: str | None = None) -> Path:
    """The config.json that describes ``preset``'s architecture (building a tiny model if needed, never its base)."""
    if model_path:
        return Path(resolve_checkpoint(preset, model_path)) / "config.json"
    if preset.meta_config:
        return CONFIG_DIR / preset.meta_config
    if preset.builder:
        return built_checkpoint(preset) / "config.json"  # the base has the same architecture
    return Path(resolve_checkpoint(preset)) / "config.json"  # a hub checkpoint already in the local cache


def load_config(path: Path) -> Any:
    from transformers import CONFIG_MAPPING

    if not path.exists():
        raise MissingResourceError(f"No model config at {path}.")
    config = json.loads(path.read_text())
    config.pop("_comment", None)
    return CONFIG_MAPPING[config["model_type"]].from_dict(config)


def meta_model(name: str, model_path: str | None = None):
    """(model on the meta device, preset, config path) for model preset ``name``."""
    import torch
    from transformers import AutoModelForImageTextToText

    preset = get_preset(name)
    path = config_path(preset, model_path)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(load_config(path))
    return model, preset, path
