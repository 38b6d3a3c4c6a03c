"""Progress as plain lines: LineProgress at the given step interval; a fit's first screen and stage lines."""

import os
import re
import subprocess
import sys

import lightning as L
import pytest
import torch

from lmmcl.train.progress import LineProgress, evaluation_line


class Line(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(callback: L.Callback, steps: int, accumulate: int = 1) -> None:
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(steps * accumulate, 2)),
                                       batch_size=1)
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accumulate_grad_batches=accumulate, callbacks=[callback]).fit(Line(), data)


def test_prints_every_interval_and_the_last_step_with_loss_and_time_left(capsys):
    fit(LineProgress("warm-up", every=4), steps=10)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[lmmcl]")]
    assert [line.split(":")[0] for line in lines] == [f"[lmmcl] warm-up step {i}/10" for i in (4, 8, 10)]
    assert all("loss " in line and "nan" not in line and "min left" in line for line in lines)


def test_default_interval_is_a_twentieth_of_the_run(capsys):
    fit(LineProgress("build"), steps=40)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[lmmcl] build")]
    assert len(lines) == 20 and lines[-1].startswith("[lmmcl] build step 40/40")


def test_under_gradient_accumulation_each_step_is_printed_once(capsys, lightning_lines):
    from lmmcl.train.progress import StageProgress

    fit(LineProgress("warm-up", every=2), steps=4, accumulate=3)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[lmmcl]")]
    assert [line.split(":")[0] for line in lines] == [f"[lmmcl] warm-up step {i}/4" for i in (2, 4)]

    fit(StageProgress(fraction=0.5), steps=4, accumulate=3)  # no stage loop: 12 batches, 4 optimizer steps
    assert [re.sub(r":.*", "", line) for line in lightning_lines if " step " in line] == \
        [f"[lmmcl] stage 1/0 ? step {i}/4" for i in (2, 4)]


# --- the stage loop's lines ---------------------------------------------------------------------------------------
def test_an_evaluation_line_gives_each_group_s_mean_and_its_change_from_the_base():
    base = {"name": "base", "scores": {"a": 10.0, "b": 30.0, "x": 80.0}}
    row = {"name": "a", "scores": {"a": 50.0, "b": 30.0, "x": 70.0}}
    assert evaluation_line(base, base, ["a", "b"], ["x"]) == "[lmmcl] evaluation base: targets 20.0, held-out 80.0"
    assert evaluation_line(row, base, ["a", "b"], ["x"]) == \
        "[lmmcl] evaluation a: targets 40.0 (+20.0 from the base), held-out 70.0 (-10.0 from the base)"
    assert evaluation_line(row, base, ["a", "b"], []) == "[lmmcl] evaluation a: targets 40.0 (+20.0 from the base)"


def stage_steps_printed(lines: list[str], k: int, stage: str, steps: int) -> list[int]:
    """The stage steps of stage ``k``'s progress lines."""
    pattern = re.compile(rf"\[lmmcl\] stage {k}/2 {stage} step (\d+)/{steps}: loss \d")
    return [int(m.group(1)) for m in map(pattern.match, lines) if m]


def assert_stage_lines(lines: list[str], steps: int) -> None:
    """Per stage: a start line, a progress line at least every tenth of its steps and at its last, an end line with
    the time taken and left; an evaluation line per matrix row, the stages' with their change from the base; the
    report's path once."""
    for k, stage in enumerate(("species", "count"), start=1):
        assert f"[lmmcl] stage {k}/2 {stage}: {steps} steps" in lines
        printed = stage_steps_printed(lines, k, stage, steps)
        gaps = [b - a for a, b in zip([0, *printed], printed)]
        assert printed and printed[-1] == steps and max(gaps) <= steps / 10, printed
        assert any(re.fullmatch(rf"\[lmmcl\] stage {k}/2 {stage} done in \d+\.\d min \(its evaluation included\)"
                                rf"(; ~\d+\.\d min left for 1 more stage)?", line) for line in lines)
    evaluations = [line for line in lines if line.startswith("[lmmcl] evaluation ")]
    assert [line.split(":")[0] for line in evaluations] == \
        ["[lmmcl] evaluation base", "[lmmcl] evaluation species", "[lmmcl] evaluation count"]
    assert all("from the base" in line and "held-out" in line for line in evaluations[1:])
    assert sum(line.startswith("[lmmcl] report") for line in lines) == 1  # the path once, not after every row


def test_the_stage_loop_prints_a_line_per_stage_evaluation_and_tenth_of_a_stage(make_trainer, tiny_data_kwargs,
                                                                                 capsys, recwarn, lightning_lines):
    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.train.module import LMMModule
    from lmmcl.train.progress import StageProgress
    from lmmcl.train.recipes import FreezeRecipe
    from lmmcl.train.stages import SequentialStages, run_sequence

    trainer = make_trainer([FreezeRecipe("mlp_gate_up"), SequentialStages(save_checkpoints=False), StageProgress()],
                           max_epochs=None)
    data = SkillSequence(**{**tiny_data_kwargs, "train_size": 20, "batch_size": 2})
    run_sequence(trainer, LMMModule("tiny_scratch"), data)
    assert_stage_lines(lightning_lines, steps=10)
    assert "Validate metric" not in capsys.readouterr().out  # the base evaluation prints its line, not tables
    assert not [w for w in recwarn if "max_epochs" in str(w.message)]


@pytest.mark.slow
def test_the_first_screen_of_a_fit_into_a_pipe_is_short_and_each_stage_reports_every_tenth(tmp_path, cli_fit_args):
    # A real process whose output is a pipe, as in `make train 2>&1 | tee log`: no progress bar is drawn there, so
    # the stage loop prints lines; Lightning's validate tables, max_epochs warning and model summary stay out.
    args = list(cli_fit_args)
    for flag in ("--trainer.enable_progress_bar", "--trainer.enable_model_summary"):  # left to lmmcl's defaults
        del args[args.index(flag):args.index(flag) + 2]
    steps = 20  # per stage: 80 samples in batches of 4
    cmd = [sys.executable, "-m", "lmmcl.cli", *args, "--data.train_size", str(steps * 4),
           "--trainer.logger.init_args.save_dir", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread, as the suite's own process runs
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, env=env)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, "\n".join(lines[-30:])
    first = next(i for i, line in enumerate(lines) if line.startswith("[lmmcl] stage 1/2 species: "))
    assert first <= 40, "\n".join(lines[:first + 1])
    for noise in ("Validate metric", "`max_epochs` was not set", "FLOPs", "Total params", "Loading weights", "Tip:"):
        assert not any(noise in line for line in lines), noise
    assert_stage_lines(lines, steps)
