"""Layer contribution: the answer-token mask is shifted, a one-layer change shows where it is, and a finished run's
model is measured against its base on the counting-bias probe's prompts."""

import copy
import json

import pytest
import torch

from lmmcl.data.collate import answer_positions
from lmmcl.eval.layers import answer_batches, layer_contributions, main
from lmmcl.models import load_model

PERTURBED = 1  # of the tiny model's 4 language-model layers: some before it, some after


def perturb_mlp(model, projection="down_proj"):
    """Layer PERTURBED's MLP ``projection`` weight moved by seeded noise: a tune of that one block."""
    weight = getattr(model.get_decoder().layers[PERTURBED].mlp, projection).weight
    with torch.no_grad():
        weight.add_(0.1 * torch.randn(weight.shape, generator=torch.Generator().manual_seed(0)))


@pytest.fixture(scope="module")
def base_and_tuned():
    base, processor, _ = load_model("tiny_scratch")
    tuned = copy.deepcopy(base)
    perturb_mlp(tuned)
    return base, tuned, processor


def test_prediction_mask_is_the_label_mask_shifted_left():
    # The logits at position p predict token p + 1: answer tokens at 2 and 3 are predicted from 1 and 2.
    labels = torch.tensor([[-100, -100, 7, 8, -100], [-100, -100, -100, -100, 9]])
    assert answer_positions(labels).tolist() == [[False, True, True, False, False],
                                                [False, False, False, True, False]]


def check_one_layer_change(layers):
    """What a change to layer PERTURBED's MLP alone does to the per-block contributions."""
    for row in layers[:PERTURBED]:  # earlier layers see identical inputs and weights: no change at all
        assert row["self_attn"] == pytest.approx(0.0, abs=1e-6) and row["mlp"] == pytest.approx(0.0, abs=1e-6)
    # In the perturbed layer self-attention runs before the MLP, so it is unchanged; the MLP is the change.
    assert layers[PERTURBED]["self_attn"] == pytest.approx(0.0, abs=1e-6)
    assert layers[PERTURBED]["mlp"] > 1e-3
    # Later layers read the residual stream that now carries the MLP's change, so both their blocks move
    # although their weights are identical: a contribution measures the block's output, not its weights.
    for row in layers[PERTURBED + 1:]:
        assert row["self_attn"] > 0 and row["mlp"] > 0


def test_one_perturbed_mlp_shows_at_its_layer_and_not_before(base_and_tuned):
    base, tuned, processor = base_and_tuned
    result = layer_contributions(base, tuned, answer_batches(processor, "count", n=4, batch_size=4))
    assert [r["layer"] for r in result["layers"]] == [0, 1, 2, 3]
    assert result["answer_positions"] >= 4 * 2  # each count answer: at least one token plus end-of-sequence
    check_one_layer_change(result["layers"])
    same = layer_contributions(base, base, answer_batches(processor, "count", n=4, batch_size=4))
    assert all(r["self_attn"] == 0 and r["mlp"] == 0 for r in same["layers"])


def test_cli_reads_a_run_checkpoint_and_a_pretrained_dir(base_and_tuned, tmp_path):
    from lmmcl.models.tiny import save_checkpoint

    base, tuned, processor = base_and_tuned
    save_checkpoint(tmp_path / "base", base, processor)
    ckpt = tmp_path / "stage1-count.ckpt"  # what a run's checkpoint holds: "model."-prefixed weights, the preset
    torch.save({"state_dict": {f"model.{k}": v for k, v in tuned.state_dict().items()},
                "hyper_parameters": {"preset": "tiny_scratch", "model_path": None, "dtype": None}}, ckpt)
    out = tmp_path / "out"
    assert main([str(tmp_path / "base"), str(ckpt), "--skill", "count", "--n", "4", "--out", str(out)]) == 0
    result = json.loads((out / "layers.json").read_text())
    assert result["skill"] == "count" and "RMSNorm not applied" in result["projection"]
    check_one_layer_change(result["layers"])
    assert (out / "layers.png").stat().st_size > 0
    assert any(p.name.startswith("events.out.tfevents") for p in out.iterdir())
