"""Base pre-training: the optional alignment phase trains only the vision side, then everything trains."""

import torch
from safetensors.torch import load_file

from lmmcl.models import base
from lmmcl.models.presets import built_checkpoint, get_preset


def test_the_align_phase_leaves_the_language_model_untouched(tmp_path):
    src = built_checkpoint(get_preset("tiny_scratch"))
    out = base.pretrain(src, tmp_path / "aligned", preset="tiny_scratch", skills=["color"], train_size=8,
                        test_size=4, batch_size=4, lr=1e-2, recipe="align")
    before, after = load_file(src / "model.safetensors"), load_file(out / "model.safetensors")
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(not k.startswith("language_model") for k in changed)
    assert any(k.startswith("vision_tower") for k in changed) and any("projector" in k for k in changed)


def test_build_base_runs_align_then_full_on_fresh_data_and_drops_the_intermediate(tmp_path, monkeypatch):
    calls = []

    def fake(src, out, **kwargs):
        calls.append((str(src), str(out), kwargs))
        out.mkdir(parents=True)
        return out

    monkeypatch.setattr(base, "pretrain", fake)
    out = base.build_base("SRC", tmp_path / "base", preset="tiny", align={"epochs": 2, "lr": 3e-3},
                          skills=["color"], train_size=8, epochs=4, lr=1e-3, seed=5)
    (src1, out1, first), (src2, out2, second) = calls
    assert (src1, first["recipe"], first["epochs"], first["lr"], first["seed"]) == ("SRC", "align", 2, 3e-3, 5)
    assert (src2, out2, second.get("recipe", "full"), second["epochs"], second["lr"], second["seed"]) == (
        out1, str(out), "full", 4, 1e-3, 6)
    assert out == tmp_path / "base" and not (tmp_path / "base-align").exists()


def test_build_base_without_align_is_one_full_phase(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(base, "pretrain", lambda src, out, **kw: calls.append(kw) or out)
    base.build_base("SRC", tmp_path / "base", preset="tiny", skills=["color"], train_size=8)
    assert len(calls) == 1 and "recipe" not in calls[0]
