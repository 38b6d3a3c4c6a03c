"""Evaluation shards of equal length: every sample scored once, and every rank as many batches as the others.

Under FSDP every forward is a collective (each unit's parameters are gathered from all ranks), so a rank that runs
one more evaluation batch than the others waits for them forever. Shorter shards are padded with items that hold
no sample (:class:`ShardPadding`): the collator drops them silently, and a batch left empty runs a placeholder
forward that is never scored (:class:`lmmcl.train.module.LMMModule`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from torch.utils.data import Dataset, DistributedSampler


class ShardPadding:
    """An item of a padded evaluation shard: no sample, never scored (the collator drops it silently)."""


class EvenShards(DistributedSampler):
    """Every sample on exactly one rank (nothing scored twice), and every rank as many items as the largest shard:
    the shorter shards end with indices past the dataset, which :class:`Padded` turns into :class:`ShardPadding`
    items. Lightning's ``UnrepeatedDistributedSampler`` leaves shards uneven (17 samples on 2 ranks: 9 and 8), so
    under FSDP one rank would run a batch's forwards alone and wait forever for the others."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.num_samples = math.ceil(len(dataset) / num_replicas)

    def __iter__(self) -> Iterator[int]:
        mine = list(range(self.rank, len(self.dataset), self.num_replicas))
        return iter(mine + [len(self.dataset)] * (self.num_samples - len(mine)))

    def __len__(self) -> int:
        return self.num_samples


class Padded(Dataset):
    """``dataset`` whose indices past its end give :class:`ShardPadding` (the padding of :class:`EvenShards`)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return ShardPadding() if index >= len(self.dataset) else self.dataset[index]

    def __getattr__(self, name: str) -> Any:  # the dataset's own attributes (bad_records, ...)
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)
