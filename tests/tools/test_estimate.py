"""The --dry-run estimate: rates from a pool's finished runs, and their schedule over the workers."""

import json

from lmmcl.tools.estimate import DEFAULT_RATES, makespan, measured_rates, run_seconds


def test_runs_are_scheduled_in_order_on_the_first_free_worker():
    assert makespan([3, 3, 2, 2], 2) == 5 and makespan([3, 3, 2, 2], 1) == 10 and makespan([4, 1, 1, 1, 1], 2) == 4


def test_rates_come_from_the_finished_runs_when_there_are_any(tmp_path):
    assert measured_rates(tmp_path) == {**DEFAULT_RATES, "source": "defaults (tiny, batch 32, one thread)"}
    (tmp_path / "done").mkdir()
    for k, (train, batches, evaluation, evaluations) in enumerate([(10.0, 100, 6.0, 3), (30.0, 300, 2.0, 1)]):
        phases = {"training_s": train, "evaluation_s": evaluation, "other_s": 1.0, "evaluations": evaluations,
                  "batches": batches}
        (tmp_path / "done" / f"run{k}.json").write_text(json.dumps({"row": {"phases": phases}}))
    rates = measured_rates(tmp_path)
    assert (rates["step_s"], rates["evaluation_s"]) == (0.1, 2.0) and "2 finished runs" in rates["source"]
    assert run_seconds(50, 3, rates) == 11.0
