"""The tiny preset's base ships with the package (made by `make base`): it matches the preset's config, and a
rebuild from the project's own code reproduces its held-out scores."""

import json

import pytest

from lmmcl.models import base
from lmmcl.models.presets import get_preset


def test_the_shipped_base_is_the_one_the_tiny_preset_names():
    preset = get_preset("tiny")
    shipped = base.shipped_path(preset)
    assert (shipped / "config.json").exists(), (
        f"no shipped base for the tiny preset's current config ({shipped.name}): run `make base` and commit "
        f"{shipped.relative_to(base.SHIPPED.parent.parent.parent)}")
    made_by = json.loads((shipped / "made_by.json").read_text())
    assert made_by["pretrain"] == preset.pretrain and made_by["build"] == preset.build
    assert sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file()) <= 25 * 2 ** 20


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_rebuild_reproduces_the_shipped_held_out_scores_within_two_points(tmp_path, monkeypatch):
    preset = get_preset("tiny")
    expected = json.loads((base.shipped_path(preset) / "made_by.json").read_text())["heldout_test"]
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path))
    monkeypatch.setattr(base, "SHIPPED", tmp_path / "nothing-shipped")  # build it, do not copy it
    rebuilt = json.loads((base.ensure_base(preset) / "base_eval.json").read_text())["heldout_test"]
    far = {k: (v, rebuilt[k]) for k, v in expected.items() if abs(v - rebuilt[k]) > 2}
    assert not far, f"rebuilt scores (shipped, rebuilt) differ by more than 2 points: {far}"
