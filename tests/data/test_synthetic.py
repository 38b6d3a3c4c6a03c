import re

import numpy as np
import pytest

from lmmcl.data.skill import get_skill
from lmmcl.data.skills.heldout import QUADRANTS
from lmmcl.data.skills.language import VOCABULARY
from lmmcl.data.skills.targets import TISSUE, WORDS
from lmmcl.data.synthetic import COLORS, SHAPES, split_of

TARGETS = ["species", "count", "pathology", "text", "clock"]
HELDOUT = ["background", "color", "exist", "shape", "position", "chart", "document", "arrow", "choice", "caption"]
EASIER = ["species_easy", "count_easy", "pathology_easy", "text_easy", "clock_easy"]  # the targets' easier versions
PRETRAIN = ["words", *EASIER]  # base pre-training only
SKILLS = TARGETS + HELDOUT + PRETRAIN

# Each skill's answer format, as a predicate on (sample); one place, so a new skill adds one line.
FORMATS = {
    "species": lambda s: re.fullmatch("[ABCD]", s.answer) and s.answers[1] in s.question,
    "count": lambda s: s.answer.isdigit() and 1 <= int(s.answer) <= 6,
    "pathology": lambda s: s.answer in ("yes", "no") or s.answer in TISSUE,
    "text": lambda s: s.answer in WORDS,
    "clock": lambda s: re.fullmatch(r"(0[1-9]|1[0-2]):[0-5]\d", s.answer),
    "background": lambda s: s.answer in COLORS,
    "color": lambda s: s.answer in COLORS,
    "exist": lambda s: s.answer in ("yes", "no"),
    "shape": lambda s: s.answer in SHAPES,
    "position": lambda s: s.answer in QUADRANTS,
    "chart": lambda s: s.answer.isdigit() and 1 <= int(s.answer) <= 7,
    "document": lambda s: re.fullmatch(r"\d", s.answer),
    "arrow": lambda s: re.fullmatch("[ABCD]", s.answer) and s.answers[1] in SHAPES,
    "choice": lambda s: re.fullmatch("[ABCD]", s.answer) and s.answers[1] in COLORS,
    "caption": lambda s: all(w in COLORS or w in SHAPES or w == "and" for w in s.answer.split()),
    "words": lambda s: 3 <= len(s.answer.split()) <= 6 and all(w in VOCABULARY for w in s.answer.split()),
    "species_easy": lambda s: re.fullmatch("[ABCD]", s.answer)
    and s.answers[1] in ("Scarlet Tanager", "Golden Warbler", "Violet Finch"),
    "count_easy": lambda s: s.answer in ("1", "2", "3"),
    "pathology_easy": lambda s: s.answer in ("yes", "no"),
    "text_easy": lambda s: s.answer in WORDS[::3],
    "clock_easy": lambda s: re.fullmatch(r"(0[1-9]|1[0-2]):00", s.answer),
}


@pytest.mark.parametrize("name", SKILLS)
def test_same_seed_same_samples_other_seed_other_samples(name):
    skill = get_skill(name)
    a, b = skill.dataset("train", 8, seed=1), skill.dataset("train", 8, seed=1)
    for i in range(8):
        assert a[i].question == b[i].question and a[i].answers == b[i].answers
        assert np.array_equal(np.asarray(a[i].image), np.asarray(b[i].image))
    c = skill.dataset("train", 8, seed=2)
    assert any(not np.array_equal(np.asarray(a[i].image), np.asarray(c[i].image)) for i in range(8))


OPEN_ENDED = {"caption", "words"}  # answers are combinations (colour shape and ...): no closed answer set to cover


@pytest.mark.parametrize("name", SKILLS)
def test_splits_are_sound(name):
    """Pictures vary beyond their answer, test pictures never occur in train, test answers all do."""
    skill = get_skill(name)
    train = [skill.dataset("train", 600)[i] for i in range(600)]
    test = [skill.dataset("test", 80)[i] for i in range(80)]
    train_pictures = {s.image.tobytes() for s in train}
    assert len(train_pictures) >= 0.97 * len(train), f"{name}: few distinct pictures - too little nuisance variation"
    assert not train_pictures & {s.image.tobytes() for s in test}, f"{name}: a test picture also appears in train"
    if name not in OPEN_ENDED:
        missing = {s.answer for s in test} - {s.answer for s in train}
        assert not missing, f"{name}: test answers never seen in training: {sorted(missing)}"


