"""The evaluation breakdown benchmark runs on a tiny suite and reports every part."""

from benchmarks import eval_breakdown


def test_eval_breakdown_times_every_part(tmp_path):
    result = eval_breakdown.main(["--skills", "color", "count", "--test-size", "4", "--eval-batch-size", "4",
                                  "--train-size", "8", "--batch-size", "4", "--repeats", "1",
                                  "--out", str(tmp_path / "r.json")])
    assert set(result["evaluation"]) == set(result["training"]) == {"draw", "collate", "model"}
    assert all(v > 0 for v in result["evaluation"].values()) and result["first_over_later"] > 0
    assert (tmp_path / "r.json").exists()
