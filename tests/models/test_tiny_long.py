"""configs/model/tiny_long.yaml, the tiny preset with twice the base pre-training (the pre-training-length test of
docs/history/2026-12-06-longer-base-pretraining.md): the same model, only more pre-training samples, and a base of its own."""

from lmmcl.models.presets import get_preset


def test_tiny_long_differs_from_tiny_only_in_the_pre_training_samples():
    tiny, long = get_preset("tiny"), get_preset("tiny_long")
    assert long.build == tiny.build and long.family == tiny.family
    assert {k: v for k, v in long.pretrain.items() if k != "train_size"} == \
        {k: v for k, v in tiny.pretrain.items() if k != "train_size"}
    assert long.pretrain["train_size"] == 2 * tiny.pretrain["train_size"]
    assert long.base_path() != tiny.base_path()  # its own cached base, never the shipped one
