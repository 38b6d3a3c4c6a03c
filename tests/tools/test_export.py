"""lmmcl export: a run's model as a save_pretrained folder that transformers alone loads and that answers the run's
test questions exactly as the run's own evaluation did."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lmmcl.data.skill import get_skill
from lmmcl.errors import LmmclError
from lmmcl.eval.samples import load_samples, rows
from lmmcl.tools.export import export, stage_checkpoint
from lmmcl.train.cli import run

PLAIN = Path(__file__).with_name("plain_transformers.py")


def fit(cli_fit_args: list[str], logs: Path, *extra: str) -> Path:
    run([*cli_fit_args, "--trainer.logger.init_args.save_dir", str(logs), *extra])
    return next(logs.glob("*/*/version_*"))


def plain_answers(folder: Path, run_dir: Path, skill: str, work: Path) -> tuple[list[str], list[str]]:
    """(the run's last-row answers on ``skill``'s test questions, the exported folder's answers to them by a script
    that imports transformers only)."""
    records = load_samples(run_dir, max(rows(run_dir)), skill)
    data = get_skill(skill).dataset("test", len(records), 0)
    cases = []
    for i, record in enumerate(records):
        sample = data[i]
        assert sample.question == record["question"]  # the same test set, in the same order
        path = work / f"{skill}{i}.png"
        sample.image.save(path)
        cases.append({"image": str(path), "question": record["question"]})
    (work / f"{skill}.json").write_text(json.dumps(cases))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no lmmcl on the path
    out = subprocess.run([sys.executable, str(PLAIN), str(folder), str(work / f"{skill}.json"),
                          str(get_skill(skill).max_new_tokens), "16"], capture_output=True, text=True, env=env,
                         cwd=work)
    assert out.returncode == 0, out.stderr[-3000:]
    return [r["prediction"] for r in records], json.loads(out.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, cli_fit_args):
    """A two-stage tiny_scratch run whose stage checkpoints keep no optimizer state."""
    return fit(cli_fit_args, tmp_path_factory.mktemp("logs"), "--stages.weights_only", "true")


def test_the_export_answers_the_test_questions_as_the_run_did(finished_run, tmp_path):
    out = export(finished_run, tmp_path / "export")
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "chat_template.jinja",
            "processor_config.json", "README.md"} <= names
    card = (out / "README.md").read_text()
    assert "after stage 'count'" in card and "## Scores after each stage" in card and "mlp_gate_up" in card
    for skill in ("count", "color"):  # the last stage's target and the held-out benchmark
        expected, got = plain_answers(out, finished_run, skill, tmp_path)
        assert got == expected


def test_weights_only_checkpoints_keep_no_optimizer_state_and_resume(finished_run, cli_fit_args, lightning_lines):
    last = torch.load(stage_checkpoint(finished_run, "last"), map_location="cpu", weights_only=False)
    assert "optimizer_states" not in last and "lr_schedulers" not in last and "loops" in last
    first = stage_checkpoint(finished_run, "1")
    assert first.name == "stage1-species.ckpt"
    run([*cli_fit_args, "--stages.weights_only", "true", "--ckpt_path", str(first)])
    assert any("resuming from a weights-only stage checkpoint" in line for line in lightning_lines)
    report = json.loads((finished_run / "report.json").read_text())
    assert [s["name"] for s in report["stages"]] == ["base", "species", "count"]


def test_export_refuses_what_it_cannot_do(finished_run, tmp_path):
    with pytest.raises(LmmclError, match=r"--stage '7': .* has stage checkpoints \[1, 2\]"):
        export(finished_run, tmp_path / "a", stage="7")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(LmmclError, match="is not empty"):
        export(finished_run, tmp_path / "full")


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tiny_onevision", "tiny_next", "tiny_qwen2_5_vl"])
def test_the_export_of_each_family_answers_as_the_run_did(preset, cli_fit_args, tmp_path):
    run_dir = fit(cli_fit_args, tmp_path / "logs", "--model.preset", preset)
    out = export(run_dir, tmp_path / "export")
    expected, got = plain_answers(out, run_dir, "count", tmp_path)
    assert got == expected


@pytest.mark.slow
def test_a_lora_run_is_exported_merged_and_answers_as_the_run_did(cli_fit_args, tmp_path):
    run_dir = fit(cli_fit_args, tmp_path / "logs", "--recipe.name", "lora", "--recipe.adapter", "{r: 4, merge: false}",
                  "--model.lr", "0.01")
    out = export(run_dir, tmp_path / "export")
    assert "merged 12 LoRA adapters" in (out / "README.md").read_text()  # 4 layers x gate, up, down
    expected, got = plain_answers(out, run_dir, "count", tmp_path)
    assert got == expected


@pytest.mark.slow
def test_a_moe_run_with_trained_routers_is_refused_with_the_reason(cli_fit_args, tmp_path):
    run_dir = fit(cli_fit_args, tmp_path / "logs", "--recipe.name", "mlp", "--model.lr", "0.01",
                  "--trainer.callbacks+=configs/baseline/moe.yaml")
    with pytest.raises(LmmclError, match="MoE layers route tokens between the frozen MLP and a tuned copy"):
        export(run_dir, tmp_path / "export")
