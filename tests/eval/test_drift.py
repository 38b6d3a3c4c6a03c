"""The drift monitor: a curve per stage from the stage-start model, thresholds, and no effect on training."""

import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.eval.drift import DriftMonitor, at_fraction
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


def _fit(make_trainer, data_kwargs, monitor=None):
    torch.manual_seed(0)
    stages = SequentialStages(save_checkpoints=False)
    trainer = make_trainer([FreezeRecipe("mlp_gate_up"), stages] + ([monitor] if monitor else []), deterministic=True)
    module = LMMModule("tiny_scratch", lr=1e-2, warmup_ratio=0.0)
    run_sequence(trainer, module, SkillSequence(**data_kwargs))
    return trainer, module, stages


def test_curve_per_stage_logged_and_training_unchanged(make_trainer, tiny_data_kwargs):
    kwargs = {**tiny_data_kwargs, "batch_size": 4}  # 4 steps per stage
    trainer, module, stages = _fit(make_trainer, kwargs, DriftMonitor(n=6, every_n_steps=2))
    curves = json.loads((Path(trainer.log_dir) / "report.json").read_text())["drift"]
    assert [c["stage"] for c in curves] == ["species", "count"]
    for curve in curves:
        assert curve["steps"] == [0, 1, 2, 4] and curve["stage_steps"] == 4   # every 2, 10 % (step 1), the end
        assert curve["kl"][0] == pytest.approx(0.0, abs=1e-6) and curve["format_agreement"][0] == 1.0
        assert curve["kl"][-1] > 1e-4                                # the model moved, the monitor saw it
        assert all(0.0 <= m <= 1.0 for m in curve["number_mass"])
    assert at_fraction(curves[0], 0.1) == curves[0]["kl"][1]         # first point at or after 10 % of the stage
    events = EventAccumulator(trainer.log_dir)
    events.Reload()
    assert [e.step for e in events.Scalars("drift/kl")] == [1, 2, 4, 5, 6, 8]  # global; step 0 only in the curve
    assert {"drift/number_mass", "drift/format_agreement"} <= set(events.Tags()["scalars"])

    _, plain, _ = _fit(make_trainer, kwargs)                           # the monitor does not change training
    for (name, a), b in zip(module.model.state_dict().items(), plain.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_max_kl_stop_ends_the_run_after_evaluating_the_stage(make_trainer, tiny_data_kwargs):
    with pytest.warns(UserWarning, match=r"drift.max_kl=1e-09 at step 1 of stage 'species'; stopping after"):
        trainer, _, stages = _fit(make_trainer, tiny_data_kwargs, DriftMonitor(n=4, max_kl=1e-9, action="stop"))
    assert [row["name"] for row in stages.rows] == ["base", "species"]  # count never trained
    assert stages.extras["drift"][0]["flagged_at"] is not None


@pytest.mark.parametrize("kwargs, message", [({"action": "halt"}, "drift.action='halt'"),
                                             ({"every_n_steps": 0}, "drift.every_n_steps=0")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(LmmclError, match=message):
        DriftMonitor(**kwargs)


def test_target_skill_prompts_are_refused(make_trainer, tiny_data_kwargs):
    with pytest.raises(LmmclError, match=r"\['count'\] are target skills"):
        _fit(make_trainer, tiny_data_kwargs, DriftMonitor(skills=["count", "color"]))


def test_no_heldout_benchmark_turns_the_monitor_off_with_a_warning(make_trainer, tiny_data_kwargs):
    monitor = DriftMonitor()
    with pytest.warns(UserWarning, match="drift monitor off"):
        _, _, stages = _fit(make_trainer, {**tiny_data_kwargs, "heldout": []}, monitor)
    assert not monitor.enabled and "drift" not in stages.extras


def test_prompts_are_built_with_the_runs_max_length_and_none_left_is_an_error():
    """A real picture alone is over a thousand image tokens: the monitor's prompts must be cut at the run's
    data.max_length, not a default of its own (color prompts are 32 tokens here, exist prompts 35)."""
    from types import SimpleNamespace

    from lmmcl.models.presets import get_preset, resolve_checkpoint
    from lmmcl.models.processors import load_processor

    module = SimpleNamespace(processor=load_processor(resolve_checkpoint(get_preset("tiny_scratch"))))
    def run(max_length):
        return SimpleNamespace(datamodule=SkillSequence(skills=["species"], heldout=["color", "exist"],
                                                        max_length=max_length))
    batches = DriftMonitor(n=8)._prompts(run(33), module)
    assert sum(len(b["refs"]) for b in batches) == 4  # the four color prompts; the exist ones are too long
    assert sum(b["bad_records"].get("too_long", 0) for b in batches) == 4
    with pytest.raises(LmmclError, match=r"drift monitor prompts \(color, exist\): every sample was dropped "
                                         r"\(too_long: 8\) at max_length=20"):
        DriftMonitor(n=8)._prompts(run(20), module)
