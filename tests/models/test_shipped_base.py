"""The tiny preset's base ships with the package (made by `make base`): it matches the preset's config, and a
rebuild from the project's own code reproduces its held-out scores."""

import json
import os
import subprocess
import sys

import pytest

from lmmcl import cpu
from lmmcl.models.presets import get_preset
from lmmcl.train import base


def test_the_shipped_base_is_the_one_the_tiny_preset_names():
    preset = get_preset("tiny")
    shipped = base.shipped_path(preset)
    assert (shipped / "config.json").exists(), (
        f"no shipped base for the tiny preset's current config ({shipped.name}): run `make base` and commit "
        f"{shipped.relative_to(base.SHIPPED.parent.parent.parent)}")
    made_by = json.loads((shipped / "made_by.json").read_text())
    assert made_by["pretrain"] == preset.pretrain and made_by["build"] == preset.build
    assert sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file()) <= 25 * 2 ** 20


def test_the_shipped_base_s_tokenizer_is_the_one_the_preset_s_build_makes_today():
    """A base built from a random-weight checkpoint cached under an older state of the world's code (same config,
    same world version) has another vocabulary, and no clone can rebuild it: seen, a rebuild scored 74.5 against
    81.1."""
    from transformers import AutoTokenizer

    from lmmcl.models.tiny import world_tokenizer

    preset = get_preset("tiny")
    build = preset.build
    today = world_tokenizer(build["corpus_skills"], build["corpus_per_skill"], build["vocab_size"])
    shipped = AutoTokenizer.from_pretrained(base.shipped_path(preset))
    assert shipped.get_vocab() == today.get_vocab(), (
        "the shipped base's tokenizer is not the one `make base` builds from this code: rebuild it with `make base`")


def test_the_shipped_base_was_made_with_the_library_versions_make_install_pins():
    """A rebuild reproduces the base only on the stack that made it: constraints.txt and made_by.json must agree."""
    from pathlib import Path

    lines = (Path(__file__).parents[2] / "constraints.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line.strip() and not line.startswith("#"))
    made_by = json.loads((base.shipped_path(get_preset("tiny")) / "made_by.json").read_text())
    assert set(base.BUILD_LIBRARIES) <= set(pins), "constraints.txt must pin every library in BUILD_LIBRARIES"
    assert made_by["versions"] == {name: pins[name] for name in base.BUILD_LIBRARIES}, (
        "constraints.txt pins other versions than the shipped base was made with: rebuild it with `make base`")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_rebuild_reproduces_the_shipped_held_out_scores_within_two_points(tmp_path, monkeypatch):
    """`lmmcl base --rebuild` in its own process, as `make base` runs it (CPU code path pinned by lmmcl.cpu)."""
    preset = get_preset("tiny")
    made_by = json.loads((base.shipped_path(preset) / "made_by.json").read_text())
    monkeypatch.setenv("LMMCL_CACHE", str(tmp_path))  # build it into an empty cache, do not copy it
    subprocess.run([sys.executable, "-m", "lmmcl.cli", "base", "tiny", "--rebuild"], env=dict(os.environ), check=True)
    rebuilt = json.loads((preset.base_path() / "base_eval.json").read_text())["heldout_test"]
    far = {k: (v, rebuilt[k]) for k, v in made_by["heldout_test"].items() if abs(v - rebuilt[k]) > 2}
    assert not far, (f"rebuilt scores (shipped, rebuilt) differ by more than 2 points: {far}; shipped base made on "
                     f"{made_by.get('cpu')}, rebuilt on {cpu.describe()}")


def test_the_shipped_base_records_the_cpu_code_path_it_was_made_on():
    made_by = json.loads((base.shipped_path(get_preset("tiny")) / "made_by.json").read_text())
    assert made_by["cpu"]["torch_capability"] == "AVX2", made_by.get("cpu")
    assert {k: made_by["cpu"][k] for k in cpu.PINNED} == cpu.PINNED
