"""Real-benchmark loaders on tiny local fixtures with each dataset's real column names and types.

Every fixture split holds two good rows, then one row with an undecodable image, one with an empty question
and one with a missing answer. Nothing here touches the network or the Hugging Face cache.
"""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import datasets
import pytest

from lmmcl.data.skill import get_skill
from lmmcl.errors import LmmclError, MissingResourceError
from lmmcl.rehearsal.schemas import FIXTURES
from lmmcl.train.plan import dataset_plan, format_plan

TARGETS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock"]
HELDOUT = ["ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar",
           "countbench", "ocrbench"]
META = {"chartqa": "type", "mmstar": "l2_category", "ocrbench": "dataset", "textvqa": "question_id",
        "docvqa": "questionId"}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """All fixtures under one LMMCL_DATA_DIR, alternating Parquet files and save_to_disk folders."""
    root = tmp_path_factory.mktemp("lmmcl_data")
    for i, ((skill, split), fixture) in enumerate(FIXTURES.items()):
        (root / skill).mkdir(exist_ok=True)
        if skill == "seedbench" or i % 2:  # SEED-Bench's YAML streams, which needs files
            fixture.table().to_parquet(str(root / skill / f"{split}.parquet"))
        else:
            fixture.table().save_to_disk(str(root / skill / split))
    return root


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty Hugging Face cache, lmmcl's default offline mode."""
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "LMMCL_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_home" / "datasets")  # Parquet -> Arrow


@pytest.fixture
def local(offline, data_root, monkeypatch):
    monkeypatch.setenv("LMMCL_DATA_DIR", str(data_root))
    return data_root


@pytest.mark.parametrize("skill_name,split", list(FIXTURES), ids=[f"{s}-{p}" for s, p in FIXTURES])
def test_loader_prompts_answers_and_bad_records(local, skill_name, split, caplog):
    fixture = FIXTURES[skill_name, split]
    skill = get_skill(skill_name)
    with caplog.at_level(logging.WARNING, logger="lmmcl.data.hf"):
        data = skill.dataset(split)
    build_time = {"missing_answer": 1} | ({"empty_question": 1} if fixture.empty else {})
    assert data.bad_records == build_time and "skipped" in caplog.text

    assert len(data) == len(fixture.rows) + 1  # the broken image is only found when read
    samples = [data[i] for i in range(len(data))]
    assert samples[-1].reason == "undecodable_image" and data.bad_records == build_time | {"undecodable_image": 1}
    for sample in samples[:-1]:
        assert sample.image.size == (4, 4) and sample.meta["skill"] == skill_name
    if fixture.expect is not None:
        assert [(s.question, s.answer, s.answers) for s in samples[:-1]] == fixture.expect
    if skill_name in META:
        assert samples[0].meta[META[skill_name]] == fixture.rows[0][META[skill_name]]


def test_cub_training_choices_are_26_letters_seeded_per_image(local):
    skill = get_skill("cub200")
    first, again, other = (skill.dataset("train", seed=s) for s in (0, 0, 1))
    for index, label in enumerate([2, 29]):
        sample = first[index]
        lines = sample.question.split("\n")
        assert lines[1] == "Answer with the option's letter from the given choices directly."
        options = lines[2:]
        assert [o[:3] for o in options] == [f"{chr(65 + i)}. " for i in range(26)]
        gold = f"Bird number {label + 1}"  # "NNN." dropped, "_" -> " "
        assert sample.answers == [sample.answer, gold]
        assert options[ord(sample.answer) - 65] == f"{sample.answer}. {gold}"
        assert len(set(options)) == 26 and "_" not in sample.question
        assert again[index].question == sample.question
    assert [other[i].question for i in range(2)] != [first[i].question for i in range(2)]


def test_streaming_reads_only_the_first_rows(local):
    data = get_skill("seedbench").dataset("test", size=1)
    assert len(data) == 1 and isinstance(data.images, dict) and data.bad_records == {}
    assert data[0].answer == "C" and data[0].meta["question_id"] == "101"


