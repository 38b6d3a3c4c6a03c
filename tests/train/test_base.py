"""Base pre-training: the optional alignment phase trains only the vision side, then everything trains."""

import torch
from safetensors.torch import load_file

from lmmcl.models.presets import built_checkpoint, get_preset
from lmmcl.train import base


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


def test_build_base_pretrains_the_vision_tower_first_and_drops_that_intermediate(tmp_path, monkeypatch):
    calls = []

    def fake_vision(src, out, **kwargs):
        calls.append(("vision", str(src), kwargs))
        out.mkdir(parents=True)
        return out

    def fake_pretrain(src, out, **kwargs):
        calls.append(("pretrain", str(src), kwargs))
        return out

    monkeypatch.setattr(base, "vision_pretrained", fake_vision)
    monkeypatch.setattr(base, "pretrain", fake_pretrain)
    base.build_base("SRC", tmp_path / "base", preset="tiny", vision_steps=7, vision_lr=3e-3, vision_tasks=["glyph"],
                    skills=["color"], seed=2)
    (kind1, src1, first), (kind2, src2, second) = calls
    assert (kind1, src1, first) == ("vision", "SRC", {"steps": 7, "lr": 3e-3, "seed": 2, "tasks": ["glyph"]})
    assert (kind2, src2) == ("pretrain", str(tmp_path / "base-vision"))
    assert not {"vision_steps", "vision_tasks"} & set(second)
    assert not (tmp_path / "base-vision").exists()


def fake_base(path, scores):
    import json

    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "base_eval.json").write_text(json.dumps({"heldout_test": scores, "chance": {}}))
    return path


def test_a_fresh_cache_takes_the_shipped_base_of_the_same_config(tmp_path, monkeypatch):
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(base, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setattr(base, "build_base", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    preset = get_preset("tiny")
    fake_base(base.shipped_path(preset), {"color": 90.0})
    assert base.ensure_base(preset) == preset.base_path()
    shipped = base.shipped_path(preset) / "base_eval.json"
    assert (preset.base_path() / "base_eval.json").read_text() == shipped.read_text()


def test_ship_copies_the_base_with_what_made_it_and_drops_the_preset_s_older_copy(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(base, "SHIPPED", tmp_path / "shipped")
    preset = get_preset("tiny")
    old = fake_base(tmp_path / "shipped" / "llava-base-0ld", {})
    (old / "made_by.json").write_text(json.dumps({"preset": "tiny"}))
    other = fake_base(tmp_path / "shipped" / "other-base-1", {})
    (other / "made_by.json").write_text(json.dumps({"preset": "tiny_next"}))
    fake_base(preset.base_path(), {"color": 90.0})
    out = base.ship(preset)
    made_by = json.loads((out / "made_by.json").read_text())
    assert made_by["preset"] == "tiny" and preset.base_path().name.endswith(made_by["config_hash"])
    assert made_by["heldout_test"] == {"color": 90.0} and made_by["pretrain"] == preset.pretrain
    assert not old.exists() and other.exists()


def test_build_base_builds_with_the_preset_s_thread_count_and_restores_the_caller_s(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(base, "pretrain", lambda src, out, **kw: seen.append(torch.get_num_threads()) or out)
    before = torch.get_num_threads()
    base.build_base("SRC", tmp_path / "base", preset="tiny", threads=before + 1, skills=["color"])
    assert seen == [before + 1] and torch.get_num_threads() == before


def test_lmmcl_base_rebuild_builds_from_scratch_even_with_a_shipped_copy(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(base, "SHIPPED", tmp_path / "shipped")
    preset = get_preset("tiny")
    fake_base(base.shipped_path(preset), {"color": 1.0})
    fake_base(preset.base_path(), {"color": 2.0})  # a stale cached base: --rebuild deletes it
    stale_init = fake_base(preset.local_path(), {})  # and its stale random-weight checkpoint (tokenizer included)
    monkeypatch.setattr("lmmcl.models.presets.built_checkpoint",
                        lambda p: "STALE" if stale_init.exists() else "RANDOM")
    seen = []
    monkeypatch.setattr(base, "build_base", lambda src, out, **kw: seen.append(src) or fake_base(out, {"color": 3.0}))
    assert base.main(["tiny", "--rebuild"]) == 0
    assert '"color": 3.0' in capsys.readouterr().out and seen == ["RANDOM"]
