"""Trainer.log_dir is a collective (a broadcast from rank 0): every rank must read it as often as rank 0 does,
or a multi-process run hangs. Here one process plays rank 0, then rank 1, and counts the broadcasts."""

from unittest import mock

from lightning.pytorch import Trainer

from lmmcl.data.datamodule import SkillSequence
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


def _broadcasts(make_trainer, global_zero: bool) -> int:
    trainer = make_trainer([FreezeRecipe("projector"), SequentialStages()], limit_train_batches=1)
    data = SkillSequence(skills=["color"], heldout=[], train_size=2, test_size=2, batch_size=2, eval_batch_size=2)
    calls = []
    real = trainer.strategy.broadcast
    with mock.patch.object(Trainer, "is_global_zero", new_callable=mock.PropertyMock, return_value=global_zero), \
            mock.patch.object(trainer.strategy, "broadcast",
                              side_effect=lambda obj, src=0: calls.append(obj) or real(obj, src)):
        run_sequence(trainer, LMMModule("tiny_scratch"), data)
    return len(calls)


def test_every_rank_reads_the_run_directory_as_often_as_rank_zero(make_trainer):
    rank0, other = _broadcasts(make_trainer, True), _broadcasts(make_trainer, False)
    assert rank0 > 0
    assert other == rank0, f"rank 0 joins {rank0} broadcasts, another rank {other}: a DDP run would hang"
