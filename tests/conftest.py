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
    """Write local copies of real benchmarks (tests/rehearsal/local_benchmarks.py) and point LMMCL_DATA_DIR at them:
    ``local_benchmarks(["docvqa"], rows=4)`` -> the data root."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent / "rehearsal" / "local_benchmarks.py"
    spec = importlib.util.spec_from_file_location("local_benchmarks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("LMMCL_DATA_DIR", str(tmp_path / "benchmarks"))

    def write(skills: list[str], rows: int = 4):
        return module.write_benchmarks(tmp_path / "benchmarks", skills, rows)

    return write


@pytest.fixture(scope="session")
def cli_fit_args() -> list[str]:
    """``lmmcl fit`` arguments of a seconds-long real run: tiny_scratch, two 4-batch stages, one held-out skill."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs" / "experiment"
    return ["fit", "--config", str(configs / "default.yaml"), "--config", str(configs / "smoke.yaml"),
            "--model.preset", "tiny_scratch", "--data.train_size", "16", "--data.batch_size", "4",
            "--data.test_size", "4", "--data.heldout", "[color]", "--trainer.callbacks", "[]",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
