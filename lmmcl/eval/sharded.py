"""Forwards outside the training and validation steps (the drift monitor's, the counting-bias probe's) under FSDP.

Lightning runs ``training_step`` and ``validation_step`` inside the root FSDP module's forward, which gathers the
root unit's parameters (embeddings, vision patch embedding, head) for the step; a callback that calls the model
directly would find them sharded (flat views). :func:`in_root_forward` runs such a computation the same way.
Generation under FSDP keeps stepping until every rank is done (:func:`synced_generation`): every step's forward is
a collective, and ranks' prompts finish at different steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from lightning.pytorch import LightningModule
from lightning.pytorch.strategies import FSDPStrategy
from lightning.pytorch.strategies.strategy import _ForwardRedirection

T = TypeVar("T")


def is_fsdp(strategy: Any) -> bool:
    return isinstance(strategy, FSDPStrategy)


def _trainer(pl_module: Any) -> Any:
    """The Trainer ``pl_module`` runs in, or None (outside a run: lmmcl.eval.generate.Answerer has none)."""
    return getattr(pl_module, "_trainer", None)


def synced_generation(pl_module: LightningModule) -> bool:
    """Whether ``generate`` must step until every rank is done (FSDP on several processes)."""
    trainer = _trainer(pl_module)
    return trainer is not None and trainer.world_size > 1 and is_fsdp(trainer.strategy)


def in_root_forward(pl_module: LightningModule, compute: Callable[[], T]) -> T:
    """``compute()``, inside the root FSDP module's forward when the module is FSDP-wrapped (else just called):
    Lightning's own redirection of that forward, as for ``training_step``, to ``pl_module.run_in_forward``."""
    trainer = _trainer(pl_module)
    wrapper = trainer.strategy.model if trainer is not None and is_fsdp(trainer.strategy) else None
    if wrapper is None or wrapper is pl_module:
        return compute()
    return _ForwardRedirection()(wrapper, pl_module, "run_in_forward", compute)
