"""The restore analysis: which blocks it puts back, that it puts them back exactly and undoes it, and on a real run
(in the process that trained it, and from its directory) that its final evaluation is the run's own last row."""

import json
from pathlib import Path

import pytest
import torch

from lmmcl.errors import LmmclError
from lmmcl.eval.layers import decoder_layers
from lmmcl.eval.restore import GROUPS, analyse_run, group_layers, restored


def test_the_halves_leave_an_odd_counts_middle_layer_out():
    assert (group_layers(4, "early"), group_layers(4, "late")) == ([0, 1], [2, 3])
    assert (group_layers(5, "early"), group_layers(5, "late")) == ([0, 1], [3, 4])
    assert set(GROUPS) == {"late_mlp", "late_attention", "early_mlp"}


def test_restoring_puts_the_base_weights_in_and_takes_them_out_again():
    from lmmcl.models import load_model

    base, _, _ = load_model("tiny_scratch")
    tuned, _, _ = load_model("tiny_scratch")
    with torch.no_grad():
        decoder_layers(tuned)[3].mlp.up_proj.weight.add_(1.0)
    tuned_before = {k: v.clone() for k, v in tuned.state_dict().items()}
    with restored(tuned, base, "mlp", [2, 3]) as counts:
        assert counts == {"tensors": 6, "changed_tensors": 1}  # gate, up, down of two layers; one had moved
        assert torch.equal(decoder_layers(tuned)[3].mlp.up_proj.weight, decoder_layers(base)[3].mlp.up_proj.weight)
    assert all(torch.equal(v, tuned.state_dict()[k]) for k, v in tuned_before.items())  # undone
    with restored(tuned, base, "self_attn", [2, 3]) as counts:
        assert counts["changed_tensors"] == 0  # never trained: nothing to put back

    decoder_layers(tuned)[2].mlp.register_parameter("lora_B", torch.nn.Parameter(torch.zeros(2)))
    with pytest.raises(LmmclError, match="has parameters its base lacks .*lora_B"):
        with restored(tuned, base, "mlp", [2, 3]):
            pass
    assert all(torch.equal(v, tuned.state_dict()[k]) for k, v in tuned_before.items())  # a refusal changes nothing


def test_a_real_run_restored_in_its_process_and_from_its_directory(cli_fit_args, tmp_path):
    from lmmcl.tools.finish import PHASE_TIMER, finish_run
    from lmmcl.train.cli import run

    probe = '--trainer.callbacks+={"class_path": "lmmcl.eval.probe.CountingBiasProbe", "init_args": {"n": 4}}'
    cli = run([*cli_fit_args, "--data.heldout", "[color, caption]", probe, PHASE_TIMER,
               "--trainer.logger.init_args.save_dir", str(tmp_path)])
    row = finish_run(cli, 1.0, restore=True)
    run_dir = Path(cli.trainer.log_dir)
    here = json.loads((run_dir / "restore.json").read_text())
    report = json.loads((run_dir / "report.json").read_text())
    # the final weights evaluated by the analysis are the run's last accuracy-matrix row and probe entry
    assert here["final"]["heldout"] == {h: report["stages"][-1]["scores"][h] for h in report["heldout"]}
    assert here["final"]["noncounting_mass"] == report["counting_bias"][-1]["heldout"]["mass_mean"]
    gate_up = here["groups"]  # mlp_gate_up (the default config's recipe): gate and up trained, down and attention not
    assert gate_up["late_mlp"]["changed_tensors"] == 4 and gate_up["late_attention"]["changed_tensors"] == 0
    attention = gate_up["late_attention"]
    assert attention["heldout_mean_change"] == 0.0 and attention["noncounting_mass_change"] == 0.0
    assert row["restore"]["path"] == str(run_dir / "restore.json")
    phases = row["phases"]  # the PhaseTimer: base row + 2 stages evaluated, 2 stages x 4 batches trained
    assert phases["evaluations"] == 3 and phases["batches"] == 8 and phases["training_s"] > 0 < phases["evaluation_s"]

    again = analyse_run(run_dir)  # lmmcl restore RUN_DIR: from its config.yaml and checkpoints/last.ckpt
    # the same scores; the same masses up to float32 rounding (~1e-9: the loaded model sums in another order)
    mine, theirs = leaves(again), leaves(here)
    floats = {k for k, v in theirs.items() if isinstance(v, float)}
    assert mine.keys() == theirs.keys() and {k: mine[k] for k in theirs.keys() - floats} == {
        k: theirs[k] for k in theirs.keys() - floats}
    assert {k: mine[k] for k in floats} == pytest.approx({k: theirs[k] for k in floats}, rel=1e-6, abs=1e-8)
    assert again["final"]["heldout"] == here["final"]["heldout"]  # the scores exactly
    assert all(again["groups"][g]["heldout"] == here["groups"][g]["heldout"] for g in GROUPS)


def leaves(tree, path=""):
    """Every number of a JSON tree by its path, but the seconds."""
    if isinstance(tree, dict):
        return {k: v for key, child in tree.items() if key != "seconds"
                for k, v in leaves(child, f"{path}.{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, child in enumerate(tree) for k, v in leaves(child, f"{path}[{i}]").items()}
    return {path: tree}
