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


def test_glyph_labels_sit_where_the_characters_are_drawn():
    import random

    from lmmcl.data.skill import get_skill
    from lmmcl.models.vision_pretrain import CHARS, glyph_batch

    skill = get_skill("shape")
    images, labels = glyph_batch(random.Random(1), skill, 24)
    assert labels.shape == (24, 16) and (labels > 0).sum(1).min() >= 1 and labels.max() <= len(CHARS)
    cell = skill.cell_px
    for image, label in zip(images, labels.tolist()):
        pixels = image.load()
        for c in (c for c, x in enumerate(label) if x):
            row, col = divmod(c, skill.grid)
            colours = {pixels[col * cell + i, row * cell + j] for i in range(cell) for j in range(cell)}
            assert len(colours) >= 2  # ink on paper inside the labelled cell


def test_stroke_labels_name_a_direction_for_each_stroke_start():
    import random

    from lmmcl.data.skill import get_skill
    from lmmcl.models.vision_pretrain import DIRECTIONS, stroke_batch

    images, labels = stroke_batch(random.Random(2), get_skill("shape"), 16)
    assert labels.shape == (16, 16)
    assert ((labels > 0).sum(1) >= 1).all() and labels.max() <= DIRECTIONS
    assert len(set(labels[labels > 0].tolist())) > 4  # the directions vary


def test_extra_tasks_train_their_own_heads_and_an_unknown_task_is_refused():
    model, processor = load()
    accuracy = pretrain_vision(model, processor, steps=2, lr=3e-3, batch_size=8, log_every=0, tasks=["glyph", "stroke"])
    assert set(accuracy) == {"colour", "shape", "glyph", "stroke"}
    with pytest.raises(LmmclError, match="Unknown vision pre-training task.*glyph, stroke"):
        pretrain_vision(model, processor, steps=1, log_every=0, tasks=["ocr"])
