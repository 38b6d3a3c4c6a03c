"""Frontiers and the matched-learning comparison, on hand-made points with hand-computed answers."""

import pytest

from lmmcl.tools.frontier import Point, bootstrap_matched, interpolate, matched, pareto

LLM = [Point(0, 0), Point(30, 30)]  # forgetting = learning


def test_the_frontier_keeps_the_points_nothing_beats():
    points = [Point(10, 5), Point(20, 8), Point(15, 9), Point(20, 12), Point(5, 5), Point(10, 5)]
    # (15, 9) and (20, 12) lose to (20, 8); (5, 5) to (10, 5), which learns more for the same forgetting
    assert pareto(points) == [Point(10, 5), Point(20, 8)]
    assert interpolate(pareto(points), [10, 15, 20]).tolist() == [5.0, 6.5, 8.0]


def test_forgetting_at_matched_learning_over_the_overlap():
    m = matched([Point(10, 5), Point(20, 8)], LLM)
    # overlap 10 ... 20; the mean of a straight segment is the mean of its ends: (5 + 8) / 2 against (10 + 20) / 2
    assert m["overlap"] == [10, 20]
    assert m["forgetting"] == pytest.approx(6.5) and m["forgetting_reference"] == pytest.approx(15)
    assert m["difference"] == pytest.approx(-8.5) and m["ratio"] == pytest.approx(6.5 / 15)
    assert matched([Point(40, 1), Point(50, 2)], LLM) is None  # learns more than llm ever does: nothing to match
    assert matched([Point(10, 1)], [Point(0, -5), Point(30, -1)])["ratio"] is None  # llm gains: no ratio
    assert matched([Point(12, 3)], LLM)["overlap"] == [12, 12]  # one budget on the front: one point


def test_one_recipe_on_the_others_frontier_forgets_as_much():
    # mlp_gate_up behaving like llm at a lower LR: its points lie on llm's line, the ratio is 1
    m = matched([Point(8, 8), Point(16, 16), Point(24, 24)], LLM)
    assert m["ratio"] == pytest.approx(1.0) and m["difference"] == pytest.approx(0.0)


def test_the_seed_bootstrap_resamples_seeds_within_each_budget():
    # llm: the same at every seed. The narrow recipe learns 20 at both budgets, forgetting 2 on seed 0 and 4 on seed 1:
    # its front is the better of its two budgets at learning 20, where llm forgets 20. A resample draws two seeds per
    # budget: a budget's mean is 2 (p 1/4), 3 (1/2) or 4 (1/4), and the front takes the smaller of two: 2 with p 7/16,
    # 3 with 8/16, 4 with 1/16 (> 2.5 %): the interval of the ratio is [2/20, 4/20] around 3/20.
    cells = {"llm": {b: {0: (10.0, 10.0), 1: (10.0, 10.0)} if b == "b1" else {0: (30.0, 30.0), 1: (30.0, 30.0)}
                     for b in ("b1", "b2")},
             "narrow": {b: {0: (20.0, 2.0), 1: (20.0, 4.0)} for b in ("b1", "b2")}}
    out = bootstrap_matched(cells, "llm", resamples=2000, seed=0)["narrow"]
    assert out["ratio"] == pytest.approx(3 / 20) and out["overlap"] == [20.0, 20.0]
    assert out["ci95"]["ratio"] == pytest.approx([0.1, 0.2]) and out["ci95"]["difference"] == pytest.approx([-18, -16])
    assert out["resamples_without_overlap"] == 0 and out["resamples"] == 2000
    assert bootstrap_matched(cells, "llm", resamples=2000, seed=0)["narrow"] == out  # a fixed RNG seed: the same


def test_no_interval_around_a_comparison_the_seed_means_do_not_have():
    # seed means: llm learns 25 and 45 at its two budgets, the narrow recipe 20 and 10: no common learning. A
    # resample drawing seed 1 twice at b1 gives both 30 there and an overlap by chance (1 in 4): it must not make
    # an interval around a value the data do not have
    cells = {"llm": {"b1": {0: (20.0, 20.0), 1: (30.0, 30.0)}, "b2": {0: (40.0, 40.0), 1: (50.0, 50.0)}},
             "narrow": {"b1": {0: (10.0, 1.0), 1: (30.0, 3.0)}, "b2": {0: (5.0, 0.5), 1: (15.0, 1.5)}}}
    out = bootstrap_matched(cells, "llm", resamples=200)["narrow"]
    assert out["overlap"] is None and out["ci95"] == {"difference": None, "ratio": None}
    assert 0 < out["resamples_without_overlap"] < 200
