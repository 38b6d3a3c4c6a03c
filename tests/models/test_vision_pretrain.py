"""Vision pre-training: the tower alone learns to name each cell's object; nothing else in the model changes."""

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from lmmcl.errors import LmmclError
from lmmcl.models.presets import built_checkpoint, get_preset
from lmmcl.models.vision_pretrain import pretrain_vision, scene_batch


def load():
    src = built_checkpoint(get_preset("tiny_scratch"))
    return AutoModelForImageTextToText.from_pretrained(src), AutoProcessor.from_pretrained(src)


def test_labels_name_the_colour_and_shape_of_every_drawn_object():
    import random

    from lmmcl.data.skill import get_skill

    images, labels = scene_batch(random.Random(0), get_skill("shape"), 8)
    assert len(images) == 8 and labels.shape == (8, 16, 2)
    assert (labels[..., 0] > 0).eq(labels[..., 1] > 0).all()  # a cell has both a colour and a shape, or neither
    assert labels[..., 0].max() <= 6 and labels[..., 1].max() <= 4 and (labels > 0).any()


def test_only_the_vision_tower_trains_and_it_learns():
    model, processor = load()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = pretrain_vision(model, processor, steps=1, lr=3e-3, batch_size=16, log_every=0)
    last = pretrain_vision(model, processor, steps=40, lr=3e-3, batch_size=16, log_every=0)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all("vision_tower" in k for k in changed)
    assert last["colour"] > first["colour"] and last["colour"] > 80  # most cells are empty: 'none' is learned first


def test_a_grid_that_is_not_one_patch_per_cell_is_refused_with_the_fix(monkeypatch):
    import lmmcl.data.skill as skills

    model, processor = load()
    fine = skills.get_skill("shape")
    fine.grid = 8  # 64 cells against the tower's 16 patches
    monkeypatch.setattr(skills, "get_skill", lambda name: fine)
    with pytest.raises(LmmclError, match="one patch per cell.*vision_steps"):
        pretrain_vision(model, processor, steps=1, log_every=0)
