"""Model presets: named models (tiny local builds and real hub checkpoints) and how to load them."""

from lmmcl.models.presets import ModelPreset, get_preset, known_presets, load_model

__all__ = ["ModelPreset", "get_preset", "known_presets", "load_model"]
