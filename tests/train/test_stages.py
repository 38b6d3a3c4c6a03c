"""The stage loop: fresh optimizer and schedule per stage, base row + one row per stage, checkpoints, resume."""

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

from lmmcl.data.datamodule import SkillSequence
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


class Spy(Callback):
    """Records, per stage, the optimizer object, its state size and the LR of the first steps."""

    def __init__(self):
        self.stages = []

    def on_train_epoch_start(self, trainer, pl_module):
        opt = trainer.optimizers[0]
        self.stages.append({"optimizer": id(opt), "state_at_start": len(opt.state), "lrs": [],
                            "scheduler_step": trainer.lr_scheduler_configs[0].scheduler.last_epoch})

    def on_train_batch_start(self, trainer, pl_module, *args):
        self.stages[-1]["lrs"].append(trainer.optimizers[0].param_groups[0]["lr"])  # the LR this step uses

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.stages[-1]["state_after"] = len(trainer.optimizers[0].state)


def _run(make_trainer, data_kwargs, ckpt_path=None, recipe="mlp_gate_up", **trainer_kwargs):
    spy, stages = Spy(), SequentialStages()
    trainer = make_trainer([FreezeRecipe(recipe), stages, spy], **trainer_kwargs)
    module = LMMModule("tiny_scratch", lr=1e-3, warmup_ratio=0.5)
    run_sequence(trainer, module, SkillSequence(**data_kwargs), ckpt_path=ckpt_path)
    return trainer, spy, stages


def test_optimizer_and_schedule_restart_every_stage(make_trainer, tiny_data_kwargs):
    trainer, spy, _ = _run(make_trainer, {**tiny_data_kwargs, "batch_size": 4})  # 4 steps per stage
    assert len(spy.stages) == 2
    first, second = spy.stages
    assert first["optimizer"] != second["optimizer"]                 # a new optimizer object
    assert second["state_at_start"] == 0 and first["state_after"] > 0  # with empty Adam state
    assert second["scheduler_step"] == 0                             # and a schedule at its start
    assert first["lrs"] == second["lrs"]                             # the same warmup + cosine curve again
    assert len(first["lrs"]) == 4 and first["lrs"][0] < max(first["lrs"])  # which does warm up
    assert first["lrs"][-1] < max(first["lrs"])                       # and decays


def test_report_and_checkpoints(make_trainer, tiny_data_kwargs):
    trainer, _, _ = _run(make_trainer, tiny_data_kwargs)
    run = Path(trainer.log_dir)
    report = json.loads((run / "report.json").read_text())
    assert report["model"] == "tiny_scratch" and report["recipe"] == "mlp_gate_up"
    assert report["skills"] == ["species", "count"] and report["heldout"] == ["color", "exist"]
    assert [s["name"] for s in report["stages"]] == ["base", "species", "count"]
    for row in report["stages"]:
        assert set(row["scores"]) == {"species", "count", "color", "exist"}
        assert all(0.0 <= v <= 100.0 for v in row["scores"].values())
    assert 0 < report["trainable_params"] < report["total_params"]
    base, after = report["stages"][0]["scores"], {r["name"]: r["scores"] for r in report["stages"][1:]}
    expected_learning = ((after["species"]["species"] - base["species"])
                         + (after["count"]["count"] - base["count"])) / 2
    assert report["summary"]["learning"] == pytest.approx(expected_learning)
    assert set(report) >= {"summary", "counting_bias", "trainable_params", "total_params"}
    assert (run / "report.md").read_text().startswith("# lmmcl report: tiny_scratch / mlp_gate_up")
    names = (run / "trainable_params.txt").read_text().split()
    assert names and all(".mlp.gate_proj." in n or ".mlp.up_proj." in n for n in names)
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["last.ckpt", "stage1-species.ckpt", "stage2-count.ckpt"]


def test_resume_starts_at_the_interrupted_stage_with_its_own_schedule(make_trainer, tiny_data_kwargs, tmp_path):
    trainer, spy, _ = _run(make_trainer, tiny_data_kwargs)
    stage1 = Path(trainer.log_dir) / "checkpoints" / "stage1-species.ckpt"
    full_weights = {k: v.clone() for k, v in trainer.lightning_module.model.state_dict().items()}

    resumed, spy2, stages2 = _run(make_trainer, tiny_data_kwargs, ckpt_path=str(stage1))
    assert len(spy2.stages) == 1                                     # only the count stage ran
    assert spy2.stages[0]["scheduler_step"] == 0 and spy2.stages[0]["state_at_start"] == 0
    assert spy2.stages[0]["lrs"] == spy.stages[1]["lrs"]             # the stage's own schedule, not a continuation
    assert [r["name"] for r in stages2.rows] == ["base", "species", "count"]  # matrix restored from the checkpoint
    # deterministic: resuming reproduces the uninterrupted run's final weights
    for k, v in resumed.lightning_module.model.state_dict().items():
        torch.testing.assert_close(v, full_weights[k])


def test_frozen_parameters_do_not_change(make_trainer, tiny_data_kwargs):
    module_before = LMMModule("tiny_scratch").model.state_dict()
    trainer, _, _ = _run(make_trainer, tiny_data_kwargs)
    after = trainer.lightning_module.model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], module_before[k])}
    assert changed and all(".mlp.gate_proj." in k or ".mlp.up_proj." in k for k in changed)
