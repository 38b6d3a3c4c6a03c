"""Data modules: one :class:`SkillDataModule` per skill, and :class:`SkillSequence` chaining them.

The Trainer sees a ``SkillSequence``: its train dataloader is the current stage's skill (stage = epoch,
reloaded every epoch), its validation dataloaders are every target and held-out test set, in that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from lmmcl.data.collate import Collator
from lmmcl.data.order import apply_order
from lmmcl.data.shards import EvenShards, Padded
from lmmcl.data.skill import Skill, get_skill
from lmmcl.errors import LmmclError

PAPER_ORDER = ["species", "count", "pathology", "text", "clock"]


class SeededShuffle(Sampler[int]):
    """A shuffled order that depends only on ``seed`` (and the pass number with ``per_epoch``), never on the
    global RNG or on how often the loader was built or iterated before: a resumed run replays a stage's
    batches exactly as an uninterrupted run does."""

    def __init__(self, n: int, seed: int, per_epoch: bool = False):
        self.n, self.seed, self.per_epoch, self.passes = n, seed, per_epoch, 0

    def __iter__(self) -> Iterator[int]:
        seed = self.seed + (self.passes if self.per_epoch else 0)
        self.passes += 1
        return iter(torch.randperm(self.n, generator=torch.Generator().manual_seed(seed)).tolist())

    def __len__(self) -> int:
        return self.n


class SkillDataModule(LightningDataModule):
    """Train and test splits of one skill.

    Args:
        skill: a name in configs/skills/ (or a :class:`Skill`).
        train_size, test_size: number of samples per split (``None``: all, for real datasets).
    """

    def __init__(self, skill: str | Skill, train_size: int | None = 256, test_size: int | None = 64,
                 batch_size: int = 16, eval_batch_size: int = 32, num_workers: int = 0, seed: int = 0,
                 max_length: int = 512):
        super().__init__()
        self.skill = get_skill(skill) if isinstance(skill, str) else skill
        self.train_size, self.test_size = train_size, test_size
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.seed, self.max_length = seed, max_length
        self.processor: Any = None
        self.max_images: int | None = None  # images per prompt the model takes (its preset's max_images)
        self.asked: int | None = test_size  # set from the test split when it is loaded
        self.load_bad: dict[str, int] = {}
        self.train_asked: int | None = train_size  # the same two for the training split, when it is loaded
        self.train_load_bad: dict[str, int] = {}
        self._test: Dataset | None = None  # the test split, read by every evaluation of the run

    def split_data(self, split: str) -> Dataset:
        """The ``split``'s dataset. A synthetic test split is drawn once (:func:`lmmcl.data.synthetic.drawn_once`)
        and kept: evaluated after every stage, it is never drawn again. Anything else is built for each loader."""
        if split != "test":
            return self.skill.dataset(split, self.train_size, self.seed)
        if self._test is None:
            from lmmcl.data.synthetic import drawn_once

            data = self.skill.dataset("test", self.test_size, self.seed)
            drawn = drawn_once(data)
            if drawn is data:  # not synthetic: as before
                return data
            self._test = drawn
        return self._test

    @property
    def name(self) -> str:
        return self.skill.name

    def _loader(self, split: str, train: bool, shuffle_seed: int = 0,
                shard: tuple[int, int] | None = None) -> DataLoader:
        if self.processor is None:
            raise RuntimeError(f"SkillDataModule({self.name!r}) needs a processor: set .processor first.")
        size = self.train_size if split == "train" else self.test_size
        data = self.split_data(split)
        # what the report's sample counts start from (lmmcl.eval.sample_counts)
        bad = dict(getattr(data, "load_bad_records", {}))
        asked = size if size is not None else len(data) + sum(bad.values())
        if train:
            self.train_load_bad, self.train_asked = bad, asked
        else:
            self.load_bad, self.asked = bad, asked
        if train:
            sampler = SeededShuffle(len(data), self.seed * 1000 + shuffle_seed)
        elif shard is not None and shard[0] > 1:
            # Every test sample on exactly one rank (Lightning's default DistributedSampler pads the last shard with
            # repeats, which would count some samples twice in the all-reduced scores), every rank as many batches
            # (under FSDP an extra batch on one rank waits forever for the others): lmmcl.data.shards.
            sampler = EvenShards(data, num_replicas=shard[0], rank=shard[1])
            data = Padded(data)
        else:
            sampler = None
        return DataLoader(data, batch_size=self.batch_size if train else self.eval_batch_size, sampler=sampler,
                          num_workers=self.num_workers, persistent_workers=False,
                          collate_fn=Collator(self.processor, train=train, max_length=self.max_length,
                                              max_images=self.max_images))

    def train_dataloader(self, shuffle_seed: int = 0) -> DataLoader:
        return self._loader("train", train=True, shuffle_seed=shuffle_seed)

    def test_dataloader(self, shard: tuple[int, int] | None = None) -> DataLoader:
        """The test split; ``shard`` = (world size, rank) gives this rank its part, without repeats."""
        return self._loader("test", train=False, shard=shard)


def eval_shard(datamodule: LightningDataModule) -> tuple[int, int] | None:
    """(world size, rank) of the datamodule's Trainer when it runs on several processes, else None."""
    trainer = getattr(datamodule, "trainer", None)
    if trainer is None or trainer.world_size <= 1:
        return None
    return trainer.world_size, trainer.global_rank


