"""Conversation data as a skill (``type: conversations``): the formats people hold their own data in.

Two file formats, detected per row (``format: llava`` or ``format: chat`` in the skill YAML to insist on one):

- LLaVA-JSON / ShareGPT (``.json`` list or ``.jsonl``): ``{"image": "a.jpg" | ["a.jpg", "b.jpg"], "conversations":
  [{"from": "human", "value": "<image>\\nWhat is this?"}, {"from": "gpt", "value": "A cat."}, ...]}``; ``<image>``
  marks where each image goes, in order; ``from`` is human/user, gpt/assistant or system.
- chat JSONL: ``{"messages": [{"role": "user", "content": "..." | [{"type": "image", "image": "a.jpg"},
  {"type": "text", "text": "..."}]}, {"role": "assistant", "content": "..."}], "images": [...]}``; an image part
  without a path, or an ``<image>`` in a string content, takes the next path of ``images``. Rows of
  ``{"texts": [{"user": ..., "assistant": ...}], "images": [...]}`` (the_cauldron's shape) put every image before
  the first user text.

Image paths are relative to ``image_folder`` (itself relative to the skill YAML), data files relative to the YAML.
A multi-turn row trains on every assistant turn (:mod:`lmmcl.data.collate` masks the loss to them through the model's
chat template); evaluation asks the conversation up to its last user turn and scores the last assistant turn with the
skill's metric. A row with one image and one question-answer pair is an ordinary sample.

Bad rows are skipped and counted (:mod:`lmmcl.data.bad`): ``no_assistant_turn``, ``empty_question``,
``missing_answer``, ``image_count_mismatch`` (placeholders and images differ in number), ``missing_image`` (a file
that is not there, or a row without an image), ``bad_record`` (not a conversation of these shapes); an image that
does not decode is ``undecodable_image`` when read, and a row with more images than the model takes is
``multi_image`` when collated.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from lmmcl.data.bad import BadRecord
from lmmcl.data.skill_type import Sample, Skill, register_skill_type
from lmmcl.errors import LmmclError, MissingResourceError

log = logging.getLogger("lmmcl.data.conversations")

PLACEHOLDER = re.compile(r"<image>")
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
         "bot": "assistant", "model": "assistant"}
FORMATS = ("auto", "llava", "chat")


@dataclass
class Conversation:
    """One usable row: messages in the HF chat format (image parts without data), the image files in order."""

    row: int
    messages: list[dict[str, Any]]
    images: list[Path]


def read_rows(path: Path) -> list[Any]:
    """The rows of a ``.json`` file (a list, or ``{"data": [...]}``) or a ``.jsonl`` file (one row a line)."""
    try:
        text = path.read_text()
    except OSError as err:
        raise LmmclError(f"Cannot read {path}: {err.strerror or err}. Check the path.") from None
    if path.suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                rows.append(json.loads(line)) if line.strip() else None
            except json.JSONDecodeError as err:
                raise LmmclError(f"{path} is not valid JSON Lines: {err.msg} at line {number}, column {err.colno}. "
                                 f"Fix that line of the file.") from None
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LmmclError(f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. Fix that "
                         f"line of the file.") from None
    data = data.get("data") if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise LmmclError(f"{path} holds no list of rows: write a JSON list of conversations (or JSON Lines, .jsonl).")
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _split_placeholders(text: str) -> list[dict[str, Any]]:
    """``"<image>\\nWhat?"`` -> an image part, then a text part (empty texts dropped)."""
    parts: list[dict[str, Any]] = []
    for k, piece in enumerate(PLACEHOLDER.split(text)):
        if k:
            parts.append({"type": "image"})
        if piece.strip():
            parts.append({"type": "text", "text": piece.strip()})
    return parts


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def llava_messages(row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """(messages, image paths) of a LLaVA-JSON / ShareGPT row."""
    messages = []
    for turn in row["conversations"]:
        role = ROLES.get(str(turn.get("from", "")).lower())
        if role is None:
            raise ValueError(f"unknown speaker {turn.get('from')!r}")
        messages.append({"role": role, "content": _split_placeholders(_text(turn.get("value")))})
    return messages, _as_list(row.get("image", row.get("images")))


def chat_messages(row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """(messages, image paths) of a chat row (``messages``, or the_cauldron's ``texts``)."""
    pool = _as_list(row.get("images", row.get("image")))
    if "texts" in row:  # no placeholders: every image before the first user text
        messages = []
        for k, pair in enumerate(row["texts"]):
            images = [{"type": "image"} for _ in pool] if k == 0 else []
            messages += [{"role": "user", "content": images + _split_placeholders(_text(pair.get("user")))},
                         {"role": "assistant", "content": _split_placeholders(_text(pair.get("assistant")))}]
        return messages, pool
    messages, paths, queue = [], [], list(pool)
    for turn in row["messages"]:
        role = ROLES.get(str(turn.get("role", "")).lower())
        if role is None:
            raise ValueError(f"unknown role {turn.get('role')!r}")
        content = turn.get("content")
        parts: list[dict[str, Any]] = []
        for part in content if isinstance(content, list) else [{"type": "text", "text": content}]:
            if isinstance(part, dict) and part.get("type") == "image":
                named = part.get("image") or part.get("path") or part.get("url")
                paths.append(named if isinstance(named, str) else (queue.pop(0) if queue else None))
                parts.append({"type": "image"})
            else:
                pieces = _split_placeholders(_text(part.get("text") if isinstance(part, dict) else part))
                for piece in pieces:
                    if piece["type"] == "image":
                        paths.append(queue.pop(0) if queue else None)
                parts += pieces
        messages.append({"role": role, "content": parts})
    return messages, paths + queue  # images left over: more images than places for them


def parse_row(row: Any, index: int, fmt: str, image_folder: Path) -> Conversation | str:
    """A row as a :class:`Conversation`, or the reason it is a bad record."""
    if not isinstance(row, dict):
        return "bad_record"
    kind = fmt if fmt != "auto" else "llava" if "conversations" in row else \
        "chat" if ("messages" in row or "texts" in row) else None
    try:
        messages, paths = (llava_messages if kind == "llava" else chat_messages)(row) if kind else (None, None)
    except (KeyError, TypeError, ValueError, AttributeError):
        return "bad_record"
    if messages is None:
        return "bad_record"
    last = max((k for k, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return "no_assistant_turn"
    messages = messages[:last + 1]  # a trailing question has no answer to train on or score
    if not any(p["type"] == "text" for p in messages[last]["content"]):
        return "missing_answer"
    asked = [m for m in messages[:last] if m["role"] == "user"]
    if not asked or not any(p["type"] == "text" for p in asked[-1]["content"]):
        return "empty_question"
    places = sum(p["type"] == "image" for m in messages for p in m["content"])
    if places != len(paths) or any(p is None for p in paths):
        return "image_count_mismatch"
    if not paths:
        return "missing_image"
    files = [Path(p) if Path(p).is_absolute() else image_folder / p for p in map(str, paths)]
    if not all(f.is_file() for f in files):
        return "missing_image"
    return Conversation(index, messages, files)


def message_text(message: dict[str, Any]) -> str:
    return "\n".join(p["text"] for p in message["content"] if p["type"] == "text")


class ConversationDataset(Dataset):
    """The samples of one split: texts parsed up front, images read when an item is read."""

    def __init__(self, name: str, records: list[Conversation], bad_records: dict[str, int], source: Path):
        self.name, self.records, self.source = name, records, source
        self.bad_records = dict(bad_records)
        self.load_bad_records = dict(bad_records)  # found while building: the same on every rank and worker

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Sample | BadRecord:
        record = self.records[index]
        try:
            images = [Image.open(path).convert("RGB") for path in record.images]
        except Exception as err:  # PIL reports corrupt data with many exception types
            self.bad_records["undecodable_image"] = self.bad_records.get("undecodable_image", 0) + 1
            log.warning("%s: skipping row %d of %s (undecodable_image: %s)", self.name, record.row, self.source, err)
            return BadRecord("undecodable_image", record.row)
        last_user = next(m for m in reversed(record.messages) if m["role"] == "user")
        question, answer = message_text(last_user), message_text(record.messages[-1])
        meta = {"skill": self.name, "row": record.row, "file": str(self.source)}
        simple = (len(record.messages) == 2 and len(images) == 1 and record.messages[0]["role"] == "user"
                  and record.messages[0]["content"][0]["type"] == "image")
        messages = [] if simple else [dict(m) for m in record.messages]  # one image, one question: a plain sample
        return Sample(images[0], question, answer, [answer], meta, images=images, messages=messages)


@register_skill_type("conversations", source_file=True)
class ConversationSkill(Skill):
    """A skill read from conversation files (module docstring), shaped by its YAML.

    Args:
        name: the skill's name.
        splits: ``train`` and/or ``test`` -> ``{path, image_folder, format}`` (a held-out skill: ``test`` only).
        metric, kind, chance, max_new_tokens, description: see :class:`~lmmcl.data.skill.Skill`.
        source_file: the skill YAML (paths are relative to its folder).
        path, image_folder, format: defaults for every split.
    """

    def __init__(self, name: str, splits: dict[str, dict[str, Any]], metric: str = "exact_match",
                 kind: str = "target", chance: float = 0.0, max_new_tokens: int = 32, description: str = "",
                 source_file: str | Path | None = None, path: str | None = None, image_folder: str | None = None,
                 format: str = "auto"):
        self.name, self.metric, self.kind, self.chance = name, metric, kind, chance
        self.max_new_tokens, self.description = max_new_tokens, description
        self.source_file = Path(source_file) if source_file else None
        root = self.source_file.parent if self.source_file else Path.cwd()
        if not isinstance(splits, dict) or not splits or set(splits) - {"train", "test"}:
            raise LmmclError(f"Skill {name!r}: `splits` maps 'train' and/or 'test' to "
                             f"{{path: ..., image_folder: ...}}, got {splits!r}.")
        self.files: dict[str, tuple[Path, Path, str]] = {}
        for split, spec in splits.items():
            spec = {"path": path, "image_folder": image_folder, "format": format, **(spec or {})}
            unknown = sorted(set(spec) - {"path", "image_folder", "format"})
            if unknown:
                raise LmmclError(f"Skill {name!r}: unknown key(s) {unknown} under splits.{split}; known: path, "
                                 f"image_folder, format.")
            if not spec["path"]:
                raise LmmclError(f"Skill {name!r}: splits.{split} needs a `path` to a .json or .jsonl file.")
            if spec["format"] not in FORMATS:
                raise LmmclError(f"Skill {name!r}: format {spec['format']!r} under splits.{split}; use one of "
                                 f"{', '.join(FORMATS)}.")
            file = root / Path(spec["path"]).expanduser()
            folder = root / Path(spec["image_folder"]).expanduser() if spec["image_folder"] else file.parent
            self.files[split] = (file, folder, spec["format"])
        self.plan_splits = list(self.files)

    def split_where(self, split: str) -> str:
        """Where ``lmmcl plan`` says the split comes from: ``files: <its data file>``."""
        return f"files: {self.files[split][0]}"

    def splits(self) -> tuple[str, ...]:
        return tuple(self.files)

    def check_available(self) -> None:
        """Every split's file exists, parses and holds a usable row: found when the run is built, not when the
        split's stage comes."""
        for split, (file, _folder, _) in self.files.items():
            if not file.is_file():
                raise MissingResourceError(f"Skill {self.name!r} ({split} split): data file {file} does not exist. "
                                           f"Fix `path` in {self.source_file} (relative to its folder).")
            self.usable_records(split)

    def records(self, split: str) -> tuple[list[Conversation], Counter]:
        if split not in self.files:
            raise LmmclError(f"Skill {self.name!r} has no {split!r} split; it has: {', '.join(self.files)} "
                             f"(see {self.source_file}).")
        file, folder, fmt = self.files[split]
        records, bad = [], Counter()
        for index, row in enumerate(read_rows(file)):
            parsed = parse_row(row, index, fmt, folder)
            if isinstance(parsed, str):
                bad[parsed] += 1
            else:
                records.append(parsed)
        return records, bad

    def survey(self, split: str) -> tuple[int, dict[str, int]]:
        records, bad = self.records(split)
        return len(records) + sum(bad.values()), dict(bad)

    def usable_records(self, split: str) -> tuple[list[Conversation], Counter]:
        """:meth:`records`, refused when no row is usable."""
        records, bad = self.records(split)
        if not records:
            raise LmmclError(f"{self.name} ({split} split): no usable rows in {self.files[split][0]} (bad records: "
                             f"{dict(bad)}).")
        return records, bad

    def dataset(self, split: str, size: int | None = None, seed: int = 0) -> ConversationDataset:
        records, bad = self.usable_records(split)
        label = f"{self.name} ({split} split)"
        if bad:
            log.warning("%s: skipped %d of %d rows of %s: %s", label, sum(bad.values()),
                        len(records) + sum(bad.values()), self.files[split][0], dict(bad))
        if size is not None and size < len(records):
            records = sorted(random.Random(seed).sample(records, size), key=lambda r: r.row)
        return ConversationDataset(label, records, dict(bad), self.files[split][0])
