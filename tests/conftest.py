"""Shared fixtures: a tiny Trainer setup that runs real fits in seconds."""

from __future__ import annotations

import os
import warnings

from lmmcl import cpu

cpu.pin()  # before torch starts, as `lmmcl` does: tests take the CLI's code path

import lightning.pytorch  # noqa: E402,F401  (see below)
import pytest  # noqa: E402
import torch  # noqa: E402

# One thread: on a shared 2-core machine, OpenMP spinning with 2 threads makes tiny-model steps far slower.
torch.set_num_threads(1)
# Lightning's log handler binds the sys.stderr of its first import: imported here, that is the test run's stream,
# not a test's capsys stream that closes with the test (later Lightning logs would print a logging traceback).

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore", ".*does not have many workers.*")


@pytest.fixture
def tiny_data_kwargs() -> dict:
    return dict(skills=["species", "count"], heldout=["color", "exist"], train_size=16, test_size=8,
                batch_size=8, eval_batch_size=8)


@pytest.fixture
def make_trainer(tmp_path):
    """Build a Trainer configured like the CLI's default, logging under tmp_path."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.loggers import TensorBoardLogger

    def make(callbacks, **overrides):
        kwargs = dict(accelerator="cpu", devices=1, reload_dataloaders_every_n_epochs=1, num_sanity_val_steps=0,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      logger=TensorBoardLogger(tmp_path / "logs", name="tiny/test"), log_every_n_steps=1,
                      callbacks=callbacks)
        kwargs.update(overrides)
        return Trainer(**kwargs)

    return make


@pytest.fixture
def local_benchmarks(tmp_path, monkeypatch):
    """Write local copies of real benchmarks (lmmcl.rehearsal.benchmarks) and point LMMCL_DATA_DIR at them:
    ``local_benchmarks(["docvqa"], rows=4)`` -> the data root."""
    from lmmcl.rehearsal.benchmarks import write_benchmarks

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("LMMCL_DATA_DIR", str(tmp_path / "benchmarks"))

    def write(skills: list[str], rows: int = 4):
        return write_benchmarks(tmp_path / "benchmarks", skills, rows)

    return write


@pytest.fixture
def lightning_lines():
    """The messages Lightning's loggers emit during the test (``rank_zero_info`` and the like), in order: a list
    that fills as they come. Its level is INFO for the test, whatever an earlier test in this process set."""
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger, keep = logging.getLogger("lightning.pytorch"), Keep()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(keep)
    yield lines
    logger.removeHandler(keep)
    logger.setLevel(level)


@pytest.fixture(scope="session")
def cli_fit_args() -> list[str]:
    """``lmmcl fit`` arguments of a seconds-long real run: tiny_scratch, two 4-batch stages, one held-out skill."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs" / "experiment"
    return ["fit", "--config", str(configs / "default.yaml"), "--config", str(configs / "smoke.yaml"),
            "--model.preset", "tiny_scratch", "--data.train_size", "16", "--data.batch_size", "4",
            "--data.test_size", "4", "--data.heldout", "[color]", "--trainer.callbacks", "[]",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def option(args: list[str], name: str) -> str | None:
    """The value after ``name`` in an argument list (its last occurrence: the one that wins), or None."""
    return args[len(args) - 1 - args[::-1].index(name) + 1] if name in args else None


@pytest.fixture
def fake_fit(tmp_path, monkeypatch):
    """``lmmcl fit`` replaced by a fake that writes a run directory (report.json with a counting-bias probe, and
    config.yaml naming the baselines' callbacks) in milliseconds. ``fake_fit.calls`` holds every run's arguments;
    ``fake_fit.stages = f(args)`` sets what a run scores: the accuracy-matrix rows on target ``count`` and held-out
    ``color`` (default: 20 -> 50 and 80 -> 79)."""
    import json
    from types import SimpleNamespace

    import yaml

    from lmmcl.report import build_report
    from lmmcl.train import cli as train_cli

    def default_stages(args):
        return [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
                {"name": "count", "scores": {"count": 50.0, "color": 79.0}}]

    def run(args):
        fake.calls.append(args)
        fake.made += 1
        folder = tmp_path / "fake_runs" / f"run{fake.made}"
        folder.mkdir(parents=True)
        stages = fake.stages(args)
        bias = [{"stage": s["name"], "target": {"mass_mean": 0.5}, "heldout": {"mass_mean": 0.1}} for s in stages]
        report = build_report("tiny", option(args, "--recipe.name"), ["count"], ["color"], stages, 1, 2,
                              counting_bias=bias)
        (folder / "report.json").write_text(json.dumps(report))
        classes = {"lwf": "lmmcl.baselines.LwF", "wise_ft": "lmmcl.baselines.WiSEFT", "moe": "lmmcl.baselines.MoE"}
        baselines = [a.rpartition("/")[2].removesuffix(".yaml") for a in args
                     if a.startswith("--trainer.callbacks+=") and a.endswith(".yaml")]
        (folder / "config.yaml").write_text(yaml.safe_dump(
            {"trainer": {"callbacks": [{"class_path": classes[b]} for b in baselines]}}))
        return SimpleNamespace(trainer=SimpleNamespace(log_dir=str(folder), callbacks=[]))

    fake = SimpleNamespace(calls=[], made=0, stages=default_stages, run=run)
    monkeypatch.setattr(train_cli, "run", run)
    return fake
