"""Training memory per parameter for a config's precision and strategy (what ``lmmcl recipes`` prints).

Per trainable parameter: its gradient, AdamW's m and v (kept in the parameter's dtype by torch.optim.AdamW),
and an fp32 master copy only where the weights themselves are not fp32 and the strategy keeps one (DeepSpeed).
Per parameter of the whole model: the stored weights. Sharded strategies (FSDP, DeepSpeed ZeRO-3) split all of
it across the GPUs; DDP keeps a full copy on each. Activations are not counted (batch and length dependent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BYTES_PER = {"float32": 4, "bfloat16": 2, "float16": 2}
SHARDED = ("FSDPStrategy", "DeepSpeedStrategy", "fsdp", "deepspeed")


@dataclass
class MemoryModel:
    """Bytes per trainable parameter (grads, Adam m+v, master copy), per model parameter (weights), shards."""

    grad: int
    adam: int
    master: int
    weight: int
    shards: int
    assumption: str

    @property
    def train_state(self) -> int:
        return self.grad + self.adam + self.master

    def columns(self) -> dict[str, int]:
        names = {"grads": self.grad, "Adam m+v": self.adam, "master": self.master}
        return {k: v for k, v in names.items() if v}


def _strategy_name(strategy: Any) -> str:
    if isinstance(strategy, dict):
        return str(strategy.get("class_path", "")).rsplit(".", 1)[-1]
    return str(strategy or "auto")


def memory_model(precision: str | int | None, dtype: str, strategy: Any = None, gpus: int = 1) -> MemoryModel:
    """The memory model of ``trainer.precision`` with weights stored in ``dtype`` under ``strategy``."""
    precision = str(precision or "32-true")
    weight = BYTES_PER[dtype]
    name = _strategy_name(strategy)
    deepspeed = "deepspeed" in name.lower()
    if deepspeed and precision.startswith(("bf16", "16")):  # bf16 weights + grads, fp32 master + Adam
        model = MemoryModel(2, 8, 4, 2, 1, "DeepSpeed bf16: bf16 weights and grads, fp32 master copy and Adam m, v")
    else:  # torch AdamW keeps grads and m, v in the weights' dtype; under autocast the weights are the master
        kind = (f"{precision} autocast over {dtype} weights (the master copy)" if precision.endswith("-mixed")
                else f"precision {precision}, {dtype} weights, no master copy")
        model = MemoryModel(weight, 2 * weight, 0, weight, 1, f"{kind}; grads and Adam m, v in {dtype}")
    sharded = any(s.lower() in name.lower() for s in SHARDED)
    model.shards = gpus if sharded else 1
    model.assumption += (f"; {name} shards everything over {gpus} GPU(s): per-GPU figures" if sharded
                         else f"; strategy {name}: every device holds all of it")
    return model


def from_config(config: dict[str, Any], preset_dtype: str, gpus: int | None = None) -> MemoryModel:
    """The memory model of a resolved experiment config (``lmmcl.train.plan.resolve_config``)."""
    trainer, model = config.get("trainer", {}), config.get("model", {})
    devices = trainer.get("devices")
    gpus = gpus or (devices if isinstance(devices, int) else 1)
    return memory_model(trainer.get("precision"), model.get("dtype") or preset_dtype, trainer.get("strategy"), gpus)