@pytest.mark.parametrize("name", SKILLS)
def test_answer_format_and_variety(name):
    samples = [get_skill(name).dataset("test", 40)[i] for i in range(40)]
    bad = [s.answer for s in samples if not FORMATS[name](s)]
    assert not bad, f"{name}: answers out of format: {bad[:5]}"
    assert len({s.answer for s in samples}) > 1  # not a constant


def test_every_synthetic_skill_has_a_format_check_and_a_kind():
    from lmmcl.data.skill import known_skills
    from lmmcl.data.synthetic import SyntheticSkill

    synthetic = [n for n in known_skills() if isinstance(get_skill(n), SyntheticSkill)]
    assert sorted(synthetic) == sorted(SKILLS)
    assert all(get_skill(n).kind == "target" for n in TARGETS)
    assert all(get_skill(n).kind == "heldout" for n in HELDOUT)
    assert all(get_skill(n).kind == "pretrain" for n in PRETRAIN)


@pytest.mark.parametrize("easier", EASIER)
def test_an_easier_version_never_trains_on_its_target_s_test_pictures(easier):
    """The base pre-trains on the easier versions: their pictures split as their target's do, so none of their
    training pictures is one of the target's test pictures (and the target's test questions are never trained)."""
    target = easier.removesuffix("_easy")
    assert get_skill(easier).split_key == target and get_skill(easier).kind == "pretrain"
    train = {get_skill(easier).dataset("train", 600)[i].image.tobytes() for i in range(600)}
    test = {get_skill(target).dataset("test", 200)[i].image.tobytes() for i in range(200)}
    assert not train & test


def test_generator_parameters_nested_under_params_are_refused():
    from lmmcl.data.synthetic import SyntheticSkill

    with pytest.raises(ValueError, match="top-level keys"):
        SyntheticSkill("text", "text", "exact_match", params={"column": 16})


def test_split_assignment_is_stable():
    assert split_of(("x", 1)) == split_of(("x", 1))


def test_unknown_skill_and_split_fail_clearly():
    with pytest.raises(ValueError, match=r"Unknown skill 'cont'\. Known: .*count"):
        get_skill("cont")
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        get_skill("count").dataset("val", 4)



def test_skill_grid_shows_every_sample(tmp_path):
    from lmmcl.data.show import main

    assert main(["clock", "--n", "6", "--out", str(tmp_path)]) == 0
    from PIL import Image

    grid = Image.open(tmp_path / "clock.png")
    assert grid.width > 4 * 32 * 4 and grid.height > 2 * 32 * 4  # 6 samples: 4 columns, 2 rows, enlarged


def test_skill_gallery_logs_one_grid_per_benchmark():
    from types import SimpleNamespace

    from lmmcl.data.show import SkillGallery

    logged = {}
    writer = SimpleNamespace(add_image=lambda tag, img, dataformats, global_step: logged.__setitem__(tag, img.shape),
                             add_text=lambda *args, **kwargs: None, flush=lambda: None)  # a SummaryWriter's methods
    trainer = SimpleNamespace(is_global_zero=True, loggers=[writer],
                              datamodule=SimpleNamespace(benchmarks=[get_skill("count"), get_skill("color")]))
    SkillGallery(n=4).on_fit_start(trainer, None)
    assert set(logged) == {"skills/count", "skills/color"} and all(len(s) == 3 and s[2] == 3 for s in logged.values())


# The synthetic world as of each WORLD_VERSION. Changed the world on purpose? Bump WORLD_VERSION in
# lmmcl/data/synthetic.py (cached tokenizers and base models are keyed by it) and add the new fingerprint.
WORLD_FINGERPRINTS = {2: "b9cbe929666f25a0", 3: "7aefc0058e490927", 4: "d2348918f9986282", 5: "c8b65e0a7d6db254"}


def test_world_changes_bump_the_world_version():
    from lmmcl.data.skill import get_skill, known_skills
    from lmmcl.data.synthetic import WORLD_VERSION, SyntheticSkill, world_fingerprint

    synthetic = [s for s in map(get_skill, known_skills()) if isinstance(s, SyntheticSkill)]  # sorted by name
    assert len(synthetic) == 21
    assert world_fingerprint(synthetic) == WORLD_FINGERPRINTS.get(WORLD_VERSION), (
        "the synthetic world's samples changed: bump WORLD_VERSION and record the new fingerprint")
