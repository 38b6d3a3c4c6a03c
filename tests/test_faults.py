"""Fault injection: a run SIGKILLed at seeded random points (mid-stage, mid-evaluation, during a checkpoint write,
between a stage checkpoint and last.ckpt, during a report write), then resumed as a user would, ends with the
report and weights of an uninterrupted run; no half-written file is ever left where a resume reads.

Runs are forked from the test process (imports paid once) and killed by ``LMMCL_KILL_AT`` (lmmcl.faults).
``LMMCL_FAULT_SEED`` picks other kill points (default 0: the suite is reproducible).
"""

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from lmmcl.cli import main
from lmmcl.faults import FAULT_LOG, KILL_AT

POINTS = ("train_batch", "eval_batch", "checkpoint_write", "checkpoint_link", "report_write")
RUN = Path("tiny_scratch") / "mlp_gate_up"
TIMEOUT_S = 300
TEMPORARIES = {"checkpoint_write": "checkpoints/*.ckpt.tmp", "report_write": "report.*.*"}


def forked(argv: list[str], env: dict[str, str]) -> int:
    """Exit code of ``lmmcl <argv>`` in a forked child (-9 when SIGKILLed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 3
        try:
            os.environ.update(env)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1), os.dup2(devnull, 2)
            code = main(argv) or 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)  # a hung child must not hang the suite
    os.waitpid(pid, 0)
    raise AssertionError(f"lmmcl {' '.join(argv)} did not finish in {TIMEOUT_S} s")


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


def nothing_half_written(run_dir: Path) -> None:
    """Every file a resume or a reader opens is whole: checkpoints load, reports parse (temporaries aside)."""
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt"):
        assert "lmmcl_run" in torch.load(ckpt, map_location="cpu", weights_only=False), ckpt
    if (run_dir / "report.json").exists():
        json.loads((run_dir / "report.json").read_text())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked runs (POSIX)")
def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path, cli_fit_args):
    reference_logs, log = tmp_path / "reference", tmp_path / "points.txt"
    assert forked([*cli_fit_args, "--trainer.logger.init_args.save_dir", str(reference_logs)],
                  {FAULT_LOG: str(log)}) == 0
    reference = reference_logs / RUN / "version_0"
    passed = log.read_text().split()
    rng = random.Random(int(os.environ.get("LMMCL_FAULT_SEED", "0")))
    kills = {point: rng.randint(1, passed.count(point)) for point in POINTS}
    assert len(kills) >= 5 and all(passed.count(p) for p in POINTS), passed

    resumed = []
    for point, n in kills.items():
        logs = tmp_path / f"{point}-{n}"
        fit = [*cli_fit_args, "--trainer.logger.init_args.save_dir", str(logs)]
        assert forked(fit, {KILL_AT: f"{point}:{n}"}) == -9, point
        killed = logs / RUN / "version_0"
        nothing_half_written(killed)
        if point in TEMPORARIES:  # the half-written file exists, under a name nothing reads
            assert list(killed.glob(TEMPORARIES[point])), (point, sorted(p.name for p in killed.rglob("*")))
        last = killed / "checkpoints" / "last.ckpt"
        if last.exists():  # resume the run that was killed, in its own directory
            assert forked([*fit, "--ckpt_path", str(last)], {}) == 0, point
            done = killed
            resumed.append(point)
        else:  # killed before its first checkpoint: nothing to resume, start again (a new version)
            assert forked(fit, {}) == 0, point
            done = logs / RUN / "version_1"
        for report in ("report.json", "report.md"):
            assert (done / report).read_text() == (reference / report).read_text(), (point, report)
        got, want = weights(done), weights(reference)
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want), point
    assert resumed, f"no kill point {kills} fell after a checkpoint: the resume path went untested"
