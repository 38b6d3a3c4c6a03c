"""Any Lightning logger, several at once: the run directory is lmmcl's, the same whatever the loggers; scalars,
figures and sample tables reach each logger through its own API; lmmcl report rebuilds from what the folder holds."""

import json
from pathlib import Path

import pytest

from lmmcl.report.tensorboard import report_from_tensorboard
from lmmcl.train.cli import run

CSV = "lightning.pytorch.loggers.CSVLogger"
WANDB = "lightning.pytorch.loggers.WandbLogger"


def loggers_flag(logs: Path, *class_paths: str) -> list[str]:
    entries = [{"class_path": c, "init_args": {"save_dir": str(logs), **({"offline": True} if c == WANDB else {})}}
               for c in class_paths]
    return ["--trainer.logger", json.dumps(entries)]


@pytest.fixture(scope="module")
def csv_and_wandb_run(tmp_path_factory, cli_fit_args):
    logs = tmp_path_factory.mktemp("logs")
    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("WANDB_SILENT", "true")
    mp.setenv("WANDB_DIR", str(logs))  # wandb's own settings and caches, not the home directory
    try:
        run([*cli_fit_args, "--trainer.callbacks", "[{class_path: lmmcl.data.show.SkillGallery, init_args: {n: 2}}]",
             *loggers_flag(logs, CSV, WANDB)])
    finally:
        mp.undo()
    return next(logs.glob("tiny_scratch/mlp_gate_up/version_*"))


def test_the_run_directory_is_lmmcls_whatever_the_loggers(csv_and_wandb_run):
    folder = csv_and_wandb_run
    names = {p.name for p in folder.iterdir()}
    assert {"report.json", "report.md", "accuracy_matrix.png", "samples", "checkpoints", "config.yaml",
            "metrics.csv", "wandb"} <= names
    assert not any(folder.glob("events.out.tfevents*"))  # no TensorBoard logger, no TensorBoard file
    report = json.loads((folder / "report.json").read_text())
    assert [s["name"] for s in report["stages"]] == ["base", "species", "count"]


def test_lmmcl_report_rebuilds_the_matrix_from_metrics_csv(csv_and_wandb_run):
    report = json.loads((csv_and_wandb_run / "report.json").read_text())
    rebuilt = report_from_tensorboard(csv_and_wandb_run)  # the logged scalars: here the CSVLogger's
    assert [s["name"] for s in rebuilt["stages"]] == [s["name"] for s in report["stages"]]
    for got, want in zip(rebuilt["stages"], report["stages"]):
        assert got["scores"] == pytest.approx(want["scores"])
    assert rebuilt["summary"] == pytest.approx(report["summary"])


def test_wandb_gets_figures_and_sample_tables_through_its_own_api(csv_and_wandb_run):
    run_files = next((csv_and_wandb_run / "wandb").glob("offline-run-*"))
    media = {str(p.relative_to(run_files / "files" / "media")) for p in (run_files / "files" / "media").rglob("*.*")}
    for folder in ("images/report/accuracy_matrix_", "images/skills/species_", "table/samples/count_"):
        assert any(m.startswith(folder) for m in media), folder  # figures and sample tables: W&B media
    tables = run_files / "files" / "media" / "table" / "samples"
    table = json.loads(next(p for p in tables.glob("count_*")).read_text())
    assert table["columns"] == ["score", "prediction", "references", "question"]
    history = next(run_files.glob("*.wandb")).read_bytes()  # the scalars, in W&B's binary run file
    assert b"stage/count" in history and b"params/trainable" in history


@pytest.mark.slow
def test_csv_logger_writes_the_same_report_as_the_default_logger(cli_fit_args, tmp_path):
    reports = []
    for name, flags in (("default", []), ("csv", ["--trainer.logger", CSV])):
        run([*cli_fit_args, *flags, "--trainer.logger.init_args.save_dir", str(tmp_path / name)])
        reports.append(json.loads(next((tmp_path / name).glob("*/*/version_*/report.json")).read_text()))
    assert reports[0] == reports[1]
