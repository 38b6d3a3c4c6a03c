"""lmmcl probe: counting-only tune probed at chosen steps; the layer contribution sees where each recipe trains."""

import json

import pytest

from lmmcl.train.iterations import main


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe")
    args = ["--model", "tiny_scratch", "--recipes", "mlp_gate_up", "sa_proj", "--steps", "2", "1", "--n", "4",
            "--train-size", "16", "--batch-size", "4", "--lr", "0.01", "--out", str(out)]
    assert main(args) == 0
    assert (out / "probe.png").stat().st_size > 0
    return json.loads((out / "probe.json").read_text())


def test_points_at_each_step_with_bias_and_layers(result):
    assert result["steps"] == [1, 2] and [r["recipe"] for r in result["recipes"]] == ["mlp_gate_up", "sa_proj"]
    for run in result["recipes"]:
        assert [p["step"] for p in run["points"]] == [1, 2]
        for p in run["points"]:
            assert 0.0 <= p["counting_bias"]["heldout"]["mass_mean"] <= 1.0
            assert len(p["layers"]) == 4  # the tiny model's language-model layers


def test_layer_contribution_starts_where_the_recipe_trains(result):
    mlp_first, attn_first = (run["points"][0]["layers"][0] for run in result["recipes"])
    # mlp_gate_up leaves attention frozen: layer 0's attention reads the unchanged embeddings, so it is unchanged
    assert mlp_first["self_attn"] == pytest.approx(0.0, abs=1e-6) and mlp_first["mlp"] > 1e-4
    assert attn_first["self_attn"] > 1e-4  # sa_proj changes layer 0's attention itself


def test_bad_steps_and_recipes_are_named(capsys, tmp_path):
    assert main(["--steps", "0", "--out", str(tmp_path)]) == 2
    assert "--steps 0" in capsys.readouterr().out
    assert main(["--recipes", "mlp_gat", "--out", str(tmp_path)]) == 2
    assert "Unknown recipe 'mlp_gat'" in capsys.readouterr().out
