import json
from pathlib import Path

import pytest

from lmmcl.tools.claims import judge, late_mlp_numbers, recovery, render_claims
from lmmcl.report import build_report
from lmmcl.tools.seeds import aggregate

SKILLS, HELDOUT = ["count", "clock"], ["color", "shape"]


def _report(tmp_path, recipe, seed, learn, heldout_after, mass_after):
    """A run whose held-out scores move by heldout_after[k] after stage k, with a probe entry per stage."""
    base = {"count": 20.0, "clock": 0.0, "color": 80.0, "shape": 70.0}
    stages = [{"name": "base", "scores": base}]
    for k, (skill, change) in enumerate(zip(SKILLS, heldout_after)):
        scores = {s: base[s] + (learn if s == skill or (k and s == SKILLS[0]) else 0.0) for s in SKILLS}
        scores |= {h: base[h] + change for h in HELDOUT}
        stages.append({"name": skill, "scores": scores})
    bias = [{"stage": row["name"], "target": {"mass_mean": 0.9}, "heldout": {"mass_mean": m}}
            for row, m in zip(stages, [0.1, *mass_after])]
    report = build_report("tiny", recipe, SKILLS, HELDOUT, stages, 1, 2, counting_bias=bias)
    run = tmp_path / recipe / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "report.json").write_text(json.dumps(report))
    return {"recipe": recipe, "seed": seed, "run_dir": str(run), "trainable_params": 1, **report["summary"]}


def _rows(tmp_path, forget):
    """forget[recipe] = (learning, held-out change after stage 1, after stage 2) for two seeds each."""
    runs = [_report(tmp_path, r, s, learn + s, (h1, h2), (0.1 - h1 / 100, 0.1 - h2 / 100))
            for r, (learn, h1, h2) in forget.items() for s in (0, 1)]
    return aggregate(runs)


def test_paper_like_runs_reproduce_a_b_c(tmp_path):
    rows = _rows(tmp_path, {"full": (30.0, -40.0, -20.0), "llm": (30.0, -35.0, -18.0),
                            "sa_proj": (26.0, -2.0, -1.0), "mlp_gate_up": (28.0, -6.0, -3.0)})
    claims = judge(rows)
    assert claims["a_narrow_recipes_learn_without_forgetting"]["verdict"] == "reproduced"
    assert claims["b_heldout_drops_recover"]["verdict"] == "reproduced"
    c = claims["c_counting_bias_tracks_forgetting"]
    assert c["verdict"] == "reproduced" and c["n"] == 16 and c["r"] < -0.9
    assert claims["d_late_mlp_drives_output_shift"]["verdict"] == "not measured"  # no layers.json: never "reproduced"
    md = render_claims(claims, [0, 1])
    assert "seeds: 0, 1" in md and md.count("| reproduced |") == 3


def test_forgetting_everywhere_is_not_reproduced_with_its_numbers(tmp_path):
    rows = _rows(tmp_path, {"full": (30.0, -40.0, -45.0), "llm": (30.0, -35.0, -40.0),
                            "sa_proj": (10.0, -30.0, -40.0), "mlp_gate_up": (12.0, -30.0, -42.0)})
    claims = judge(rows)
    a = claims["a_narrow_recipes_learn_without_forgetting"]
    assert a["verdict"] == "not reproduced" and "sa_proj +10.5 ± 0.7 / -40.0" in a["detail"]
    assert claims["b_heldout_drops_recover"]["verdict"] == "not reproduced"


def test_missing_recipes_are_not_measured(tmp_path):
    claims = judge(_rows(tmp_path, {"mlp": (10.0, -1.0, -1.0)}))
    assert claims["a_narrow_recipes_learn_without_forgetting"]["verdict"] == "not measured"


def test_recovery_is_final_minus_worst():
    report = {"heldout": ["color"], "stages": [{"name": "base", "scores": {"color": 80.0}},
                                               {"name": "a", "scores": {"color": 50.0}},
                                               {"name": "b", "scores": {"color": 70.0}}]}
    assert recovery(report) == {"worst": -30.0, "final": -10.0, "recovered": 20.0}


def _layers(row, mlp, attn, trained_mlp=True, seeds=None):
    """A layers.json in each of ``row``'s run directories: per-layer MLP / attention contributions (``mlp[k]`` scaled
    by 1 + k / 10 for the k-th seed), and which blocks the run trained."""
    for k, run_dir in enumerate(row["run_dirs"]):
        scale = 1 + k / 10
        layers = [{"layer": i, "self_attn": a, "mlp": m * scale} for i, (m, a) in enumerate(zip(mlp, attn))]
        trained = {"self_attn": [] if trained_mlp else [0, 1, 2, 3], "mlp": [0, 1, 2, 3] if trained_mlp else []}
        (Path(run_dir) / "layers.json").write_text(json.dumps({"layers": layers, "trained": trained}))


