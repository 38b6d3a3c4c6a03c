"""Recipes are data: a recipe's adapter names a registered lmmcl adapter or a class under an explicit allow-list."""

import sys
import types

import pytest

from lmmcl.baselines import LoRA, MoE
from lmmcl.contracts import ModelAdapter
from lmmcl.errors import LmmclError
from lmmcl.train.adapters import adapter_class, allowed
from lmmcl.train.recipes import FreezeRecipe, build_adapter, get_recipe


def recipe_with(class_path: str, **init_args):
    recipe = get_recipe("lora")
    recipe.extra["adapter"] = {"class_path": class_path, "init_args": init_args}
    return recipe


@pytest.mark.parametrize("path, cls", [("lora", LoRA), ("LoRA", LoRA), ("lmmcl.baselines.LoRA", LoRA),
                                       ("lmmcl.baselines.lora.LoRA", LoRA), ("moe", MoE), ("lmmcl.baselines.MoE", MoE)])
def test_registered_adapters_by_any_name(path, cls):
    assert adapter_class(path) is cls


@pytest.mark.parametrize("path", ["subprocess.run", "os.system", "builtins.eval", "lmmcl.baselines.LwF",
                                  "lmmcl.baselines.loraX.LoRA"])
def test_anything_else_is_refused_before_import(path, tmp_path):
    marker = tmp_path / "ran"
    recipe = recipe_with(path, args=["touch", str(marker)])
    with pytest.raises(LmmclError, match=rf"class_path '{path}' is not an adapter registered by lmmcl.*allow_adapters"):
        build_adapter(recipe, {})
    assert not marker.exists()


def test_cli_override_is_checked_too():
    with pytest.raises(LmmclError, match="subprocess.Popen"):
        FreezeRecipe("mlp_gate_up", adapter={"class_path": "subprocess.Popen"})


def test_allow_list_admits_a_users_adapter(monkeypatch):
    module = types.ModuleType("myadapters.mine")

    class Mine(ModelAdapter):
        def __init__(self, scale: int = 1):
            self.scale = scale

        def adapt_model(self, pl_module, names):
            return names

    module.Mine, module.run = Mine, print
    monkeypatch.setitem(sys.modules, "myadapters", types.ModuleType("myadapters"))
    monkeypatch.setitem(sys.modules, "myadapters.mine", module)
    recipe = recipe_with("myadapters.mine.Mine", scale=3)
    with pytest.raises(LmmclError, match="not an adapter registered"):
        build_adapter(recipe, {})
    assert build_adapter(recipe, {}, ["myadapters"]).scale == 3
    assert FreezeRecipe("lora", adapter={"class_path": "myadapters.mine.Mine", "init_args": {"scale": 2}},
                        allow_adapters=["myadapters.mine"]).adapter.scale == 2
    with pytest.raises(LmmclError, match="not an adapter class"):  # allowed module, but not an adapter class
        build_adapter(recipe_with("myadapters.mine.run"), {}, ["myadapters"])


def test_allow_prefix_matches_whole_dotted_segments():
    assert allowed("pkg.sub.Cls", ["pkg"]) and allowed("pkg.sub.Cls", ["pkg.sub."])
    assert not allowed("pkgevil.Cls", ["pkg"]) and not allowed("x.Cls", [""])


def test_bad_init_args_are_a_clear_error():
    with pytest.raises(LmmclError, match="rejects init_args"):
        FreezeRecipe("lora", adapter={"init_args": {"rank": 4}})
