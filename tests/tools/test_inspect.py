"""``lmmcl recipes MODEL``: the per-recipe table, offline, for a real model."""

import re

import pytest

from lmmcl.tools.inspect import main

PAPER_RECIPES = ["full", "vision_tower", "projector", "llm", "sa_proj", "sa_qkv", "mlp", "mlp_gate_up", "mlp_down"]


def test_recipes_llava_prints_every_recipe_offline(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["llava"]) == 0
    out = capsys.readouterr().out
    assert "llava-hf/llava-onevision-qwen2-7b-ov-hf" in out and "meta device" in out
    assert "bf16-mixed autocast over float32 weights" in out and "grads 4 B + Adam m+v 8 B = 12 B" in out
    rows = {m.group(1): m for m in re.finditer(r"^(\w+)\s+([\d,]+)\s+([\d.]+)%", out, re.M)}
    assert set(PAPER_RECIPES) <= set(rows)
    assert rows["full"].group(2) == "8,030,807,584" and rows["full"].group(3) == "100.00"
    assert rows["mlp_gate_up"].group(2) == "3,802,136,576"  # 28 layers x 2 x 3584 x 18944
    # paper.yaml (bf16-mixed over fp32 weights): 12 B per trainable parameter, 3,802,136,576 x 12 B = 42.49 GiB;
    # + 4 B per parameter of the whole model: + 8,030,807,584 x 4 B = 72.41 GiB
    assert re.search(r"^mlp_gate_up .* 42\.49 GiB\s+72\.41 GiB$", out, re.M)
    # LoRA trains adapters, not the MLP weights: r 256 x (in + out) per adapted matrix, 3 per layer x 28 layers
    assert rows["lora"].group(2) == f"{256 * 28 * 3 * (3584 + 18944):,}"


def test_recipes_help_and_unknown_model(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "meta device" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["llava_nxt"])
    assert done.value.code == 2
    assert "Known: " in capsys.readouterr().err


def test_recipes_memory_follows_the_config_strategy_and_precision(capsys):
    assert main(["llava", "--config", "configs/experiment/paper.yaml", "--config", "configs/trainer/fsdp.yaml",
                 "--gpus", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^mlp_gate_up .* 5\.31 GiB\s+9\.05 GiB$", out, re.M)  # the paper.yaml figures / 8
    assert "FSDPStrategy shards everything over 8 GPU(s)" in out

