"""The paper experiment's dry run: resolves config, datasets and weights offline, loads nothing."""

import pytest
import yaml

from lmmcl.cli import main
from lmmcl.data.order import apply_order
from lmmcl.train.plan import main as plan_main
from lmmcl.train.plan import resolve_config

PAPER = "configs/experiment/paper.yaml"


def test_paper_dry_run_passes_offline_and_names_every_dataset(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("LMMCL_DATA_DIR", raising=False)
    assert plan_main(["--config", PAPER]) == 0
    out = capsys.readouterr().out
    for name in ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock", "ai2d", "chartqa", "docvqa",
                 "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar"]:
        assert f"\n{name} " in out
    assert "lr: 5.0e-06" in out and "NOT FOUND offline" in out and "MODEL_PATH" in out
    assert "resolved 18 dataset splits" in out


def test_paper_config_is_valid_for_the_training_cli(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", PAPER, "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["data"]["skills"] == ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock"]
    assert config["trainer"]["precision"] == "bf16-mixed" and config["model"]["lr"] == 5e-6


def test_alternative_orders_only_reorder_the_five_skills():
    default = resolve_config([])["data"]["skills"]
    for name in ("order_alt", "order_clock_first"):
        data = resolve_config([f"configs/experiment/{name}.yaml"])["data"]
        order = apply_order(data["skills"], data["order"])
        assert data["skills"] == default and sorted(order) == sorted(default) and order != default


def test_plan_takes_fit_options_and_config_interpolation(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    interpolated = tmp_path / "interpolated.yaml"
    interpolated.write_text("data:\n  batch_size: 3\n  eval_batch_size: ${data.batch_size}\n")
    assert plan_main(["--config", PAPER, "--config", str(interpolated), "--model.preset", "qwen2_5_vl",
                      "--data.heldout", "[ai2d]"]) == 0
    config = yaml.safe_load(capsys.readouterr().out.split("# datasets")[0])
    assert config["model"]["preset"] == "qwen2_5_vl" and config["data"]["heldout"] == ["ai2d"]
    assert config["data"]["batch_size"] == config["data"]["eval_batch_size"] == 3  # omegaconf parser mode
    with pytest.raises(Exception, match="nosuch"):  # what `lmmcl fit` refuses, plan refuses
        plan_main(["--nosuch", "1"])
