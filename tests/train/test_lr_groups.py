"""Per-group learning rates from config: paper.yaml's LoRA 5e-5 and vision tower 2e-6 reach the optimizer."""

import pytest
from lightning.pytorch import Callback

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.models import load_model
from lmmcl.train.lr_groups import optimizer_groups, run_lr
from lmmcl.train.module import LMMModule
from lmmcl.train.plan import resolve_config
from lmmcl.train.recipes import FreezeRecipe

PAPER = resolve_config(["configs/experiment/paper.yaml"])["model"]


@pytest.mark.parametrize("recipe,baselines,lr", [("mlp_gate_up", [], 5e-6), ("lora", [], 5e-5),
                                                 ("sa_proj", ["lora"], 5e-5), ("full", ["lwf"], 5e-6)])
def test_a_recipe_or_baseline_sets_the_run_lr(recipe, baselines, lr):
    assert run_lr(PAPER["lr"], PAPER["recipe_lr"], recipe, baselines) == lr


def test_unknown_recipe_lr_name_is_named():
    with pytest.raises(LmmclError, match="'lroa'.*known: .*lora"):
        run_lr(5e-6, {"lroa": 5e-5}, "lora", [])


def test_unknown_component_is_named():
    model, _, preset = load_model("tiny_scratch")
    with pytest.raises(LmmclError, match="'vision'.*components: vision_tower"):
        optimizer_groups(model, preset.components, 1e-3, {"vision": 1e-4})


class InitialLR(Callback):
    def on_train_start(self, trainer, pl_module):
        opt = trainer.optimizers[0]
        self.lrs = {g["name"]: (g["initial_lr"], sum(p.numel() for p in g["params"])) for g in opt.param_groups}


def test_paper_lrs_reach_the_optimizer_of_a_full_run(make_trainer):
    spy = InitialLR()
    module = LMMModule("tiny_scratch", lr=PAPER["lr"], recipe_lr=PAPER["recipe_lr"],
                       component_lr=PAPER["component_lr"])
    trainer = make_trainer([FreezeRecipe("full"), spy], max_steps=1, limit_val_batches=0, logger=False)
    trainer.fit(module, datamodule=SkillSequence(skills=["color"], heldout=[], train_size=2, test_size=1, batch_size=2))
    vision = sum(p.numel() for n, p in module.model.named_parameters() if n.startswith("model.vision_tower."))
    assert spy.lrs["vision_tower"] == (2e-6, vision)
    assert spy.lrs["default"][0] == 5e-6 and set(spy.lrs) == {"default", "vision_tower"}
