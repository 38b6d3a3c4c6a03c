import json

from lmmcl.tools.claims import judge, recovery, render_claims
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
