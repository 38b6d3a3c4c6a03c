"""The partial correlation net of stage and recipe, and its bootstrap over runs, on hand-made points."""

import pytest

from lmmcl.tools.association import Observation, bootstrap_partial_correlation, partial_correlation


def points(run, recipe, xs, ys):
    return [Observation(run, k, recipe, x, y) for k, (x, y) in enumerate(zip(xs, ys), start=1)]


def test_stage_and_recipe_levels_are_taken_out():
    # one recipe, one stage each: the plain Pearson r of x = 1, 2, 3 and y = 1, 3, 2 is 1 / sqrt(2 * 2) = 0.5
    a = [Observation("a", 1, "A", x, y) for x, y in ((1, 1), (2, 3), (3, 2))]
    assert partial_correlation(a) == pytest.approx(0.5)
    # a second recipe at levels 10 and 100 higher: pooled, x and y look almost perfectly related (r ~ 1); net of
    # the recipe the same 0.5 is left
    b = [Observation("b", 1, "B", x + 10, y + 100) for x, y in ((1, 1), (2, 3), (3, 2))]
    assert partial_correlation(a + b) == pytest.approx(0.5)


def test_an_exact_relation_under_stage_effects_is_found_and_a_pure_confound_says_nothing():
    obs = []
    for i, (run, recipe) in enumerate((("r1", "A"), ("r2", "A"), ("r3", "B"), ("r4", "B"))):
        for stage in (1, 2, 3):
            x = ((3 * i + 5 * stage * stage) % 7) / 3.0
            obs.append(Observation(run, stage, recipe, x, -2 * x + 10 * stage + (5 if recipe == "B" else 0)))
    assert partial_correlation(obs) == pytest.approx(-1.0)
    # x only a function of the stage: nothing is left of it once the stage is taken out
    confound = [Observation(o.run, o.stage, o.recipe, float(o.stage), -float(o.stage)) for o in obs]
    assert partial_correlation(confound) is None


def test_the_interval_comes_from_resampling_runs():
    clean = [p for k in range(6) for p in points(f"r{k}", "A", [0.1 * k, 0.2 * k + 0.05], [-k, -2 * k - 0.5])]
    out = bootstrap_partial_correlation(clean, resamples=1000, seed=0)
    assert out["runs"] == 6 and out["points"] == 12 and out["r"] < 0 and out["ci95"][1] < 0
    # half the runs go one way, half the other: the interval straddles 0
    mixed = [p for k in range(6) for p in points(f"r{k}", "A", [0.0, 1.0 + k], [0.0, (-1) ** k * (1.0 + k)])]
    out = bootstrap_partial_correlation(mixed, resamples=1000, seed=0)
    assert out["ci95"][0] < 0 < out["ci95"][1]
    assert bootstrap_partial_correlation(clean[:2])["r"] is None  # two points: nothing to say
