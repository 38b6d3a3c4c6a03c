"""Per-sample answers: written for every matrix row, scores agree with the benchmark score, read and diffed."""

import json
from pathlib import Path

import pytest

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.eval.samples import SampleLog, diff_samples, main
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from lightning.pytorch import Trainer
    from lightning.pytorch.loggers import TensorBoardLogger

    stages = SequentialStages(save_checkpoints=False)
    trainer = Trainer(accelerator="cpu", devices=1, reload_dataloaders_every_n_epochs=1, num_sanity_val_steps=0,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      logger=TensorBoardLogger(tmp_path_factory.mktemp("logs"), name="tiny/test"),
                      callbacks=[FreezeRecipe("mlp_gate_up"), stages, SampleLog()])
    data = SkillSequence(skills=["species", "count"], heldout=["color"], train_size=16, test_size=8, batch_size=8)
    run_sequence(trainer, LMMModule("tiny_scratch", lr=1e-2), data)
    return Path(trainer.log_dir)


def test_every_row_and_benchmark_has_its_samples_scored_like_the_benchmark(run_dir):
    report = json.loads((run_dir / "report.json").read_text())
    for row, entry in enumerate(report["stages"]):
        for benchmark, score in entry["scores"].items():
            lines = (run_dir / "samples" / str(row) / f"{benchmark}.jsonl").read_text().splitlines()
            records = [json.loads(line) for line in lines]
            assert len(records) == 8 and {r["stage"] for r in records} == {entry["name"]}
            assert set(records[0]) == {"stage", "question", "references", "prediction", "score"}
            assert 100 * sum(r["score"] for r in records) / 8 == pytest.approx(score)


def test_samples_tool_prints_and_diffs(run_dir, capsys):
    assert main([str(run_dir), "--benchmark", "color", "--stage", "count", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "color after row 2 (count): 8 samples" in out and out.count("\n| ") == 3  # header + 2 samples
    assert main([str(run_dir), "--diff", "0", "2", "--benchmark", "count"]) == 0
    assert "## count: 0 (base) -> 2 (count):" in capsys.readouterr().out
    assert main([str(run_dir), "--benchmark", "colour"]) == 2
    assert "No samples of benchmark 'colour' at row 2: choose among color, count, species" in capsys.readouterr().out


def _records(*predictions, ref="red"):
    return [{"question": f"q{i}", "references": [ref], "prediction": p, "score": float(p == ref)}
            for i, p in enumerate(predictions)]


def test_diff_groups_changes_by_answer_format():
    diff = diff_samples(_records("red", "blue", "red", "yes"), _records("3", "red", "red", "two"))
    assert diff["changed"] == 3 and diff["became_better"] == 1 and diff["became_worse"] == 1
    assert {k: len(v) for k, v in diff["groups"].items()} == {"word -> number": 1, "word -> word": 1,
                                                             "yes_no -> number": 1}
    with pytest.raises(LmmclError, match="different questions"):
        diff_samples(_records("red"), _records("red", "blue"))
