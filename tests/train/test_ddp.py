"""DDP: two CPU processes (gloo, Lightning's DDP strategy, forked) train to the same weights as one process with the
same global batch, and score every validation sample exactly once (the same scores as one process).

Why they must agree: each process computes the model's loss, the *mean* over its own answer tokens, and DDP
averages the processes' gradients. The average of per-process means is the global mean only when every
process holds the same number of answer tokens (otherwise a token in a short shard weighs more). So the data
is built to make that true and the test checks it: the ``color`` skill, whose answers are one word, i.e. one
token plus EOS, every row; the same number of rows per process; and the single process reads the samples in
the order DDP's shards come from. Lightning always gives a training loader under DDP a *shuffling*
DistributedSampler (seed = the global seed, + epoch): a permutation ``perm`` of which rank r reads
``perm[r::2]``, so step k's two shards together are ``perm[8k:8k+8]`` - the single process's batch k when it
reads ``perm`` in order with the global batch of 8.
With unequal counts the fix would be to reduce by the global count (sum of token losses divided by the
all-reduced number of answer tokens, times the world size) instead of by each shard's own mean.
No dropout (the tiny model has none), the same seed, ``warmup_ratio=0`` so every step moves the weights.
About 10 s (two forked processes), so it runs with the fast tests.
"""

from typing import Any

import pytest
import torch
from lightning.pytorch import Callback

SAMPLES, PER_PROCESS_BATCH, WORLD, SEED = 32, 4, 2, 0


def _fit(devices: int, batch_size: int, strategy) -> tuple[dict[str, torch.Tensor], Any]:
    from lightning.pytorch import Trainer, seed_everything
    from torch.utils.data import DataLoader, DistributedSampler

    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.train.module import LMMModule
    from lmmcl.train.recipes import FreezeRecipe

    seed_everything(SEED, verbose=False)  # also the DistributedSampler's seed (PL_GLOBAL_SEED)
    module = LMMModule("tiny_scratch", lr=1e-3, warmup_ratio=0.0)
    dataset = get_skill("color").dataset("train", SAMPLES, seed=0)
    if devices == 1:  # DDP's permutation, in order (rank 0 of 1 reads all of it)
        sampler = list(DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=SEED))
    else:  # a plain sequential loader: Lightning swaps in DistributedSampler(shuffle=True, seed=SEED) per rank
        sampler = None  # (a custom sampler would instead be wrapped, and its order shuffled once more)
    collate = Collator(module.processor, train=True)
    data = DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate)
    trainer = Trainer(accelerator="cpu", devices=devices, strategy=strategy, max_epochs=1, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, limit_val_batches=0, deterministic=True, callbacks=[FreezeRecipe("full")])
    trainer.fit(module, train_dataloaders=data)
    if devices == 1:  # (a multiprocessing launcher returns rank 0's weights to this process, not its loop state)
        assert trainer.global_step == SAMPLES // batch_size
    return {k: v.detach().clone() for k, v in module.model.state_dict().items()}, module


def test_two_process_ddp_matches_one_process_with_the_global_batch():
    from lightning.pytorch.strategies import DDPStrategy

    from lmmcl.data.collate import IGNORE_INDEX, Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.train.module import LMMModule

    single, module = _fit(devices=1, batch_size=WORLD * PER_PROCESS_BATCH, strategy="auto")
    # the precondition that makes mean-of-means = global mean: the same answer-token count in every row
    batch = Collator(module.processor, train=True)([get_skill("color").dataset("train", SAMPLES, seed=0)[i]
                                                    for i in range(SAMPLES)])
    per_row = (batch["labels"] != IGNORE_INDEX).sum(dim=1)
    assert per_row.unique().numel() == 1, f"answer-token counts differ per row: {per_row.tolist()}"
    dropout = module.model.config.text_config.attention_dropout, module.model.config.vision_config.attention_dropout
    assert dropout == (0.0, 0.0)

    # find_unused_parameters as in configs/trainer/ddp.yaml: SigLIP's post_layernorm never reaches the loss.
    # fork, not spawn: transformers 5 registers what a model can record (hidden states) in __init__, so a model
    # unpickled in a fresh process (ddp_spawn) silently returns no hidden states and LLaVA's image features fail.
    # `lmmcl fit --config configs/trainer/ddp.yaml` launches by re-running the command per rank (no pickling).
    strategy = DDPStrategy(find_unused_parameters=True, start_method="fork", process_group_backend="gloo")
    ddp, _ = _fit(devices=WORLD, batch_size=PER_PROCESS_BATCH, strategy=strategy)  # rank 0's weights come back

    assert single.keys() == ddp.keys()
    initial = LMMModule("tiny_scratch").model.state_dict()
    moved = [k for k in single if (single[k] - initial[k]).abs().max() > 1e-4]
    assert len(moved) > 0.9 * len(single), "training barely moved the weights: the comparison would prove nothing"
    # Weights move by up to ~2.5e-3; they agree to ~1e-5: Adam divides by sqrt(v), so the float32 rounding of a
    # different reduction order (all-reduce of two shards vs one batch) shows most in near-zero gradients.
    for name in single:
        torch.testing.assert_close(ddp[name], single[name], rtol=1e-4, atol=5e-5,
                                   msg=lambda m, name=name: f"{name}: {m}")


class _CountSamples(Callback):
    """Counts the validation samples each rank scores, summed over ranks when logged."""

    def on_validation_epoch_start(self, trainer, pl_module):
        self.n = 0

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self.n += len(batch["refs"])

    def on_validation_epoch_end(self, trainer, pl_module):
        pl_module.log("samples_scored", float(self.n), reduce_fx="sum", sync_dist=True)


def _validate(devices: int, strategy) -> dict[str, float]:
    from lightning.pytorch import Trainer, seed_everything

    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.train.module import LMMModule

    seed_everything(SEED, verbose=False)
    trainer = Trainer(accelerator="cpu", devices=devices, strategy=strategy, logger=False, enable_progress_bar=False,
                      enable_model_summary=False, callbacks=[_CountSamples()])
    data = SkillSequence(skills=["count"], heldout=["caption"], test_size=5, eval_batch_size=2)
    trainer.validate(LMMModule("tiny_scratch"), datamodule=data, verbose=False)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_ddp_validation_scores_every_test_sample_once():
    from lightning.pytorch.strategies import DDPStrategy

    single = _validate(1, "auto")
    ddp = _validate(WORLD, DDPStrategy(start_method="fork", process_group_backend="gloo"))
    # 5 samples per test set on 2 ranks: 3 + 2, not 3 + 3 with a repeated sample (DistributedSampler's padding)
    assert single["samples_scored"] == ddp["samples_scored"] == 10
    for key in ("val/count", "val/caption"):
        assert ddp[key] == pytest.approx(single[key], abs=1e-6), key
