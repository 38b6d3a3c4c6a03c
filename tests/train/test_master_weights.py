"""paper.yaml's precision keeps fp32 master weights: one AdamW step at the paper's LR moves every trained tensor."""

import pytest

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.train.module import LMMModule
from lmmcl.train.plan import resolve_config
from lmmcl.train.recipes import FreezeRecipe

PAPER = "configs/experiment/paper.yaml"


def _one_step(make_trainer, dtype: str | None, precision: str, lr: float, weight_decay: float):
    module = LMMModule("tiny_scratch", lr=lr, warmup_ratio=0.0, weight_decay=weight_decay, dtype=dtype)
    recipe = FreezeRecipe("mlp_gate_up")
    trainer = make_trainer([recipe], precision=precision, max_steps=1, limit_val_batches=0, logger=False)
    data = SkillSequence(skills=["color"], heldout=[], train_size=4, test_size=1, batch_size=4)
    before = {n: p.detach().float().clone() for n, p in module.model.named_parameters()}
    trainer.fit(module, datamodule=data)
    params = dict(module.model.named_parameters())
    return {n: (params[n].detach().float() != before[n]).float().mean().item() for n in recipe.trainable_names}


def test_one_paper_step_changes_every_trained_tensor(make_trainer):
    config = resolve_config([PAPER])
    model, trainer = config["model"], config["trainer"]
    assert trainer["precision"] == "bf16-mixed" and model["lr"] == 5e-6
    changed = _one_step(make_trainer, model.get("dtype"), trainer["precision"], model["lr"], model["weight_decay"])
    assert changed and min(changed.values()) > 0.99, \
        {n: round(v, 3) for n, v in changed.items() if v <= 0.99}  # bf16-stored weights: about 8 % of elements move


def test_mixed_precision_refuses_low_precision_trained_weights(make_trainer):
    with pytest.raises(LmmclError, match="model.dtype: float32"):
        _one_step(make_trainer, "bfloat16", "bf16-mixed", 5e-6, 0.0)
