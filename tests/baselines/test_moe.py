"""MoE: frozen original MLP + trainable copy + token router; top-2 in training, top-1 at evaluation."""

import pytest
import torch

from lmmcl.baselines.moe import MoE, MoEMLP, force_route, moe_layers
from lmmcl.data.datamodule import SkillDataModule
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import apply_recipe, get_recipe


@pytest.fixture(scope="module")
def wrapped():
    """(module with MoE on mlp_gate_up, a batch, the base model's eval logits on it, the trainable names)."""
    module = LMMModule("tiny_scratch")
    data = SkillDataModule("count", train_size=4, batch_size=4)
    data.processor = module.processor
    batch = module.model_inputs(next(iter(data.train_dataloader())))
    module.model.eval()
    with torch.no_grad():
        base = module.model(**batch).logits
    names = MoE().adapt_model(module, apply_recipe(module.model, get_recipe("mlp_gate_up"), module.preset.components))
    return module, batch, base, names


def test_only_the_copy_and_the_router_train(wrapped):
    module, _, _, names = wrapped
    n_layers = module.model.config.text_config.num_hidden_layers
    expected = [f"model.language_model.layers.{i}.mlp.{p}" for i in range(n_layers)
                for p in ("experts.1.gate_proj.weight", "experts.1.up_proj.weight", "router.weight")]
    assert sorted(names) == sorted(expected)
    assert sorted(n for n, p in module.model.named_parameters() if p.requires_grad) == sorted(expected)
    assert len(moe_layers(module.model)) == n_layers
    assert not any(isinstance(m, MoEMLP) for m in module.model.model.vision_tower.modules())


def test_routing_to_the_original_expert_reproduces_the_base_model(wrapped):
    module, batch, base, _ = wrapped
    with torch.no_grad():
        for layer in moe_layers(module.model):
            for p in layer.experts[1].parameters():
                p.add_(torch.randn_like(p))  # the copy now differs from the original
        # equal up to float rounding: the expert runs on the routed tokens only, and a matmul of another
        # shape may round differently on some CPUs (CI saw last-bit differences); the copy differs by O(1)
        with force_route(module.model, 0):
            torch.testing.assert_close(module.model(**batch).logits, base, rtol=1e-5, atol=1e-6)
        # a zero router breaks ties towards the original
        torch.testing.assert_close(module.model(**batch).logits, base, rtol=1e-5, atol=1e-6)
        with force_route(module.model, 1):
            assert not torch.allclose(module.model(**batch).logits, base)


def test_top2_in_training_top1_at_evaluation():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.SiLU(), torch.nn.Linear(16, 8))
    layer = MoEMLP(mlp)
    with torch.no_grad():
        for p in layer.experts[1].parameters():
            p.add_(torch.randn_like(p))
        layer.router.weight.normal_()
    x = torch.randn(3, 5, 8)
    logits = layer.router(x)
    e0, e1 = layer.experts[0](x), layer.experts[1](x)
    w = torch.softmax(logits, -1)
    new = logits.argmax(-1) == 1
    assert 0 < new.float().mean() < 1  # a real mix of both experts
    layer.train()
    torch.testing.assert_close(layer(x), w[..., :1] * e0 + w[..., 1:] * e1)
    torch.testing.assert_close(layer.train_load, new.float().mean())  # the router load: share to the new expert
    layer.eval()
    torch.testing.assert_close(layer(x), torch.where(new[..., None], e1, e0))
    assert layer.eval_routed.tolist() == [int(new.sum()), new.numel()]


def test_a_recipe_without_language_model_mlps_is_an_error():
    module = LMMModule("tiny_scratch")
    names = apply_recipe(module.model, get_recipe("sa_proj"), module.preset.components)
    with pytest.raises(ValueError, match="MoE .* Use an MLP recipe"):
        MoE().adapt_model(module, names)
