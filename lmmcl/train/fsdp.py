"""What the paper's runs need from FSDP that Lightning's ``FSDPStrategy`` does not give by default.

- Precision (:func:`mixed_precision_of`, named in configs/trainer/fsdp.yaml): Lightning derives FSDP's
  ``MixedPrecision`` from ``trainer.precision``, and for ``bf16-mixed`` that casts every floating *buffer* to bf16
  too, the rotary frequencies (``inv_freq``) included: at position 7,000 (a DocVQA page on LLaVA-OneVision is
  ~7,300 image tokens) 12-13 of 64 frequency pairs are then off by more than 0.5 rad, and every evaluation, the
  base row included, moves. Here parameters compute in bf16, gradients are reduced in fp32 and buffers stay fp32.
- Gradient clipping (:func:`clip_gradients`, called by ``LMMModule.configure_gradient_clipping``): Lightning's
  ``FSDPPrecision`` refuses ``gradient_clip_val`` (a norm over one rank's shards is wrong); the root FSDP module's
  ``clip_grad_norm_`` computes the norm over every rank's shards.
- Forwards in step: every FSDP unit's forward is a collective, so every rank must run as many forwards as the
  others (``LMMModule`` runs a placeholder batch where a rank has no sample; evaluation shards are padded to equal
  length, :class:`lmmcl.data.shards.EvenShards`; generation keeps stepping until every rank is done, ``synced_gpus``;
  callbacks' forwards run inside the root module's forward, :mod:`lmmcl.eval.sharded`).
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.strategies import FSDPStrategy as LightningFSDP
from torch.distributed.fsdp import MixedPrecision

from lmmcl.errors import LmmclError
from lmmcl.eval.sharded import is_fsdp


def mixed_precision_of(dtypes: dict[str, str] | None) -> MixedPrecision | None:
    """FSDP's ``MixedPrecision`` from dtype names, e.g. ``{param_dtype: bfloat16, reduce_dtype: float32,
    buffer_dtype: float32}`` (configs/trainer/fsdp.yaml: bf16 compute of fp32 master weights, fp32 gradient
    reduction, fp32 buffers such as RoPE's ``inv_freq``); None: Lightning's, derived from ``trainer.precision``."""
    if dtypes is None:
        return None
    fields = ("param_dtype", "reduce_dtype", "buffer_dtype")
    unknown = sorted(set(dtypes) - set(fields))
    bad = {k: v for k, v in dtypes.items() if not isinstance(getattr(torch, str(v), None), torch.dtype)}
    if unknown or bad:
        raise LmmclError(f"strategy mixed_precision {dtypes}: keys are {', '.join(fields)} (got {unknown or 'them'}), "
                         f"values torch dtype names such as bfloat16 or float32 (got {bad or 'them'}).")
    return MixedPrecision(**{k: getattr(torch, v) for k, v in dtypes.items()})


def clip_gradients(strategy: Any, value: float | None, algorithm: str | None) -> bool:
    """Clip the gradients of an FSDP-wrapped model by their global norm; False (nothing done) off FSDP."""
    if not is_fsdp(strategy) or not value:
        return False
    if algorithm not in (None, "norm"):
        raise LmmclError(f"trainer.gradient_clip_algorithm={algorithm!r} under FSDP: only 'norm' is supported "
                         f"(the root module's clip_grad_norm_ over every rank's shards); use 'norm' or remove it.")
    strategy.model.clip_grad_norm_(value)  # the root FullyShardedDataParallel module: a collective
    return True


class FSDPStrategy(LightningFSDP):
    """Lightning's ``FSDPStrategy`` with three changes the stage loop needs.

    - ``mixed_precision`` as dtype names (:func:`mixed_precision_of`; a YAML file cannot name a torch dtype).
    - The model is wrapped once per run: the base evaluation (``trainer.validate``) and the stages
      (``trainer.fit``) share the wrapped module. Lightning wraps again at ``fit``, around units already holding
      the root's parameters as views of the first wrapper's sharded storage: the embeddings are then 1-D shards
      ("'weight' must be 2-D").
    - It also runs on CPU over gloo (the rehearsal): FSDP needs ``device_id=cpu`` there (with none it looks for an
      accelerator and stops), and Lightning passes the device's index, None on CPU; a full state dict is gathered
      without ``offload_to_cpu`` there (with it, FSDP's clone of the gathered CPU tensors crashes the process).
    """

    def __init__(self, mixed_precision: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(mixed_precision=mixed_precision_of(mixed_precision), **kwargs)
        self._wrapped: torch.nn.Module | None = None

    def _setup_model(self, model: torch.nn.Module) -> torch.nn.Module:
        from torch.distributed.fsdp import FullyShardedDataParallel

        if self._wrapped is not None and self._wrapped.module is model:
            return self._wrapped
        if self.root_device.type != "cpu":
            self._wrapped = super()._setup_model(model)
        else:
            self._wrapped = FullyShardedDataParallel(
                module=model, cpu_offload=self.cpu_offload, mixed_precision=self.mixed_precision_config,
                sharding_strategy=self.sharding_strategy, device_id=self.root_device, **self.kwargs)
        return self._wrapped

    def _full_state_dict_on_cpu(self) -> Any:
        """The full state dict context (rank 0 gathers), or None where Lightning's own works (GPUs, sharded)."""
        from torch.distributed.fsdp import FullOptimStateDictConfig, FullStateDictConfig, StateDictType
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        if self.root_device.type != "cpu" or self._state_dict_type != "full":
            return None
        return FSDP.state_dict_type(self.model, StateDictType.FULL_STATE_DICT,
                                    FullStateDictConfig(offload_to_cpu=False, rank0_only=True),
                                    FullOptimStateDictConfig(offload_to_cpu=False, rank0_only=True))

    def lightning_module_state_dict(self) -> dict[str, Any]:
        context = self._full_state_dict_on_cpu()
        if context is None:
            return super().lightning_module_state_dict()
        with context:
            return self.model.state_dict()

    def optimizer_state(self, optimizer: Any) -> dict[str, Any]:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        from torch.distributed.fsdp import OptimStateKeyType

        context = self._full_state_dict_on_cpu()
        if context is None:
            return super().optimizer_state(optimizer)
        with context:
            state = FSDP.optim_state_dict(self.model, getattr(optimizer, "_optimizer", optimizer))
            if self.global_rank == 0:  # the standard format, as Lightning stores it
                state = FSDP.rekey_optim_state_dict(state, OptimStateKeyType.PARAM_ID, self.model)
            return state
