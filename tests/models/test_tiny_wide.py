"""configs/model/tiny_wide.yaml, the tiny preset with a 192-wide language model (the capacity test of
docs/history/2026-12-06-lr-frontier-and-wide-model.md), builds through the tiny path and pre-trains."""

import json

from lmmcl.train import base
from lmmcl.models.presets import built_checkpoint, get_preset


def test_tiny_wide_differs_from_tiny_only_in_the_language_model_s_width():
    tiny, wide = get_preset("tiny"), get_preset("tiny_wide")
    assert wide.pretrain == tiny.pretrain and wide.family == tiny.family
    assert {k: v for k, v in wide.build.items() if k != "text"} == {k: v for k, v in tiny.build.items() if k != "text"}
    assert (wide.build["text"]["hidden_size"], wide.build["text"]["intermediate_size"]) == (192, 384)
    assert wide.base_path() != tiny.base_path()  # its own cached base


def test_tiny_wide_builds_its_random_weight_checkpoint_and_pretrains(tmp_path, monkeypatch):
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path / "cache"))
    src = built_checkpoint(get_preset("tiny_wide"))
    config = json.loads((src / "config.json").read_text())
    assert config["text_config"]["hidden_size"] == 192 and config["text_config"]["intermediate_size"] == 384
    out = base.pretrain(src, tmp_path / "base", preset="tiny_wide", skills=["color"], train_size=8, test_size=4,
                        batch_size=4)
    assert (out / "model.safetensors").exists()
