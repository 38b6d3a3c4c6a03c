"""Model presets as data: configs/model/<name>.yaml says what a model name means and how to get it.

A preset either has a ``builder`` (a tiny model built locally, cached by a hash of its arguments) or a
``hub_id`` (a real checkpoint: a local directory, or the Hugging Face cache; never downloaded offline).
``components`` maps the paper's parts (vision_tower, projector, language_model) to parameter-name
prefixes, so a freezing recipe means the same thing on every family (a parameter belongs to the component
with the longest matching prefix: Qwen2.5-VL's ``model.visual.merger`` is the projector, not the vision tower).
``meta_config`` (real models) names a config.json under configs/model/ that builds the architecture
without weights, on the meta device (``lmmcl recipes``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from lmmcl.data.synthetic import WORLD_VERSION
from lmmcl.errors import MissingResourceError
from lmmcl.registry import config_dir, entry_path, known
from lmmcl.yamlfile import load_yaml

CONFIG_DIR = config_dir("model")


def cache_dir() -> Path:
    """Where built models live: ``$LMMCL_CACHE`` or ~/.cache/lmmcl."""
    return Path(os.environ.get("LMMCL_CACHE", Path.home() / ".cache" / "lmmcl"))


@dataclass
class ModelPreset:
    """What a model name means: its family, where its weights come from, and its components."""

    name: str
    family: str
    components: dict[str, list[str]]
    hub_id: str | None = None
    builder: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    pretrain: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"
    description: str = ""
    meta_config: str | None = None  # a config.json relative to configs/model/: the architecture without weights
    max_images: int | None = None  # images one prompt may hold (None: any); a conversation with more is a bad record

    def local_path(self) -> Path:
        """The built (randomly initialised) checkpoint's directory (builder presets only)."""
        return cache_dir() / "models" / f"{self.family}-{config_hash(self._build_key())}"

    def base_path(self) -> Path:
        """The pre-trained base checkpoint's directory (presets with a ``pretrain`` section)."""
        key = config_hash({**self._build_key(), "pretrain": self.pretrain})
        return cache_dir() / "models" / f"{self.family}-base-{key}"

    def _build_key(self) -> dict[str, Any]:
        # the synthetic world's version too: the tokenizer's corpus and the base's training data come from it
        return {"builder": self.builder, **self.build, "world": WORLD_VERSION}


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]


def known_presets() -> list[str]:
    return known(CONFIG_DIR)


def _preset_config(name: str) -> dict[str, Any]:
    config = load_yaml(entry_path(CONFIG_DIR, name, "model")) or {}
    parent = config.pop("extends", None)  # a preset may override a few keys of another
    return {**_preset_config(parent), **config} if parent else config


def get_preset(name: str) -> ModelPreset:
    return ModelPreset(name=name, **_preset_config(name))


def resolve_checkpoint(preset: ModelPreset, model_path: str | None = None) -> Path | str:
    """The directory (or hub id found in the local cache) to load ``preset`` from. Loading never trains: a tiny
    preset's random-weight build is made here (seconds), its pre-trained base only by ``lmmcl base`` (or copied
    from the shipped one by fit's :func:`~lmmcl.train.base.ensure_base`)."""
    if model_path:
        path = Path(model_path).expanduser()
        if not (path / "config.json").exists():
            raise MissingResourceError(f"model_path {str(path)!r} has no config.json: point it at a directory "
                                    f"written by save_pretrained (for {preset.name!r}: "
                                    f"{preset.hub_id or 'a built tiny model'}).")
        return path
    if preset.builder:
        if not preset.pretrain:
            return built_checkpoint(preset)
        base = preset.base_path()
        if not (base / "config.json").exists():
            raise MissingResourceError(f"Model {preset.name!r} has no pre-trained base in {base}: run `lmmcl base "
                                       f"{preset.name}` (make base MODEL={preset.name}) once; it is then cached.")
        return base
    return _hub_checkpoint(preset)


def built_checkpoint(preset: ModelPreset) -> Path:
    """A tiny preset's random-weight checkpoint, built on first use by its ``builder`` (no training)."""
    path = preset.local_path()
    if not (path / "config.json").exists():
        module, fn = preset.builder.split(":")
        print(f"[lmmcl] building model {preset.name!r} into {path} (once; cached)")
        getattr(import_module(module), fn)(path, **preset.build)
    return path


def _hub_checkpoint(preset: ModelPreset) -> str:
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return snapshot_download(preset.hub_id, local_files_only=True)
    except Exception as err:  # not in the cache: say exactly how to provide it
        raise MissingResourceError(
            f"Weights for model {preset.name!r} ({preset.hub_id}) are not available offline.\n"
            f"  looked in the Hugging Face cache: {HF_HUB_CACHE}\n"
            f"  provide them by either\n"
            f"    - downloading on a connected machine: hf download {preset.hub_id} "
            f"(then copy that machine's HF cache here and set HF_HOME to it), or\n"
            f"    - pointing at a local checkpoint directory: make train MODEL={preset.name} MODEL_PATH=/path/to/dir "
            f"(CLI: --model.model_path /path/to/dir)"
        ) from err


def load_model(name: str, model_path: str | None = None, dtype: str | None = None):
    """Load (model, processor, preset) through the same ``from_pretrained`` path for every preset."""
    preset = get_preset(name)
    checkpoint = resolve_checkpoint(preset, model_path)  # first: a missing checkpoint fails in seconds

    import torch
    from transformers import AutoModelForImageTextToText

    from lmmcl.models.generation import greedy_config
    from lmmcl.models.processors import load_processor

    torch_dtype = getattr(torch, dtype or preset.dtype)
    model = AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=torch_dtype)
    model.generation_config = greedy_config(model.generation_config)  # no shipped sampling settings in evaluation
    processor = load_processor(checkpoint)
    return model, processor, preset