def test_size_takes_a_seeded_subset_of_good_rows(local):
    skill = get_skill("pathvqa")
    a, b = skill.dataset("train", size=2, seed=3), skill.dataset("train", size=2, seed=3)
    assert len(a) == 2 and [r.row for r in a.records] == [r.row for r in b.records]
    assert {r.row for r in get_skill("pathvqa").dataset("train", size=5).records} == {0, 1, 2}  # 3 usable of 5


@pytest.mark.parametrize("skill_name", HELDOUT)
def test_heldout_benchmarks_have_no_train_split(skill_name):
    with pytest.raises(LmmclError, match=r"held-out benchmark .* no 'train' split"):
        get_skill(skill_name).dataset("train")


@pytest.mark.parametrize("skill_name", TARGETS + HELDOUT)
def test_missing_dataset_fails_fast_with_a_clear_message(offline, skill_name):
    skill = get_skill(skill_name)
    with pytest.raises(MissingResourceError) as raised:
        skill.check_available()
    message = str(raised.value)
    split = next(iter(skill.sources))
    source = skill.sources[split]
    assert f"Skill {skill_name!r} ({split} split)" in message and "LMMCL_DATA_DIR" in message
    if source.id:
        assert source.id in message and "HF_HOME" in message and "HF_DATASETS_OFFLINE=0" in message
    else:
        assert source.note.strip()[:40] in message
    with pytest.raises(MissingResourceError):
        skill.dataset(split, size=1)


def test_offline_hub_cache_is_read_without_network(offline, tmp_path):
    """A dataset that `datasets` prepared on a connected machine is found under HF_HOME and read offline."""
    FIXTURES["ai2d", "test"].table().to_parquet(str(tmp_path / "ai2d.parquet"))
    builder = datasets.load_dataset_builder("parquet", data_files={"test": str(tmp_path / "ai2d.parquet")})
    builder.download_and_prepare()
    # Lay the Arrow files out as `datasets` caches a hub dataset: <namespace>___<name>/<config>/<version>/<hash>/
    cached = tmp_path / "hf_home" / "datasets" / "lmms-lab___ai2d" / "default" / "0.0.0" / "0123abcd"
    cached.mkdir(parents=True)
    for path in Path(builder.cache_dir).iterdir():
        shutil.copy(path, cached / path.name.replace("parquet-", "ai2d-"))
    skill = get_skill("ai2d")
    assert skill.plan()[0]["where"].startswith("hub cache")
    data = skill.dataset("test")
    assert data[0].answers == ["B", "root"] and not data[len(data) - 1]


def test_hub_rows_without_pixels_name_the_missing_column(local, tmp_path, monkeypatch):
    rows = FIXTURES["pixmocount", "train"].rows  # allenai/pixmo-count as published: URLs, no image column
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "pixmocount" / "train"))
    monkeypatch.setenv("LMMCL_DATA_DIR", str(tmp_path))
    with pytest.raises(LmmclError, match=r"\['image'\] not in .* Flickr URLs"):
        get_skill("pixmocount").dataset("train")


def test_plan_resolves_sources_without_loading_data(local):
    plan = dataset_plan(["ai2d", "timeclock", "species"])
    by_key = {(row["skill"], row["split"]): row for row in plan}
    assert by_key["ai2d", "test"] | {"where": None, "file": None} == {
        "skill": "ai2d", "kind": "heldout", "split": "test", "id": "lmms-lab/ai2d", "config": None,
        "hub_split": "test", "rows": 3088, "skipped": None, "metric": "mc_letter", "found": True, "where": None,
        "file": None}
    assert by_key["ai2d", "test"]["file"].endswith("configs/skills/ai2d.yaml")
    assert by_key["timeclock", "train"]["found"] and by_key["species", "train"]["where"] == "generated"
    table = format_plan(plan)
    assert "lmms-lab/ai2d:test" in table and "AvaXiao/clockreading-time:train" in table
    assert "found" in table.splitlines()[0]
