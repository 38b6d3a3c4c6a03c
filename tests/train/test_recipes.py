import re

import pytest

from lmmcl.models import load_model
from lmmcl.train.recipes import Recipe, apply_recipe, count_parameters, get_recipe, known_recipes, select_parameters


@pytest.fixture(scope="module")
def tiny():
    model, _, preset = load_model("tiny_scratch")
    return model, preset


def test_mlp_gate_up_selects_exactly_the_llm_gate_and_up_weights(tiny):
    model, preset = tiny
    names = select_parameters(model, get_recipe("mlp_gate_up"), preset.components)
    n_layers = model.config.text_config.num_hidden_layers
    expected = [f"model.language_model.layers.{i}.mlp.{p}.weight"
                for i in range(n_layers) for p in ("gate_proj", "up_proj")]
    assert sorted(names) == sorted(expected)


def test_sa_proj_selects_q_k_v_o_of_the_language_model_only(tiny):
    model, preset = tiny
    names = select_parameters(model, get_recipe("sa_proj"), preset.components)
    assert names and all(n.startswith("model.language_model.") for n in names)
    assert {re.search(r"(\w)_proj", n).group(1) for n in names} == {"q", "k", "v", "o"}
    assert not any("vision_tower" in n for n in names)


def test_full_and_llm_differ_by_vision_tower_and_projector(tiny):
    model, preset = tiny
    full = set(select_parameters(model, get_recipe("full"), preset.components))
    llm = set(select_parameters(model, get_recipe("llm"), preset.components))
    assert full == {n for n, _ in model.named_parameters()}
    assert full - llm and all(n.startswith(("model.vision_tower.", "model.multi_modal_projector.")) for n in full - llm)
    assert "lm_head.weight" in llm


def test_apply_recipe_sets_requires_grad_and_counts(tiny):
    model, preset = tiny
    names = apply_recipe(model, get_recipe("mlp"), preset.components)
    trainable, total = count_parameters(model)
    assert trainable == sum(p.numel() for n, p in model.named_parameters() if n in names)
    assert all(p.requires_grad == (n in names) for n, p in model.named_parameters())
    assert 0 < trainable < total


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown recipe 'mlp_gate'\. Known: .*mlp_gate_up"):
        get_recipe("mlp_gate")
    assert {"full", "llm", "sa_proj", "mlp", "mlp_gate_up"} <= set(known_recipes())


def test_pattern_matching_nothing_is_an_error_naming_it(tiny):
    model, preset = tiny
    bad = Recipe(name="typo", train={"language_model": [r"mlp\.gate_prj\."]})
    with pytest.raises(ValueError, match=r"gate_prj.*matches no parameter"):
        select_parameters(model, bad, preset.components)
    with pytest.raises(ValueError, match="component 'audio'"):
        select_parameters(model, Recipe(name="x", train={"audio": [".*"]}), preset.components)