LATE_MLP = ([0.1, 0.2, 0.5, 1.0], [0.0, 0.1, 0.2, 0.3])  # largest MLP change in the last layer, MLP > attention there
EARLY_MLP = ([1.0, 0.5, 0.2, 0.1], [0.0, 0.1, 0.2, 0.3])


def test_late_mlp_is_judged_per_recipe_over_seeds_on_recipes_that_train_mlps(tmp_path):
    rows = {r["recipe"]: r for r in _rows(tmp_path, {"full": (30.0, -40.0, -20.0), "mlp_gate_up": (28.0, -6.0, -3.0),
                                                     "mlp": (20.0, -6.0, -3.0), "sa_proj": (26.0, -2.0, -1.0)})}
    _layers(rows["full"], *LATE_MLP)
    _layers(rows["mlp_gate_up"], *LATE_MLP)
    _layers(rows["mlp"], *EARLY_MLP)
    _layers(rows["sa_proj"], *EARLY_MLP, trained_mlp=False)
    d = judge(list(rows.values()))["d_late_mlp_drives_output_shift"]
    assert d["verdict"] == "reproduced" and d["following"] == ["full", "mlp_gate_up"] and d["recipes"] == 3
    gate_up = d["per_recipe"]["mlp_gate_up"]
    assert (gate_up["n"], gate_up["follows"], gate_up["top_mlp_layer_per_seed"]) == (2, 2, [3, 3])
    shares = [1.5 * s / (1.5 * s + 0.5) for s in (1.0, 1.1)]  # late MLP / (late MLP + late attention), per seed
    assert gate_up["mlp_share_late_per_seed"] == pytest.approx(shares)
    assert gate_up["mlp_share_late"] == pytest.approx(sum(shares) / 2) and gate_up["mlp_share_late_std"] > 0
    assert gate_up["late_share_mlp"] == pytest.approx(1.5 / 1.8)  # of all MLP change, the late half's
    assert d["per_recipe"]["sa_proj"]["mlp_trained"] is False and "not counted: sa_proj" in d["detail"]
    md = render_claims(judge(list(rows.values())), [0, 1])
    assert "Rule: a run follows it when its largest MLP change lies in the last half" in md
    assert "| mlp_gate_up | yes | 2 of 2 | 2-3 of 0-3 | 3 / 3 | 0.76 ± 0.01 | 0.83 | 2 of 2 | follows |" in md
    assert "| sa_proj | no (frozen) |" in md and "every MLP change is carried from" in md

    _layers(rows["mlp_gate_up"], *EARLY_MLP)  # now one of three MLP-training recipes follows
    assert judge(list(rows.values()))["d_late_mlp_drives_output_shift"]["verdict"] == "not reproduced"


def test_the_middle_layer_of_an_odd_count_is_not_late_and_no_change_locates_nothing():
    middle = {"layers": [{"layer": 0, "self_attn": 0.0, "mlp": 0.1}, {"layer": 1, "self_attn": 0.1, "mlp": 1.0},
                         {"layer": 2, "self_attn": 0.1, "mlp": 0.5}]}
    numbers = late_mlp_numbers(middle)  # 3 layers: only layer 2 is late (the old rule took layers 1 and 2)
    assert numbers["first_late"] == 2 and numbers["top_mlp_layer"] == 1 and not numbers["follows"]
    assert numbers["mlp_trained"] is None  # a hand-made lmmcl layers file does not say what trained
    still = {"layers": [{"layer": i, "self_attn": 0.0, "mlp": 0.0} for i in range(4)]}
    assert late_mlp_numbers(still) is None


def test_only_recipes_with_frozen_mlps_leave_late_mlp_not_measured(tmp_path):
    rows = _rows(tmp_path, {"sa_proj": (26.0, -2.0, -1.0)})
    _layers(rows[0], *LATE_MLP, trained_mlp=False)
    d = judge(rows)["d_late_mlp_drives_output_shift"]
    assert d["verdict"] == "not measured" and "no measured recipe trains language-model MLP weights" in d["detail"]
    assert d["per_recipe"]["sa_proj"]["verdict"] == "follows"  # still measured and shown
