"""Lightning's flags that bound a run act per stage or are refused in seconds; a run that ends before its last stage
says which stages did not train, keeps what it has, and fails unless its config asked for the stop."""

import json
import time
from pathlib import Path

import pytest
from lightning.pytorch import Callback

from lmmcl.errors import LmmclError
from lmmcl.train.cli import run


class StopInStage(Callback):
    """Sets trainer.should_stop (or presses Ctrl-C) at the first batch of stage ``stage`` (0-based)."""

    def __init__(self, stage: int = 1, interrupt: bool = False):
        self.stage, self.interrupt = stage, interrupt

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.current_epoch == self.stage:
            if self.interrupt:
                raise KeyboardInterrupt
            trainer.should_stop = True


class SlowFirstBatch(Callback):
    """Takes ``seconds`` longer over the first training batch: a one-second time limit passes inside stage 1."""

    def __init__(self, seconds: float = 1.5):
        self.seconds, self.slept = seconds, False

    def on_train_batch_end(self, trainer, *args) -> None:
        if not self.slept:
            self.slept = True
            time.sleep(self.seconds)


def fit(cli_fit_args: list[str], logs: Path, *extra: str) -> dict:
    run([*cli_fit_args, "--trainer.logger.init_args.save_dir", str(logs), *extra])
    return report_of(logs)


def report_of(logs: Path) -> dict:
    return json.loads(next(logs.glob("*/*/version_*/report.json")).read_text())


def test_max_steps_bounds_every_stage(cli_fit_args, tmp_path, capsys):
    report = fit(cli_fit_args, tmp_path, "--trainer.max_steps", "2")
    assert [s["name"] for s in report["stages"]] == ["base", "species", "count"]
    assert [s["train_samples"]["trained"] for s in report["stages"][1:]] == [8, 8]  # 2 steps of 4 samples each
    assert "stopped" not in report and "[lmmcl] done." in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--trainer.max_epochs", "5"], r"--trainer.max_epochs 5 cannot apply: a stage is one epoch .* \(2\)"),
    (["--trainer.limit_train_batches", "0"], r"--trainer.limit_train_batches 0 would train no stage"),
    (["--trainer.max_steps", "0"], r"--trainer.max_steps 0 would train no stage"),
    (["--trainer.max_time", "00:00:00:00"], r"--trainer.max_time 00:00:00:00 would train no stage"),
    (["--trainer.max_steps", "2", "--trainer.limit_train_batches", "0.5"], r"both bound each stage; give one"),
])
def test_flags_that_cannot_bound_a_stage_are_refused_before_anything_runs(cli_fit_args, tmp_path, flags, message):
    with pytest.raises(LmmclError, match=message):
        fit(cli_fit_args, tmp_path, *flags)
    assert not any(tmp_path.rglob("*.ckpt"))


@pytest.mark.slow
def test_a_time_limit_ends_the_run_as_asked_and_says_what_did_not_train(cli_fit_args, tmp_path, capsys):
    slow = json.dumps([{"class_path": "tests.train.test_run_bounds.SlowFirstBatch"}])
    report = fit(cli_fit_args, tmp_path, "--trainer.max_time", "00:00:00:01", "--trainer.callbacks", slow)
    stopped = report["stopped"]
    assert stopped["asked"] and "trainer.max_time" in stopped["reason"]
    assert stopped["cut_short"]["stage"] == "species" and stopped["untrained"] == ["count"]
    assert "stopped early as asked" in capsys.readouterr().out
    folder = next(tmp_path.glob("*/*/version_*"))
    assert "Stages that did not train: count" in (folder / "report.md").read_text()
    assert not any(folder.rglob("*.ckpt"))  # the cut stage is not checkpointed


@pytest.mark.slow
def test_a_stop_nobody_asked_for_fails_the_run(cli_fit_args, tmp_path):
    stop = json.dumps([{"class_path": "tests.train.test_run_bounds.StopInStage", "init_args": {"stage": 1}}])
    with pytest.raises(LmmclError, match="The run ended before its last stage: trainer.should_stop was set"):
        fit(cli_fit_args, tmp_path, "--trainer.callbacks", stop)
    stopped = report_of(tmp_path)["stopped"]
    assert not stopped["asked"] and stopped["cut_short"]["stage"] == "count" and stopped["untrained"] == []
    assert [p.name for p in tmp_path.rglob("stage*.ckpt")] == ["stage1-species.ckpt"]


@pytest.mark.slow
def test_ctrl_c_keeps_the_report_and_exits_non_zero(cli_fit_args, tmp_path):
    stop = json.dumps([{"class_path": "tests.train.test_run_bounds.StopInStage",
                        "init_args": {"stage": 1, "interrupt": True}}])
    with pytest.raises(SystemExit) as exit:
        fit(cli_fit_args, tmp_path, "--trainer.callbacks", stop)
    assert exit.value.code == 1
    stopped = report_of(tmp_path)["stopped"]
    assert stopped["reason"] == "interrupted (Ctrl-C)" and stopped["cut_short"]["stage"] == "count"
    assert stopped["cut_short"]["trained_batches"] == 1  # pressed after the first batch's step
