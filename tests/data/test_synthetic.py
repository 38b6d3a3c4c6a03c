import numpy as np
import pytest

from lmmcl.data.skill import get_skill
from lmmcl.data.synthetic import split_of

SKILLS = ["species", "count", "color", "exist"]


@pytest.mark.parametrize("name", SKILLS)
def test_same_seed_same_samples_other_seed_other_samples(name):
    skill = get_skill(name)
    a, b = skill.dataset("train", 8, seed=1), skill.dataset("train", 8, seed=1)
    for i in range(8):
        assert a[i].question == b[i].question and a[i].answers == b[i].answers
        assert np.array_equal(np.asarray(a[i].image), np.asarray(b[i].image))
    c = skill.dataset("train", 8, seed=2)
    assert any(not np.array_equal(np.asarray(a[i].image), np.asarray(c[i].image)) for i in range(8))


@pytest.mark.parametrize("name", SKILLS)
def test_train_and_test_never_share_a_picture(name):
    skill = get_skill(name)
    train = {np.asarray(skill.dataset("train", 200)[i].image).tobytes() for i in range(200)}
    test = {np.asarray(skill.dataset("test", 60)[i].image).tobytes() for i in range(60)}
    assert not train & test


def test_answer_formats():
    species = get_skill("species").dataset("test", 20)
    assert all(s.answer in "ABCD" and len(s.answer) == 1 and s.answers[1] in s.question for s in species)
    counts = [int(s.answer) for s in get_skill("count").dataset("test", 50)]
    assert min(counts) >= 1 and max(counts) <= 6 and len(set(counts)) > 3
    assert {s.answer for s in get_skill("exist").dataset("test", 50)} == {"yes", "no"}


def test_split_assignment_is_stable():
    assert split_of(("x", 1)) == split_of(("x", 1))


def test_unknown_skill_and_split_fail_clearly():
    with pytest.raises(ValueError, match=r"Unknown skill 'cont'\. Known: .*count"):
        get_skill("cont")
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        get_skill("count").dataset("val", 4)
