"""benchmarks/real_scale.py, the GPU script, runs end to end at tiny size on CPU."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("preset", ["tiny_scratch", "tiny_qwen2_5_vl"])
def test_real_scale_runs_tiny_on_cpu(preset, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.real_scale import main

    out = tmp_path / "real_scale.json"
    rows = main(["--preset", preset, "--steps", "1", "--recipes", "full", "mlp_gate_up", "--out", str(out)])
    assert set(rows) == {"full", "mlp_gate_up"}
    for row in rows.values():
        assert row["tokens_per_s"] > 0 and row["flops_per_step"] > 0
    assert rows["full"]["flops_per_step"] > rows["mlp_gate_up"]["flops_per_step"]  # frozen: no weight gradients
    result = json.loads(out.read_text())
    for row in rows.values():  # lmmcl recipes' prediction beside the measured peak (fp32 on CPU: 4 B weights,
        # 4 B grads, 8 B Adam m+v per trainable parameter)
        assert row["predicted_memory_bytes"] == 4 * result["total_params"] + 12 * row["trainable"]
    assert result["benchmark"] == "real_scale" and result["seq_len"] == 128 and result["image_tokens"] > 0
