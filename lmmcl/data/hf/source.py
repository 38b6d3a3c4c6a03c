"""The YAML of a real benchmark split: :class:`Source`, where its rows live and how a row becomes a sample."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
COLUMN_ROLES = ("image", "question", "answer", "options", "hint", "label")
IMAGE_TAG = re.compile(r"\n?<image>\n?")
NEEDS_ROLE = {"options": "options", "class_choice": "label", "count_sentence": "label"}  # format/transform -> role


@dataclass
class Source:
    """Where one lmmcl split lives and how its rows become samples. Every field is a YAML key."""

    id: str | None = None  # hub dataset id; None when the data exists only as a local copy
    config: str | None = None  # hub config (subset) name
    split: str = "train"  # hub split name
    num_rows: int | None = None  # documented number of samples, shown by the dry-run plan
    data_dir: str | None = None  # local copy (see the module docstring); default $LMMCL_DATA_DIR/<skill>
    streaming: bool = False  # with a size: read only the first rows of a download or a local Parquet/Arrow file
    filter: dict[str, Any] = field(default_factory=dict)  # keep only rows whose columns equal these values
    columns: dict[str, Any] = field(default_factory=dict)  # role (COLUMN_ROLES) -> column name, or names for options
    format: str = "plain"  # how the question shows its options: a key of FORMATS
    question_templates: list[str] = field(default_factory=list)  # "{column}" templates, one drawn per row
    capitalize_question: bool = False  # str.capitalize(), as lmms-eval does for TextVQA
    hint_template: str = "Context: {hint}\n"
    options_intro: str = ""  # text between the question and its lettered options
    options_in_question: bool = False  # the question lists "X. text" lines itself: the gold text joins the refs
    num_choices: int = 26  # class_choice: options per question
    pre: str = ""
    post: str = ""
    answer_transform: str = "as_is"  # a key of ANSWER_TRANSFORMS
    meta: list[str] = field(default_factory=list)  # columns copied into Sample.meta (e.g. per-category scores)
    max_image_pixels: int = 4096 * 4096  # larger images are downscaled when read (aspect kept)
    note: str = ""  # how to obtain this data, shown when it is missing

    def roles(self) -> dict[str, Any]:
        """Role -> column, with the usual names for the roles this source needs."""
        roles = {"image": "image"}
        if not self.question_templates:
            roles["question"] = "question"
        if self.format != "class_choice":
            roles["answer"] = "answer"
        return {**roles, **self.columns}

    def needed_columns(self) -> list[str]:
        names = [c for col in self.roles().values() for c in (col if isinstance(col, list) else [col])]
        names += [f for t in self.question_templates for _, f, _, _ in Formatter().parse(t) if f]
        return list(dict.fromkeys(names + self.meta + list(self.filter)))
