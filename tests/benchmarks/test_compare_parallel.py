"""The compare_parallel benchmark: each variant's command line, and (slow) a whole tiny run of it."""

import argparse

import pytest

from benchmarks import compare_parallel


def test_each_variant_runs_the_same_compare_with_its_own_option(tmp_path):
    args = argparse.Namespace(preset="tiny_scratch", recipes=["mlp", "lora"], seeds=[0, 1], jobs=3, full=False)
    commands = {v: compare_parallel.compare_command(args, v, tmp_path / v)
                for v in ("serial", "serial_1", "jobs", "serial_no_cache")}
    assert {v: c[c.index("--jobs") + 1] for v, c in commands.items()} == \
        {"serial": "1", "serial_1": "1", "jobs": "3", "serial_no_cache": "1"}  # --jobs defaults to one per CPU
    assert "--no-base-cache" in commands["serial_no_cache"] and "--no-base-cache" not in commands["serial"]
    assert all(c[c.index("--recipes") + 1:c.index("--recipes") + 3] == ["mlp", "lora"] for c in commands.values())
    assert all(str(tmp_path / v / "logs") in c for v, c in commands.items())  # each its own folders


@pytest.mark.slow
def test_a_tiny_benchmark_run_finds_identical_reports(tmp_path):
    result = compare_parallel.main(["--recipes", "mlp_gate_up", "sa_proj", "--seeds", "0", "--variants", "serial_1",
                                    "jobs", "--out", str(tmp_path / "r.json")])
    assert result["identical"] == {"serial_1": True, "jobs": True} and result["ratios"]["serial_1_over_jobs"] > 0
