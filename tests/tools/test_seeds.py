import pytest

from lmmcl.tools.seeds import aggregate, with_spread


def test_aggregate_gives_mean_std_and_per_seed_values_per_recipe():
    rows = [{"recipe": "full", "seed": s, "learning": v, "heldout_final": -v, "heldout_mean": None,
             "trainable_params": 10, "wall_time_s": 2.0} for s, v in ((0, 10.0), (1, 20.0), (2, 30.0))]
    rows.append({"recipe": "mlp", "seed": 0, "learning": 5.0, "heldout_final": 1.0, "heldout_mean": 0.5,
                 "trainable_params": 4, "wall_time_s": 1.0})
    full, mlp = aggregate(rows)
    assert full["recipe"] == "full" and full["seeds"] == [0, 1, 2]
    assert full["learning"] == 20.0 and full["learning_std"] == pytest.approx(10.0)  # sample std
    assert full["heldout_final_per_seed"] == [-10.0, -20.0, -30.0]
    assert full["heldout_mean"] is None and full["heldout_mean_per_seed"] == [None] * 3
    assert mlp["learning_std"] == 0.0 and mlp["seeds"] == [0]


def test_with_spread_formats_mean_and_std():
    assert with_spread(12.345, 1.44) == "+12.3 ± 1.4"
    assert with_spread(-3.0, 0.0) == "-3.0" and with_spread(None, None) == "-"
