"""Before a Trainer starts: build a tiny preset's missing pre-trained base, once and on the first process only.

Loading a model (:func:`lmmcl.models.presets.resolve_checkpoint`) never trains; this is the one place a run
may build the base, before any model is instantiated. Other processes of a multi-process launch (torchrun)
never build it: they load what the first built, or fail with the command that builds it.
"""

from __future__ import annotations

from lightning.pytorch.utilities.rank_zero import rank_zero_only

from lmmcl.models.presets import get_preset


def prepare_model(preset_name: str, model_path: str | None = None) -> None:
    """Build ``preset_name``'s base (``lmmcl base <preset>``) if a run would load it and it is not cached."""
    preset = get_preset(preset_name)
    if model_path or not preset.builder or not preset.pretrain or (preset.base_path() / "config.json").exists():
        return
    if rank_zero_only.rank == 0:
        from lmmcl.train.base import ensure_base

        ensure_base(preset)
