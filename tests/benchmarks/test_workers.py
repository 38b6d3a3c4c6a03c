"""Data loading in worker processes: the synthetic datasets and the collate pickle and give the same batches."""

import pickle

import torch


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if torch.is_tensor(a[key]):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def test_dataset_and_collate_pickle_as_spawned_workers_need():
    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill
    from lmmcl.models import load_model

    _, processor, _ = load_model("tiny_scratch")
    dataset = get_skill("count").dataset("train", 8, seed=0)
    collate = Collator(processor, train=True)
    copy_dataset, copy_collate = pickle.loads(pickle.dumps((dataset, collate)))
    _same(collate([dataset[i] for i in range(8)]), copy_collate([copy_dataset[i] for i in range(8)]))


def test_two_workers_give_the_batches_of_the_main_process():
    from lmmcl.data.datamodule import SkillDataModule
    from lmmcl.models import load_model

    _, processor, _ = load_model("tiny_scratch")
    batches = {}
    for workers in (0, 2):
        dm = SkillDataModule("species", train_size=24, batch_size=8, num_workers=workers)
        dm.processor = processor
        torch.manual_seed(0)  # the shuffle order
        batches[workers] = list(dm.train_dataloader())
    assert len(batches[0]) == len(batches[2]) == 3
    for a, b in zip(batches[0], batches[2]):
        _same(a, b)


def test_data_wait_timer_splits_waiting_from_steps(make_trainer):
    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.train.module import LMMModule
    from lmmcl.train.perf import DataWaitTimer
    from lmmcl.train.recipes import FreezeRecipe
    from lmmcl.train.stages import SequentialStages

    timer = DataWaitTimer()
    trainer = make_trainer([FreezeRecipe("mlp_gate_up"), SequentialStages(save_checkpoints=False), timer],
                           limit_val_batches=0, logger=False)
    trainer.fit(LMMModule("tiny_scratch"), datamodule=SkillSequence(skills=["species"], train_size=16, batch_size=4))
    (epoch,) = timer.epochs
    assert epoch["steps"] == 4 and epoch["step_s"] > 0 and epoch["wait_s"] > 0
    assert 0 < epoch["wait_share"] < 1
