"""The real benchmarks' on-disk schemas, with a few good rows each: the columns, types and values of every
split lmmcl reads (CUB-200's class labels, SEED-Bench's list of images, ScienceQA's ``choices``/``hint``,
PixMo-Count's ``count``/``label``, ...), and the prompt and answer lmmcl makes of each row.

The loader tests read them (tests/data/test_hf_loaders.py), and the rehearsal writes its local benchmark copies
from them (:mod:`lmmcl.rehearsal.benchmarks`): nothing is downloaded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import datasets
from datasets import ClassLabel, Features, List, Value
from PIL import Image

MC_POST = "\nAnswer with the option's letter from the given choices directly."
PHRASE_POST = "\nAnswer the question using a single word or phrase."
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
