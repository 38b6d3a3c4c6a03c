"""Real-benchmark loaders on tiny local fixtures with each dataset's real column names and types.

Every fixture split holds two good rows, then one row with an undecodable image, one with an empty question
and one with a missing answer. Nothing here touches the network or the Hugging Face cache.
"""

from __future__ import annotations

import io
import logging
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pytest
from datasets import ClassLabel, Features, List, Value
from PIL import Image

from lmmcl.data.skill import get_skill
from lmmcl.errors import LmmclError, MissingResourceError
from lmmcl.train.plan import dataset_plan, format_plan

MC_POST = "\nAnswer with the option's letter from the given choices directly."
PHRASE_POST = "\nAnswer the question using a single word or phrase."
TARGETS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock"]
HELDOUT = ["ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar",
           "countbench", "ocrbench"]
BIRDS = [f"{i:03d}.Bird_number_{i}" for i in range(1, 31)]  # CUB's "NNN.Name_with_underscores"


def png(shade: int = 0) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (shade, 90, 160)).save(buf, "PNG")
    return {"bytes": buf.getvalue(), "path": None}


BROKEN = {"bytes": b"this is not an image", "path": None}


@dataclass
class Fixture:
    """One split of one benchmark: its real features, two good rows and what lmmcl should make of them."""

    features: dict[str, Any]
    rows: list[dict[str, Any]]
    expect: list[tuple[str, str, list[str]]] | None  # (prompt, answer, refs) per good row
    empty: tuple[str, Any] | None = ("question", "")  # how to blank the question, None if it is templated
    missing: tuple[str, Any] = ("answer", None)
    image: Any = staticmethod(lambda value: value)  # wraps the image cell (SEED-Bench holds a list)
    extra_rows: list[dict[str, Any]] = field(default_factory=list)  # rows the config filters out

    def table(self) -> datasets.Dataset:
        broken = {**self.rows[0], "image": self.image(BROKEN)}
        rows = [{**r, "image": self.image(png(i))} for i, r in enumerate(self.rows)] + [broken]
        for key, value in filter(None, [self.empty, self.missing]):
            rows.append({**self.rows[1], "image": self.image(png()), key: value})
        rows += [{**r, "image": self.image(png())} for r in self.extra_rows]
        return datasets.Dataset.from_list(rows, features=Features({"image": datasets.Image(), **self.features}))


S = Value("string")
QA = {"question": S, "answer": S}

