"""Fit configs are checked before anything heavy: each bad value is one error naming the option and the fix."""

import math

import pytest

from lmmcl.errors import LmmclError
from lmmcl.train.validate import check_numbers, check_skills

GOOD = {"data": {"train_size": None, "test_size": 4, "batch_size": 2, "eval_batch_size": 2, "max_length": 64,
                 "num_workers": 0, "skills": ["count"], "heldout": ["color"]},
        "model": {"lr": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.0}, "config": ["configs/experiment/x.yaml"]}


def bad(section: str, key: str, value):
    return {**GOOD, section: {**GOOD[section], key: value}}


def test_good_config_passes():
    check_numbers(GOOD)
    check_skills(GOOD)


@pytest.mark.parametrize("section, key, value", [
    ("data", "train_size", 0), ("data", "test_size", -1), ("data", "batch_size", 2.5), ("data", "batch_size", True),
    ("data", "num_workers", -1), ("model", "lr", -1.0), ("model", "lr", 0), ("model", "lr", math.nan),
    ("model", "warmup_ratio", 1.5), ("model", "weight_decay", -0.1),
])
def test_bad_numbers_name_the_option_value_and_file(section, key, value):
    message = rf"--{section}\.{key} {value!r} is invalid: it must be .*configs/experiment/x.yaml"
    with pytest.raises(LmmclError, match=message):
        check_numbers(bad(section, key, value))


@pytest.mark.parametrize("skills, heldout, message", [
    ([], [], "--data.skills is empty"), (["count", "count"], [], "more than once"),
    (["count"], ["count"], "is both a target skill"), (["count"], ["nope"], "Unknown skill 'nope'"),
])
def test_bad_skill_lists(skills, heldout, message):
    with pytest.raises(LmmclError, match=message):
        check_skills({**GOOD, "data": {**GOOD["data"], "skills": skills, "heldout": heldout}})
