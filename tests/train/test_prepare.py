"""Loading a model only loads: a missing tiny base is an error naming `lmmcl base`, or is built once, before the
Trainer starts, by the first process."""

import json

import pytest

from lmmcl.errors import MissingResourceError
from lmmcl.models.presets import get_preset, resolve_checkpoint
from lmmcl.train import base, prepare


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty model cache and no shipped base (the package's would be copied instead of built)."""
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(base, "SHIPPED", tmp_path / "nothing-shipped")
    return tmp_path / "cache"


@pytest.fixture
def pretrain_calls(monkeypatch):
    """Stands in for the minutes-long pre-training: records each call and writes a checkpoint's config.json."""
    calls = []

    def fake(src, out, **kwargs):
        calls.append((str(src), str(out), kwargs.get("preset", "vision phase")))
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"built_from": str(src)}))
        return out

    monkeypatch.setattr(base, "pretrain", fake)
    monkeypatch.setattr(base, "vision_pretrained", fake)
    return calls


def test_loading_a_missing_base_fails_with_the_command_that_builds_it(empty_cache, pretrain_calls):
    preset = get_preset("tiny")
    with pytest.raises(MissingResourceError, match=r"run `lmmcl base tiny`"):
        resolve_checkpoint(preset)
    assert not pretrain_calls and not preset.base_path().exists()
    assert not (preset.local_path() / "config.json").exists()  # a preset with a base loads no random-weight build


def test_the_first_process_builds_the_base_once_and_loading_finds_it(empty_cache, pretrain_calls, monkeypatch):
    monkeypatch.setattr(prepare.rank_zero_only, "rank", 0)
    prepare.prepare_model("tiny")
    prepare.prepare_model("tiny")  # cached now: not built again
    preset = get_preset("tiny")
    vision = str(preset.base_path()) + "-vision"
    assert pretrain_calls == [(str(preset.local_path()), vision, "vision phase"),
                              (vision, str(preset.base_path()), "tiny")]
    assert resolve_checkpoint(preset) == preset.base_path()


def test_other_processes_never_build(empty_cache, pretrain_calls, monkeypatch):
    monkeypatch.setattr(prepare.rank_zero_only, "rank", 1)
    prepare.prepare_model("tiny")
    prepare.prepare_model("tiny_scratch")  # no pre-training at all
    assert not pretrain_calls
