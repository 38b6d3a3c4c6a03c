"""LoRA via peft: adapters on the recipe's linears only, r * (in + out) trainable parameters each."""

import pytest
import torch

from lmmcl.baselines.lora import LoRA, lora_layers, merge_and_reset
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe, apply_recipe, component_members, count_parameters, get_recipe


class _Trainer:
    """The little of a Trainer that FreezeRecipe.setup reads."""

    callbacks: list = []
    logger = None
    loggers: list = []
    is_global_zero = True
    log_dir = None


def test_the_lora_recipe_is_the_papers_setting():
    recipe = FreezeRecipe("lora")
    assert isinstance(recipe.adapter, LoRA)
    assert (recipe.adapter.r, recipe.adapter.alpha, recipe.adapter.dropout) == (256, 32, 0.05)
    assert recipe.recipe.train == {"language_model": [r"mlp\.(gate_proj|up_proj|down_proj)\."]}
    assert FreezeRecipe("lora", adapter={"r": 16}).adapter.r == 16  # --recipe.adapter '{r: 16}'


@pytest.mark.parametrize("preset", ["tiny_scratch", "tiny_qwen2_5_vl"])  # Qwen2.5-VL's ViT has gate/up/down_proj too
def test_trainable_count_is_r_times_in_plus_out_on_language_model_mlps_only(preset):
    module = LMMModule(preset)
    r = 8
    linears = {n: (m.in_features, m.out_features) for n, m in module.model.named_modules()
               if isinstance(m, torch.nn.Linear)}
    selected = apply_recipe(module.model, get_recipe("lora"), module.preset.components)
    targets = sorted({n.rpartition(".")[0] for n in selected})
    recipe = FreezeRecipe("lora", adapter={"r": r})
    recipe.setup(_Trainer(), module, "fit")
    assert sorted(recipe.adapter.targets) == targets
    assert len(targets) == 3 * module.model.config.text_config.num_hidden_layers
    language = component_members(targets, module.preset.components)["language_model"]
    assert sorted(language) == targets  # never a vision MLP
    expected = sum(r * (linears[t][0] + linears[t][1]) for t in targets)
    trainable, _ = count_parameters(module.model)
    assert trainable == expected == recipe.param_counts["trainable"]
    assert all((".lora_A." in n or ".lora_B." in n) == p.requires_grad for n, p in module.model.named_parameters())
    recipe.setup(_Trainer(), module, "fit")  # fit after validate: the same model is not adapted twice
    assert count_parameters(module.model)[0] == expected


def test_merge_keeps_the_function_and_starts_fresh_adapters():
    module = LMMModule("tiny_scratch")
    names = apply_recipe(module.model, get_recipe("lora"), module.preset.components)
    LoRA(r=4).adapt_model(module, names)
    torch.manual_seed(0)
    with torch.no_grad():
        for layer in lora_layers(module.model):
            layer.lora_B["default"].weight.normal_()
    module.model.eval()
    x = {"input_ids": torch.randint(0, 100, (2, 12))}
    with torch.no_grad():
        before = module.model(**x).logits
        merge_and_reset(module.model)
        after = module.model(**x).logits
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    assert all(not layer.merged and not layer.lora_B["default"].weight.any() for layer in lora_layers(module.model))


def test_fresh_adapters_depend_on_the_stage_seed_only():
    module = LMMModule("tiny_scratch")
    names = apply_recipe(module.model, get_recipe("lora"), module.preset.components)
    LoRA(r=4).adapt_model(module, names)

    def fresh_a(seed: int, global_seed: int) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)  # a resumed run's global RNG is wherever its restart left it
        merge_and_reset(module.model, seed=seed)
        return [layer.lora_A["default"].weight.clone() for layer in lora_layers(module.model)]

    state = torch.random.get_rng_state()
    a = fresh_a(seed=3, global_seed=0)
    assert torch.equal(torch.random.get_rng_state(), torch.manual_seed(0).get_state())  # global RNG untouched
    torch.random.set_rng_state(state)
    assert all(torch.equal(x, y) for x, y in zip(a, fresh_a(seed=3, global_seed=123)))
    assert not all(torch.equal(x, y) for x, y in zip(a, fresh_a(seed=4, global_seed=0)))


def test_lora_rejects_a_recipe_selecting_non_linear_parameters():
    module = LMMModule("tiny_scratch")
    names = apply_recipe(module.model, get_recipe("llm"), module.preset.components)
    with pytest.raises(ValueError, match="LoRA adapts Linear layers.*embed_tokens"):
        LoRA(r=4).adapt_model(module, names)


def test_a_lora_run_resumed_at_a_stage_ends_with_the_uninterrupted_weights(make_trainer, tiny_data_kwargs):
    """Adapter dropout and each stage's fresh adapters draw from the stage's own seed, not the global RNG."""
    from pathlib import Path

    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.train.stages import SequentialStages, run_sequence

    def run(ckpt_path=None):
        recipe = FreezeRecipe("lora", adapter={"init_args": {"r": 4, "dropout": 0.5}})
        trainer = make_trainer([recipe, SequentialStages()], limit_val_batches=1)
        run_sequence(trainer, LMMModule("tiny_scratch", lr=1e-3), SkillSequence(**tiny_data_kwargs),
                     ckpt_path=ckpt_path)
        return trainer

    full = run()
    weights = {k: v.clone() for k, v in full.lightning_module.model.state_dict().items()}
    resumed = run(str(Path(full.log_dir) / "checkpoints" / "stage1-species.ckpt"))
    for name, value in resumed.lightning_module.model.state_dict().items():
        torch.testing.assert_close(value, weights[name], msg=lambda m, name=name: f"{name}: {m}")


def test_rank_is_capped_at_a_fraction_of_the_width_with_the_update_scale_kept():
    """The paper's r 256 of a 3,584-wide model is 7 %: on the 128-wide tiny model the cap gives r 9, and alpha
    shrinks alike so alpha / r, the update's scale, stays 32 / 256."""
    module = LMMModule("tiny_scratch")
    names = apply_recipe(module.model, get_recipe("lora"), module.preset.components)
    lora = LoRA(r=256, alpha=32, max_rank_fraction=0.0714)
    lora.adapt_model(module, names)
    r, alpha = lora.capped(module.model)
    assert module.preset.build["text"]["hidden_size"] == 128 and r == 9
    assert alpha / r == pytest.approx(32 / 256)
    assert {layer.r["default"] for layer in lora_layers(module.model)} == {9}
    small = LoRA(r=4, max_rank_fraction=0.0714)
    small.targets = lora.targets
    assert small.capped(module.model) == (4, 32)  # below the cap: as asked