class SkillSequence(LightningDataModule):
    """Target skills taught one per stage, and held-out benchmarks evaluated after every stage.

    Args:
        skills: target skills in training order (one stage each).
        order: optional stage order as positions in ``skills`` (``[2, 0, 3, 4, 1]``; see :mod:`lmmcl.data.order`).
        heldout: held-out benchmarks (test split only).
        train_size, test_size, batch_size, eval_batch_size, num_workers, seed, max_length: passed to
            every :class:`SkillDataModule`.
    """

    def __init__(self, skills: list[str] = PAPER_ORDER, heldout: list[str] = (), train_size: int | None = 256,
                 test_size: int | None = 64, batch_size: int = 16, eval_batch_size: int = 32, num_workers: int = 0,
                 seed: int = 0, max_length: int = 512, order: list[int] | None = None):
        super().__init__()
        skills = apply_order(skills, order)
        if not skills:
            raise LmmclError("SkillSequence needs at least one target skill (data.skills).")
        kwargs = dict(train_size=train_size, test_size=test_size, batch_size=batch_size,
                      eval_batch_size=eval_batch_size, num_workers=num_workers, seed=seed, max_length=max_length)
        self.max_length = max_length
        self.targets = [SkillDataModule(s, **kwargs) for s in skills]
        self.heldout = [SkillDataModule(s, **kwargs) for s in heldout]
        for dm in self.targets + self.heldout:
            dm.skill.check_available()

    @property
    def skill_names(self) -> list[str]:
        return [dm.name for dm in self.targets]

    @property
    def heldout_names(self) -> list[str]:
        return [dm.name for dm in self.heldout]

    @property
    def benchmarks(self) -> list[Skill]:
        """Every evaluated skill, in validation-dataloader order."""
        return [dm.skill for dm in self.targets + self.heldout]

    @property
    def eval_modules(self) -> list[SkillDataModule]:
        """The evaluated skills' data modules, in validation-dataloader order."""
        return self.targets + self.heldout

    def setup(self, stage: str) -> None:
        module = self.trainer.lightning_module
        for dm in self.targets + self.heldout:
            dm.processor, dm.max_images = module.processor, getattr(module.preset, "max_images", None)

    def train_dataloader(self) -> DataLoader:
        stage = self.trainer.current_epoch
        if stage >= len(self.targets):
            raise RuntimeError(f"Epoch {stage} has no stage: only {len(self.targets)} skills ({self.skill_names}).")
        return self.targets[stage].train_dataloader(shuffle_seed=stage)

    def val_dataloader(self) -> list[DataLoader]:
        return [dm.test_dataloader(eval_shard(self)) for dm in self.targets + self.heldout]


class SkillMixture(LightningDataModule):
    """Several skills trained together (shuffled), each evaluated on its own test split; ``train_only`` skills
    are trained in the same mixture and never evaluated (e.g. ``words``: what the language model can say), and
    ``eval_only`` skills are evaluated and never trained (the target skills: what the base can do before tuning).

    Used to build the base model on the general-ability world before any target stage.
    """

    def __init__(self, skills: list[str], train_size: int = 1000, test_size: int = 64, batch_size: int = 32,
                 eval_batch_size: int = 64, num_workers: int = 0, seed: int = 0, max_length: int = 512,
                 train_only: list[str] = (), eval_only: list[str] = ()):
        super().__init__()
        self.trained, self.train_only, self.eval_only = (
            [SkillDataModule(s, train_size=train_size, test_size=test_size, batch_size=batch_size,
                             eval_batch_size=eval_batch_size, num_workers=num_workers, seed=seed,
                             max_length=max_length) for s in names] for names in (skills, train_only, eval_only))
        self.parts = self.trained + self.eval_only  # every evaluated skill
        self.batch_size, self.num_workers, self.max_length = batch_size, num_workers, max_length
        self.skill_names: list[str] = []  # no target skills: every benchmark is general ability
        self.heldout_names = [p.name for p in self.parts]
        self.benchmarks = [p.skill for p in self.parts]

    @property
    def eval_modules(self) -> list[SkillDataModule]:
        return self.parts

    def setup(self, stage: str) -> None:
        for part in self.parts + self.train_only:
            part.processor = self.trainer.lightning_module.processor

    def train_dataloader(self) -> DataLoader:
        first = self.trained[0]
        data = ConcatDataset([p.skill.dataset("train", p.train_size, p.seed) for p in self.trained + self.train_only])
        # Mixed batches: per-skill batches made the tiny model collapse to constant answers.
        return DataLoader(data, batch_size=self.batch_size,
                          sampler=SeededShuffle(len(data), first.seed, per_epoch=True),
                          num_workers=self.num_workers,
                          collate_fn=Collator(first.processor, train=True, max_length=self.max_length))

    def val_dataloader(self) -> list[DataLoader]:
        return [p.test_dataloader(eval_shard(self)) for p in self.parts]
