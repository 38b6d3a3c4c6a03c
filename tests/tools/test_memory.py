"""The memory model of `lmmcl recipes`: bytes per parameter for each precision and strategy."""

import pytest

from lmmcl.tools.memory import memory_model


@pytest.mark.parametrize("precision,dtype,strategy,expect", [
    ("bf16-true", "bfloat16", None, (2, 4, 0, 2, 1)),
    ("32-true", "float32", "ddp", (4, 8, 0, 4, 1)),
    ("bf16-mixed", "float32", {"class_path": "lightning.pytorch.strategies.DeepSpeedStrategy"}, (2, 8, 4, 2, 4))])
def test_memory_model_per_precision(precision, dtype, strategy, expect):
    m = memory_model(precision, dtype, strategy, gpus=4)
    assert (m.grad, m.adam, m.master, m.weight, m.shards) == expect
