"""Drift-vs-forgetting correlation: the statistics, and points from reports."""

import json

import pytest

from lmmcl.eval.drift_correlation import correlate, from_runs, pearson, points, ranks, render, spearman


def test_statistics_on_known_values():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2], [1, 2]) is None and pearson([1, 1, 1], [1, 2, 3]) is None
    assert ranks([10, 30, 20, 20]) == [1, 4, 2.5, 2.5]
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)   # monotone, not linear
    assert pearson([1, 2, 3, 4], [1, 8, 27, 64]) < 1.0


def _report(kls, heldout):
    stages = [{"name": "base", "scores": {"a": 0, "h": heldout[0]}}]
    stages += [{"name": f"s{k}", "scores": {"a": 0, "h": h}} for k, h in enumerate(heldout[1:])]
    drift = [{"stage": f"s{k}", "stage_steps": 10, "steps": [0, 1, 5, 10], "kl": [0, kl / 10, kl / 2, kl]}
             for k, kl in enumerate(kls)]
    return {"skills": [f"s{k}" for k in range(len(kls))], "heldout": ["h"], "stages": stages, "drift": drift}


def test_points_pair_each_stage_with_its_heldout_drop(tmp_path):
    report = _report([0.1, 0.4, 0.2], [80, 78, 60, 55])
    got = points("mlp", report)
    assert [(p["stage"], p["heldout_drop"], p["kl_end"], p["kl_10pct"]) for p in got] == \
        [("s0", 2, 0.1, 0.01), ("s1", 18, 0.4, 0.04), ("s2", 5, 0.2, 0.02)]
    (tmp_path / "report.json").write_text(json.dumps(report))
    result = from_runs([{"run_dir": str(tmp_path), "recipe": "mlp"}])
    assert result["kl_end"]["n"] == 3 and result["kl_end"]["spearman"] == pytest.approx(1.0)
    assert "KL at end of stage  Pearson r" in render(result) and "n = 3" in render(result)
    assert "fewer than 3 points" in render(correlate(got[:2]))
