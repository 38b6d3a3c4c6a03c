"""The three real families: recipes on the real architectures (meta device), tiny builds of each, loading a
local checkpoint for a real preset, and the offline failure when its weights are missing."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from lmmcl.models.meta import meta_model
from lmmcl.models.presets import CONFIG_DIR, get_preset, load_model
from lmmcl.train.recipes import Recipe, apply_recipe, component_members, get_recipe, known_recipes, select_parameters

REAL = {"llava": "tiny_onevision", "llava_next": "tiny_next", "qwen2_5_vl": "tiny_qwen2_5_vl"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: one thread is many times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- expected counts, by hand from the config's dimensions -----------------------------------------------
def _text(t: dict, qkv_bias: bool) -> dict[str, int]:
    h, i, n_layers, vocab = t["hidden_size"], t["intermediate_size"], t["num_hidden_layers"], t["vocab_size"]
    kv = t["num_key_value_heads"] * (h // t["num_attention_heads"])
    q, k = h * h + h * qkv_bias, h * kv + kv * qkv_bias
    layer = {"q": q, "k": k, "v": k, "o": h * h, "gate": h * i, "up": h * i, "down": i * h}
    per_layer = sum(layer.values()) + 2 * h  # + input and post-attention RMSNorm weights
    return {**layer, "L": n_layers, "llm": 2 * vocab * h + n_layers * per_layer + h}  # embed + lm_head + final norm


def _vit(v: dict, clip: bool) -> int:
    """SigLIP / CLIP vision transformer: patch conv, position embeddings, pre-LN blocks, post-layernorm."""
    d, i, p, n = v["hidden_size"], v["intermediate_size"], v["patch_size"], (v["image_size"] // v["patch_size"]) ** 2
    block = 4 * (d * d + d) + 2 * 2 * d + (d * i + i) + (i * d + d)  # q, k, v, out + 2 LayerNorms + fc1, fc2
    if clip:  # class token, one more position, bias-free patch conv, pre-layernorm
        embed = d + 3 * p * p * d + (n + 1) * d + 2 * d
    else:
        embed = 3 * p * p * d + d + n * d
    return embed + v["num_hidden_layers"] * block + 2 * d


def _qwen_vit(v: dict) -> tuple[int, int]:
    """(vision tower without the merger, merger) of Qwen2.5-VL."""
    d, i, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * (d * i + i) + (i * d + d)  # 2 RMSNorms, qkv, proj, SwiGLU
    tower = 3 * v["temporal_patch_size"] * p * p * d + v["depth"] * block
    m = d * v["spatial_merge_size"] ** 2
    merger = d + (m * m + m) + (m * v["out_hidden_size"] + v["out_hidden_size"])
    return tower, merger


def expected_counts(preset: str) -> dict[str, int]:
    cfg = json.loads((CONFIG_DIR / get_preset(preset).meta_config).read_text())
    if preset == "qwen2_5_vl":
        t = _text(cfg, qkv_bias=True)
        vision, projector = _qwen_vit(cfg["vision_config"])
    else:
        t = _text(cfg["text_config"], qkv_bias=preset == "llava")  # Qwen2 has q/k/v biases, Llama none
        vision = _vit(cfg["vision_config"], clip=preset == "llava_next")
        h, dv = cfg["text_config"]["hidden_size"], cfg["vision_config"]["hidden_size"]
        projector = (dv * h + h) + (h * h + h) + h  # linear_1, linear_2, image_newline
    L = t["L"]
    sa_qkv, gate_up = L * (t["q"] + t["k"] + t["v"]), L * (t["gate"] + t["up"])
    sa_proj = sa_qkv + L * t["o"]
    return {"full": vision + projector + t["llm"], "vision_tower": vision, "projector": projector, "llm": t["llm"],
            "sa_proj": sa_proj, "sa_qkv": sa_qkv, "sa_vo": L * (t["v"] + t["o"]),
            "mlp": L * (t["gate"] + t["up"] + t["down"]), "mlp_gate_up": gate_up,
            "mlp_down": L * t["down"], "mlp_gate_up_last4": 4 * (t["gate"] + t["up"]),
            "sa_proj_mlp_gate_up": sa_proj + gate_up, "sa_qkv_mlp_gate_up": sa_qkv + gate_up,
            **_vit_parts(cfg["vision_config"], qwen=preset == "qwen2_5_vl")}


def _vit_parts(v: dict, qwen: bool) -> dict[str, int]:
    """The vision-tower partial recipes: attention q, k, v (Qwen: one fused qkv) and the MLP up side
    (CLIP / SigLIP fc1; Qwen's gated MLP: gate_proj and up_proj)."""
    d, i = v["hidden_size"], v["intermediate_size"]
    blocks = v["depth"] if qwen else v["num_hidden_layers"]
    up = 2 * (d * i + i) if qwen else d * i + i
    return {"vision_qkv": blocks * 3 * (d * d + d), "vision_mlp_up": blocks * up}


@pytest.fixture(scope="module", params=list(REAL))
def real(request):
    model, preset, _ = meta_model(request.param)
    return model, preset


def test_every_recipe_counts_what_the_dimensions_say(real):
    model, preset = real
    expected = expected_counts(preset.name)
    assert set(expected) <= set(known_recipes())
    sizes = {n: p.numel() for n, p in model.named_parameters()}
    for recipe in expected:
        names = select_parameters(model, get_recipe(recipe), preset.components)
        assert sum(sizes[n] for n in names) == expected[recipe], (preset.name, recipe)
    # the published sizes: 8.03B, 8.36B, 8.29B
    assert round(expected["full"] / 1e9, 2) == {"llava": 8.03, "llava_next": 8.36, "qwen2_5_vl": 8.29}[preset.name]


def test_components_partition_the_model_and_mlp_recipes_stay_in_the_language_model(real):
    model, preset = real
    names = [n for n, _ in model.named_parameters()]
    members = component_members(names, preset.components)
    owned = [n for m in members.values() for n in m]
    assert sorted(owned) == sorted(names)  # every parameter in exactly one component
    for recipe in ("mlp", "mlp_gate_up", "mlp_down", "sa_proj", "sa_qkv"):
        selected = select_parameters(model, get_recipe(recipe), preset.components)
        assert all(n in members["language_model"] for n in selected)
    if preset.name == "qwen2_5_vl":  # the ViT's own SwiGLU blocks and the merger
        assert any(".visual.blocks.0.mlp.gate_proj." in n for n in members["vision_tower"])
        assert set(members["projector"]) == {n for n in names if n.startswith("model.visual.merger.")}


def test_a_layer_range_takes_the_last_layers_only(real):
    model, preset = real
    names = select_parameters(model, get_recipe("mlp_gate_up_last4"), preset.components)
    n_layers = model.config.text_config.num_hidden_layers
    assert {int(n.split(".layers.")[1].split(".")[0]) for n in names} == set(range(n_layers - 4, n_layers))
    middle = Recipe(name="mid", train={"language_model": [r"self_attn\.o_proj\."]}, layers=[2, 5])
    assert [n.split(".")[3] for n in select_parameters(model, middle, preset.components)] == ["2", "3", "4"]


# --- tiny builds of each family --------------------------------------------------------------------------
@pytest.fixture(scope="module", params=list(REAL.values()))
def tiny(request):
    """(model, processor, preset, a prompt batch with labels, the initial state) of a tiny family model."""
    model, processor, preset = load_model(request.param)
    batch = _prompt_batch(processor, ("count", "color"))
    return model, processor, preset, batch, {k: v.clone() for k, v in model.state_dict().items()}


def _prompt_batch(processor, skills) -> dict:
    """Left-padded prompts of one sample per skill, every real token a label (a loss that reaches every part)."""
    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.train.module import BATCH_META

    samples = [get_skill(s).dataset("train", 1)[0] for s in skills]
    batch = {k: v for k, v in Collator(processor, train=False)(samples).items() if k not in BATCH_META}
    batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    return batch


def test_tiny_families_are_the_real_classes_with_the_real_components(tiny):
    model, processor, preset, _, _ = tiny
    real = next(r for r, t in REAL.items() if t == preset.name)
    real_config = json.loads((CONFIG_DIR / get_preset(real).meta_config).read_text())
    assert type(model).__name__ == real_config["architectures"][0]
    assert preset.components == get_preset(real).components and preset.family == get_preset(real).family
    assert 2e5 < sum(p.numel() for p in model.parameters()) < 5e6
    assert processor.chat_template and type(processor).__module__.startswith(("transformers.", "lmmcl."))


def _dead_weights(model, batch) -> set[str]:
    """Parameters no loss reaches (e.g. a vision tower's layers after the one whose features are used)."""
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    model(**batch).loss.backward()
    dead = {n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()}
    model.zero_grad(set_to_none=True)
    return dead


@pytest.mark.parametrize("recipe", known_recipes())
def test_one_optimizer_step_changes_exactly_the_recipes_parameters(tiny, recipe):
    model, _, preset, batch, initial = tiny
    model.load_state_dict(initial)
    model.train()
    dead = _dead_weights(model, batch)
    vision = component_members([n for n, _ in model.named_parameters()], preset.components)["vision_tower"]
    assert dead <= set(vision)  # only unused vision layers / post-layernorms, never the LM or projector
    selected = set(apply_recipe(model, get_recipe(recipe), preset.components))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.0)
    model(**batch).loss.backward()
    optimizer.step()
    after = model.state_dict()  # named_parameters lists a tied tensor once, under its first name
    changed = {n for n, _ in model.named_parameters() if not torch.equal(after[n], initial[n])}
    assert changed == selected - dead
    assert changed  # the recipe trained something


