"""WiSE-FT: theta = a * theta_previous + (1 - a) * theta_tuned over the trained parameters, before evaluation."""

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

from lmmcl.baselines.common import trainable_snapshot
from lmmcl.baselines.wise_ft import WiSEFT, interpolate
from lmmcl.data.datamodule import SkillSequence
from lmmcl.models import load_model
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe, apply_recipe, get_recipe
from lmmcl.train.stages import SequentialStages, run_sequence


@pytest.fixture(scope="module")
def tiny():
    model, _, preset = load_model("tiny_scratch")
    apply_recipe(model, get_recipe("mlp_gate_up"), preset.components)
    return model


def _tune(model):
    """(previous trained weights, tuned trained weights, frozen weights), the model left tuned."""
    previous = trainable_snapshot(model)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    return previous, trainable_snapshot(model), frozen


@pytest.mark.parametrize("alpha", [1.0, 0.0, 0.25])
def test_interpolation_endpoints_are_exact(tiny, alpha):
    previous, tuned, frozen = _tune(tiny)
    interpolate(tiny, previous, alpha)
    for name, p in tiny.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name])
        elif alpha == 1.0:
            assert torch.equal(p, previous[name])
        elif alpha == 0.0:
            assert torch.equal(p, tuned[name])
        else:
            torch.testing.assert_close(p, alpha * previous[name] + (1 - alpha) * tuned[name])


def test_alpha_out_of_range_is_an_error():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        WiSEFT(alpha=1.5)


class WeightSpy(Callback):
    """Records one trained weight after each stage's last step and while each stage is evaluated."""

    def __init__(self):
        self.tuned, self.evaluated = [], []

    @staticmethod
    def weight(pl_module):
        return pl_module.model.model.language_model.layers[0].mlp.up_proj.weight.detach().clone()

    def on_train_batch_end(self, trainer, pl_module, *args):
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            self.tuned.append(self.weight(pl_module))

    def on_validation_batch_start(self, trainer, pl_module, *args):
        if trainer.state.fn == "fit" and len(self.evaluated) < len(self.tuned):
            self.evaluated.append(self.weight(pl_module))


def test_every_stage_is_evaluated_after_its_merge(make_trainer, tiny_data_kwargs):
    """a = 1 undoes every stage: each stage is evaluated with, and ends at, the weights it started from."""
    module = LMMModule("tiny_scratch", lr=1e-2)
    initial = {k: v.clone() for k, v in module.model.state_dict().items()}
    spy = WeightSpy()
    callbacks = [spy, FreezeRecipe("mlp_gate_up"), WiSEFT(alpha=1.0), SequentialStages(save_checkpoints=False)]
    trainer = make_trainer(callbacks, limit_val_batches=1)
    run_sequence(trainer, module, SkillSequence(**tiny_data_kwargs))
    start = initial["model.language_model.layers.0.mlp.up_proj.weight"]
    assert len(spy.tuned) == len(spy.evaluated) == 2
    assert all(not torch.equal(w, start) for w in spy.tuned)  # the stages did train
    assert all(torch.equal(w, start) for w in spy.evaluated)  # and were merged back before their evaluation
    for name, value in module.model.state_dict().items():
        assert torch.equal(value, initial[name]), name
    stages = json.loads((Path(trainer.log_dir) / "report.json").read_text())["stages"]
    assert [s["name"] for s in stages] == ["base", "species", "count"]