FIXTURES: dict[tuple[str, str], Fixture] = {
    ("cub200", "train"): Fixture({"label": ClassLabel(names=BIRDS)}, [{"label": 2}, {"label": 29}], None,
                                 empty=None, missing=("label", None)),
    ("cub200", "test"): Fixture(QA, [
        {"question": "<image>\nWhat species is the bird in this photo?\nAnswer with the option's letter from the "
                     "given choices directly.\nA. Black footed Albatross\nB. Laysan Albatross", "answer": "B"},
        {"question": "Which bird?\nA. Sooty Albatross\nB. Crested Auklet\nC. Least Auklet", "answer": "c"}], [
        ("What species is the bird in this photo?\nAnswer with the option's letter from the given choices directly."
         "\nA. Black footed Albatross\nB. Laysan Albatross" + MC_POST, "B", ["B", "Laysan Albatross"]),
        ("Which bird?\nA. Sooty Albatross\nB. Crested Auklet\nC. Least Auklet" + MC_POST, "c", ["c", "Least Auklet"])]),
    ("pixmocount", "train"): Fixture(
        {"image_url": S, "image_sha256": S, "count": Value("int32"),
         "points": List({"x": Value("float32"), "y": Value("float32")}), "label": S},
        [{"image_url": "http://x/1.jpg", "image_sha256": "ab", "count": 3, "points": [{"x": 1.0, "y": 2.0}] * 3,
          "label": "dogs"},
         {"image_url": "http://x/2.jpg", "image_sha256": "cd", "count": 1, "points": [{"x": 5.0, "y": 5.0}],
          "label": "cat"}],
        [("How many dogs are in this image?", "There are 3 dogs in this image.", ["There are 3 dogs in this image."]),
         ("How many cat are in this image?", "There is 1 cat in this image.", ["There is 1 cat in this image."])],
        empty=("label", " "), missing=("count", None)),
    ("pixmocount", "test"): Fixture(QA, [
        {"question": "How many dogs are in this image?", "answer": "There are 4 dogs in this image."},
        {"question": "How many cars are in this image?", "answer": "There are 10 cars in this image."}], [
        ("How many dogs are in this image?\nAnswer with integer and nothing else. For example, if the answer is 1, "
         "you should output 1.", "4", ["4"]),
        ("How many cars are in this image?\nAnswer with integer and nothing else. For example, if the answer is 1, "
         "you should output 1.", "10", ["10"])]),
    ("pathvqa", "train"): Fixture(QA, [{"question": "is there necrosis?", "answer": "yes"},
                                       {"question": "what is present?", "answer": "granuloma"}],
                                  [("is there necrosis?", "yes", ["yes"]),
                                   ("what is present?", "granuloma", ["granuloma"])]),
    ("pathvqa", "test"): Fixture(QA, [{"question": "is there necrosis?", "answer": "no"},
                                      {"question": "what is present?", "answer": "granuloma"}], [
        ("Look at the medical image and answer the following question: is there necrosis?\nFor questions that can "
         "be answered with a yes or no, just answer yes or no. Otherwise, provide an answer in the medical domain.",
         "no", ["no"]),
        ("Look at the medical image and answer the following question: what is present?\nFor questions that can be "
         "answered with a yes or no, just answer yes or no. Otherwise, provide an answer in the medical domain.",
         "granuloma", ["granuloma"])]),
    ("textvqa", "train"): Fixture(
        {"question_id": Value("int32"), "question": S, "image_id": S, "answers": List(S), "ocr_tokens": List(S)},
        [{"question_id": 1, "question": "what brand is this CAMERA?", "image_id": "a",
          "answers": ["nikon"] * 4 + ["Nikon"] * 4 + ["canon", "leica"], "ocr_tokens": ["NIKON"]},
         {"question_id": 2, "question": "what year?", "image_id": "b", "answers": ["1999"] * 10, "ocr_tokens": []}],
        [("what brand is this CAMERA?", "nikon", ["nikon"] * 4 + ["Nikon"] * 4 + ["canon", "leica"]),
         ("what year?", "1999", ["1999"] * 10)], missing=("answers", [])),
    ("textvqa", "test"): Fixture(
        {"question_id": Value("int32"), "question": S, "image_id": S, "answers": List(S), "ocr_tokens": List(S)},
        [{"question_id": 7, "question": "what brand is this CAMERA?", "image_id": "a",
          "answers": ["canon"] + ["nikon"] * 9, "ocr_tokens": ["NIKON"]},
         {"question_id": 8, "question": "what year?", "image_id": "b", "answers": ["1999"] * 10, "ocr_tokens": []}],
        [("What brand is this camera?" + PHRASE_POST, "nikon", ["canon"] + ["nikon"] * 9),
         ("What year?" + PHRASE_POST, "1999", ["1999"] * 10)], missing=("answers", [])),
    ("timeclock", "train"): Fixture({"answer": S}, [{"answer": "03:45"}, {"answer": "12:00"}], [
        ("What time does the clock show in this image?", "03:45", ["03:45"]),
        ("What time does the clock show in this image?", "12:00", ["12:00"])], empty=None),
    ("timeclock", "test"): Fixture(QA, [{"question": "What time is shown?", "answer": "3:45"},
                                        {"question": "What time is it?", "answer": "11:05"}], [
        ("What time is shown?\nAnswer with the time in HH:MM format. For example, if it's 3:45, output 3:45.",
         "3:45", ["3:45"]),
        ("What time is it?\nAnswer with the time in HH:MM format. For example, if it's 3:45, output 3:45.",
         "11:05", ["11:05"])]),
    ("ai2d", "test"): Fixture({"question": S, "options": List(S), "answer": S}, [
        {"question": "Which part is the root?", "options": ["leaf", "root", "stem", "seed"], "answer": "1"},
        {"question": "What eats grass?", "options": ["cow", "lion"], "answer": "0"}], [
        ("Which part is the root?\nA. leaf\nB. root\nC. stem\nD. seed" + MC_POST, "B", ["B", "root"]),
        ("What eats grass?\nA. cow\nB. lion" + MC_POST, "A", ["A", "cow"])]),
    ("chartqa", "test"): Fixture({"type": S, **QA}, [
        {"type": "human_test", "question": "What is the highest value?", "answer": "42"},
        {"type": "augmented_test", "question": "Which year peaked?", "answer": "2019"}], [
        ("What is the highest value?\nAnswer the question with a single word.", "42", ["42"]),
        ("Which year peaked?\nAnswer the question with a single word.", "2019", ["2019"])]),
    ("docvqa", "test"): Fixture(
        {"questionId": S, "question": S, "question_types": List(S), "docId": Value("int32"), "answers": List(S)},
        [{"questionId": "49153", "question": "What is the date?", "question_types": ["form"], "docId": 1,
          "answers": ["March 3, 1998", "3/3/1998"]},
         {"questionId": "49154", "question": "Who signed?", "question_types": ["form"], "docId": 1,
          "answers": ["J. Smith"]}],
        [("What is the date?" + PHRASE_POST, "March 3, 1998", ["March 3, 1998", "3/3/1998"]),
         ("Who signed?" + PHRASE_POST, "J. Smith", ["J. Smith"])], missing=("answers", None)),
    ("infovqa", "test"): Fixture(
        {"questionId": S, "question": S, "answers": List(S), "answer_type": List(S)},
        [{"questionId": "1", "question": "How many countries?", "answers": ["5", "five"], "answer_type": ["number"]},
         {"questionId": "2", "question": "Which is largest?", "answers": ["asia"], "answer_type": ["span"]}],
        [("How many countries?" + PHRASE_POST, "5", ["5", "five"]),
         ("Which is largest?" + PHRASE_POST, "asia", ["asia"])], missing=("answers", [])),
    ("realworldqa", "test"): Fixture(QA, [
        {"question": "Which object is closer?\nA. The car\nB. The tree\nPlease answer directly with only the letter "
                     "of the correct option and nothing else.  ", "answer": "A"},
        {"question": "How many lanes are there? Please answer directly with a single number.", "answer": "3"}], [
        ("Which object is closer?\nA. The car\nB. The tree\nPlease answer directly with only the letter of the "
         "correct option and nothing else.", "A", ["A", "The car"]),
        ("How many lanes are there? Please answer directly with a single number.", "3", ["3"])]),
    ("seedbench", "test"): Fixture(
        {"answer": S, "choice_a": S, "choice_b": S, "choice_c": S, "choice_d": S, "data_type": S, "question": S,
         "question_id": S, "image": List(datasets.Image())},
        [{"answer": "C", "choice_a": "a cup", "choice_b": "a phone", "choice_c": "a book", "choice_d": "a bag",
          "data_type": "image", "question": "What is the man holding?", "question_id": "101"},
         {"answer": "A", "choice_a": "red", "choice_b": "blue", "choice_c": "green", "choice_d": "black",
          "data_type": "image", "question": "What color is the car?", "question_id": "102"}],
        [("What is the man holding?\nA. a cup\nB. a phone\nC. a book\nD. a bag" + MC_POST, "C", ["C", "a book"]),
         ("What color is the car?\nA. red\nB. blue\nC. green\nD. black" + MC_POST, "A", ["A", "red"])],
        image=staticmethod(lambda value: [value]),
        extra_rows=[{"answer": "B", "choice_a": "x", "choice_b": "y", "choice_c": "z", "choice_d": "w",
                     "data_type": "video", "question": "What happens next?", "question_id": "900"}]),
    ("scienceqa_img", "test"): Fixture(
        {"question": S, "choices": List(S), "answer": Value("int8"), "hint": S, "task": S, "subject": S,
         "lecture": S},
        [{"question": "Which animal is a mammal?", "choices": ["frog", "dog", "snake"], "answer": 1,
          "hint": "Mammals have fur.", "task": "closed choice", "subject": "natural science", "lecture": ""},
         {"question": "Which is a solid?", "choices": ["ice", "water"], "answer": 0, "hint": "",
          "task": "closed choice", "subject": "natural science", "lecture": ""}],
        [("Context: Mammals have fur.\nWhich animal is a mammal?\nA. frog\nB. dog\nC. snake" + MC_POST, "B",
          ["B", "dog"]),
         ("Which is a solid?\nA. ice\nB. water" + MC_POST, "A", ["A", "ice"])]),
    ("mmstar", "test"): Fixture(
        {"index": Value("int64"), **QA, "category": S, "l2_category": S},
        [{"index": 0, "question": "Which fruit is red?\nOptions: A: apple, B: banana, C: grape, D: kiwi",
          "answer": "A", "category": "coarse perception", "l2_category": "color"},
         {"index": 1, "question": "Where is the cat?\nA. on the sofa\nB. under the table", "answer": "B",
          "category": "fine-grained perception", "l2_category": "spatial"}],
        [("Which fruit is red?\nOptions: A: apple, B: banana, C: grape, D: kiwi\nAnswer with the option's letter "
          "from the given choices directly", "A", ["A"]),
         ("Where is the cat?\nA. on the sofa\nB. under the table\nAnswer with the option's letter from the given "
          "choices directly", "B", ["B", "under the table"])]),
    ("countbench", "test"): Fixture({"text": S, "question": S, "number": Value("int32")}, [
        {"text": "three dogs on grass", "question": "How many dogs are there?", "number": 3},
        {"text": "seven birds", "question": "How many birds are there?", "number": 7}], [
        ("How many dogs are there?\nAnswer the question with number only.", "3", ["3"]),
        ("How many birds are there?\nAnswer the question with number only.", "7", ["7"])],
        missing=("number", None)),
    ("ocrbench", "test"): Fixture({"dataset": S, "question": S, "question_type": S, "answer": List(S)}, [
        {"dataset": "IIIT5K", "question": "what is written in the image?", "question_type": "Regular Text Recognition",
         "answer": ["CENTRE"]},
        {"dataset": "HME100k", "question": "Please write out the expression of the formula in the image.",
         "question_type": "Handwritten Mathematical Expression Recognition", "answer": ["x ^ { 2 }", "x^{2}"]}], [
        ("what is written in the image?", "CENTRE", ["CENTRE"]),
        ("Please write out the expression of the formula in the image.", "x ^ { 2 }", ["x ^ { 2 }", "x^{2}"])],
        missing=("answer", [])),
}
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