# --- real presets: a local checkpoint loads and trains; missing weights fail fast and clearly -----------
@pytest.mark.parametrize("real", list(REAL))
def test_a_real_preset_loads_and_trains_from_a_local_checkpoint(real, tmp_path):
    tiny_dir = get_preset(REAL[real]).local_path()
    load_model(REAL[real])  # builds it once
    shutil.copytree(tiny_dir, tmp_path / "ckpt")
    model, processor, preset = load_model(real, model_path=str(tmp_path / "ckpt"))
    assert preset.name == real and model.dtype == torch.bfloat16  # the real preset's dtype
    batch = _prompt_batch(processor, ("count",))
    names = apply_recipe(model, get_recipe("mlp_gate_up"), preset.components)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if n in names}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    model(**batch).loss.backward()
    optimizer.step()
    assert all(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n in names)


def test_missing_weights_fail_fast_with_where_it_looked_and_how_to_provide_them(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "LMMCL_CACHE": str(tmp_path / "c")}
    env.pop("HF_HUB_CACHE", None)
    cmd = [sys.executable, "-m", "lmmcl.cli", "fit", "--model.preset", "llava", "--recipe.name", "mlp_gate_up",
           "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    error = out.stderr[out.stderr.index("lmmcl fit: error:"):]
    assert "llava-hf/llava-onevision-qwen2-7b-ov-hf" in error
    assert str(tmp_path / "hf" / "hub") in error  # where it looked
    assert "MODEL_PATH" in error and "--model.model_path" in error and "HF_HOME" in error
    assert not (tmp_path / "c").exists()  # nothing was built or loaded before failing



@pytest.mark.parametrize("preset", ["tiny_onevision", "tiny_next", "tiny_qwen2_5_vl"])
def test_a_tiny_family_learns_from_training_batches(preset):
    """The training path: Collator(train=True) answer batches, the recipe, AdamW; the loss goes down."""
    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.train.module import LMMModule

    module = LMMModule(preset)
    data = get_skill("count").dataset("train", 4)
    batch = module.model_inputs(Collator(module.processor, train=True)([data[i] for i in range(4)]))
    apply_recipe(module.model, get_recipe("mlp_gate_up"), module.preset.components)
    optimizer = torch.optim.AdamW([p for p in module.model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(3):
        loss = module.model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
