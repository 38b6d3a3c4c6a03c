"""Bad records never abort a run: skipped, counted by reason, and reported per benchmark; huge pictures shrink."""

import json
from pathlib import Path

from lmmcl.data.datamodule import SkillSequence
from lmmcl.data.skill import get_skill
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


def test_a_picture_over_the_bound_is_downscaled_when_read(local_benchmarks):
    local_benchmarks(["docvqa"], rows=2)  # the last row's picture is 4200 x 4200
    data = get_skill("docvqa").dataset("test")
    w, h = data[len(data) - 1].image.size
    assert w * h <= data.max_pixels < 4200 * 4200 and w == h


def test_report_counts_asked_scored_and_skipped_per_benchmark(local_benchmarks, make_trainer):
    # docvqa: 4 good rows, then an undecodable image, a missing image, an empty question, a missing answer,
    # an over-long question and a huge picture (good): 10 rows, 5 of them bad
    local_benchmarks(["docvqa"], rows=4)
    trainer = make_trainer([FreezeRecipe("projector"), SequentialStages(save_checkpoints=False)],
                           limit_train_batches=1)
    data = SkillSequence(skills=["color"], heldout=["docvqa"], train_size=2, test_size=10, batch_size=2,
                         eval_batch_size=4)
    run_sequence(trainer, LMMModule("tiny_scratch"), data)
    run = Path(trainer.log_dir)
    samples = json.loads((run / "report.json").read_text())["samples"]
    assert samples["color"] == {"asked": 10, "scored": 10, "skipped": 0, "bad_records": {}}
    assert samples["docvqa"] == {"asked": 10, "scored": 5, "skipped": 5, "bad_records": {
        "empty_question": 1, "missing_answer": 1, "missing_image": 1, "undecodable_image": 1, "too_long": 1}}
    first_screen = "\n".join((run / "report.md").read_text().splitlines()[:8])
    assert "docvqa 5/10" in first_screen and "too_long 1" in first_screen


def test_report_counts_the_training_samples_each_stage_skipped(local_benchmarks, make_trainer):
    # pathvqa's train split: 4 good rows and the same five bad ones as above, as a target skill trained in full
    local_benchmarks(["pathvqa"], rows=4)
    trainer = make_trainer([FreezeRecipe("projector"), SequentialStages(save_checkpoints=False)])
    data = SkillSequence(skills=["pathvqa"], heldout=["color"], train_size=None, test_size=2, batch_size=3,
                         eval_batch_size=4)
    run_sequence(trainer, LMMModule("tiny_scratch"), data)
    run = Path(trainer.log_dir)
    report = json.loads((run / "report.json").read_text())
    base, stage = report["stages"]
    assert "train_samples" not in base  # nothing trains before the first stage
    assert stage["train_samples"] == {"asked": 9, "trained": 4, "skipped": 5, "bad_records": {
        "empty_question": 1, "missing_answer": 1, "missing_image": 1, "undecodable_image": 1, "too_long": 1}}
    text = (run / "report.md").read_text()
    assert "**Warning: training samples skipped:** pathvqa 5" in "\n".join(text.splitlines()[:8])
    assert "| pathvqa | 9 | 4 | 5 |" in text
