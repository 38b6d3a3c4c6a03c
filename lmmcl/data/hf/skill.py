"""A real benchmark as a :class:`~lmmcl.data.skill.Skill` (``type: hf``): its splits, plan and samples."""

from __future__ import annotations

import logging
import os
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any

from lmmcl.data.hf.answers import ANSWER_TRANSFORMS
from lmmcl.data.hf.dataset import HFDataset, ImageColumn, Record
from lmmcl.data.hf.formats import FORMATS, blank, class_name
from lmmcl.data.hf.location import (
    Location,
    downloads_allowed,
    hub_cache_dirs,
    lazy_images,
    local_candidates,
    offline,
    open_local,
)
from lmmcl.data.hf.source import COLUMN_ROLES, IMAGE_TAG, LETTERS, NEEDS_ROLE, Source
from lmmcl.data.skill_type import SKILL_CONFIG_DIR, Skill, register_skill_type
from lmmcl.data.synthetic import lettered
from lmmcl.errors import LmmclError, MissingResourceError

if TYPE_CHECKING:  # `datasets` takes seconds to import: only the code paths that read data import it
    pass

log = logging.getLogger("lmmcl.data.hf")


@register_skill_type("hf", source_file=True)
class HFSkill(Skill):
    """A benchmark or training set read with `datasets`, shaped entirely by configs/skills/<name>.yaml.

    Args:
        name: the skill's name (its YAML file name).
        splits: lmmcl split ("train", "test") -> :class:`Source` keys for it; a held-out benchmark has only "test".
        metric, kind, chance, max_new_tokens: see :class:`Skill`.
        description: one line for humans.
        source_file: the skill YAML (a relative ``data_dir`` is relative to its folder).
        **defaults: :class:`Source` keys shared by every split (e.g. ``id``, ``columns``, ``data_dir``).
    """

    def __init__(self, name: str, splits: dict[str, dict[str, Any] | None], metric: str = "exact_match",
                 kind: str = "target", chance: float = 0.0, max_new_tokens: int = 16, description: str = "",
                 source_file: str | Path | None = None, **defaults: Any):
        self.name, self.metric, self.kind, self.chance = name, metric, kind, chance
        self.source_file = Path(source_file) if source_file else SKILL_CONFIG_DIR / f"{name}.yaml"
        self.max_new_tokens, self.description = max_new_tokens, description
        known = {f.name for f in fields(Source)}
        self.sources: dict[str, Source] = {}
        for split, overrides in [("(top level)", defaults)] + list(splits.items()):
            unknown = sorted(set(overrides or {}) - known)
            if unknown:
                raise LmmclError(f"Skill {name!r}: unknown key(s) {unknown} under {split}. "
                                 f"Known: {', '.join(sorted(known))}.")
        for split, overrides in splits.items():
            if split not in ("train", "test"):
                raise LmmclError(f"Skill {name!r}: split {split!r} under `splits`; use 'train' and/or 'test'.")
            self.sources[split] = self._checked(split, Source(**{**defaults, **(overrides or {})}))

    def _checked(self, split: str, src: Source) -> Source:
        where = f"Skill {self.name!r} ({split} split)"
        if src.format not in FORMATS:
            raise LmmclError(f"{where}: unknown format {src.format!r}. Known: {', '.join(FORMATS)}.")
        if src.answer_transform not in ANSWER_TRANSFORMS:
            raise LmmclError(f"{where}: unknown answer_transform {src.answer_transform!r}. "
                             f"Known: {', '.join(ANSWER_TRANSFORMS)}.")
        unknown = sorted(set(src.columns) - set(COLUMN_ROLES))
        if unknown:
            raise LmmclError(f"{where}: unknown column role(s) {unknown}. Known: {', '.join(COLUMN_ROLES)}.")
        for key in (src.format, src.answer_transform):
            if NEEDS_ROLE.get(key, "image") not in src.roles():
                raise LmmclError(f"{where}: {key!r} needs `columns.{NEEDS_ROLE[key]}`.")
        return src

    # -- where ------------------------------------------------------------------------------------------

    def splits(self) -> tuple[str, ...]:
        return tuple(self.sources)

    def source(self, split: str) -> Source:
        if split not in self.sources:
            what = "a held-out benchmark (evaluation only)" if self.kind == "heldout" else "a skill"
            raise LmmclError(f"Skill {self.name!r} is {what} with no {split!r} split; it has: "
                             f"{', '.join(self.sources)} (see {self.source_file}).")
        return self.sources[split]

    def _data_root(self, src: Source) -> tuple[Path | None, str]:
        if src.data_dir:
            path = Path(os.path.expandvars(src.data_dir)).expanduser()
            return self.source_file.parent / path, "data_dir"  # an absolute path stays as it is
        if os.environ.get("LMMCL_DATA_DIR"):
            return Path(os.environ["LMMCL_DATA_DIR"]).expanduser() / self.name, f"$LMMCL_DATA_DIR/{self.name}"
        return None, ""

    def locate(self, split: str) -> Location:
        """Find a split's rows on this machine, touching no network."""
        src = self.source(split)
        root, how = self._data_root(src)
        looked = []
        if root is not None:
            candidates = local_candidates(root, split)
            found = next((p for p in candidates if p.exists()), None)
            if found is not None:
                return Location("local", found, looked)
            looked.append(f"{', '.join(str(p) for p in candidates[:3])} ({how})")
        else:
            looked.append("no local copy (neither data_dir nor LMMCL_DATA_DIR is set)")
        if src.id:
            caches = hub_cache_dirs(src.id)
            found = next((p for p in caches if p.exists()), None)
            if found is not None:
                return Location("hub cache", found, looked)
            looked += [f"{caches[0]} (hub cache, HF_HOME)", f"{caches[1]} (datasets cache, HF_HOME)"]
            if downloads_allowed():
                return Location("download", None, looked)
        return Location("missing", None, looked)

    def check_available(self) -> None:
        """Raise :class:`MissingResourceError` unless every split can be read without the network."""
        for split in self.sources:
            location = self.locate(split)
            if location.kind == "missing":
                raise self._missing(split, location)

    def _missing(self, split: str, location: Location, cause: Exception | None = None) -> MissingResourceError:
        src = self.sources[split]
        what = "a local dataset"
        if src.id:
            what = f"dataset {src.id} (" + (f"config {src.config!r}, " if src.config else "") + f"split {src.split!r})"
        looked = location.looked + ([f"{location.path} (found, but `datasets` could not read it offline)"]
                                    if location.kind == "hub cache" else [])
        lines = [f"Skill {self.name!r} ({split} split) needs {what}, which is not available offline.",
                 "Looked in:", *(f"  - {p}" for p in looked), "Provide it in one of these ways:"]
        if src.id:
            args = ", ".join(repr(a) for a in (src.id, src.config) if a) + f", split={src.split!r}"
            lines.append(f"  - on a connected machine run `python -c \"import datasets; "
                         f"datasets.load_dataset({args})\"`, then copy its HF_HOME cache here and export "
                         "HF_HOME=<that dir>;")
        lines.append(f"  - save a copy (Dataset.save_to_disk or .to_parquet) as <dir>/{self.name}/{split} and export "
                     f"LMMCL_DATA_DIR=<dir>, or set data_dir in {self.source_file};")
        if src.id:
            lines.append("  - or let `datasets` download it here: export HF_DATASETS_OFFLINE=0.")
        if src.note:
            lines.append(f"Note: {src.note.strip()}")
        if cause is not None:
            lines.append(f"`datasets` said: {type(cause).__name__}: {cause}")
        return MissingResourceError("\n".join(lines))

    def plan(self) -> list[dict[str, Any]]:
        """One row per split for the dry-run plan (see :mod:`lmmcl.train.plan`)."""
        rows = []
        for split, src in self.sources.items():
            location = self.locate(split)
            rows.append({"skill": self.name, "kind": self.kind, "split": split, "id": src.id, "config": src.config,
                         "hub_split": src.split, "rows": src.num_rows, "metric": self.metric,
                         "found": location.kind in ("local", "hub cache"),
                         "where": f"{location.kind}: {location.path}" if location.path else location.kind})
        return rows

    # -- what -------------------------------------------------------------------------------------------

    def dataset(self, split: str, size: int | None = None, seed: int = 0) -> HFDataset:
        src, location = self.source(split), self.locate(split)
        if location.kind == "missing":
            raise self._missing(split, location)
        stream = src.streaming and size is not None
        with offline(not downloads_allowed()):
            if location.kind == "local":
                rows = open_local(location.path, split, src, stream)
            else:
                import datasets

                try:
                    # Offline, the cache is memory-mapped Arrow: streaming would only add a way to fail.
                    rows = datasets.load_dataset(src.id, src.config, split=src.split,
                                                 streaming=stream and location.kind == "download")
                except Exception as err:  # `datasets` reports a missing cache entry with many error types
                    raise self._missing(split, location, cause=err) from err
        where = f"{location.kind} {location.path or src.id}"
        rows = lazy_images(rows, src.roles()["image"])
        self._check_columns(split, src, rows.column_names, where)
        return self._build(split, src, rows, size, seed, where)

    def _check_columns(self, split: str, src: Source, available: list[str] | None, where: str) -> None:
        missing = [c for c in src.needed_columns() if available is not None and c not in available]
        if missing:
            raise LmmclError(f"Skill {self.name!r} ({split} split): column(s) {missing} not in {where}, which has "
                             f"{available}. Fix `columns` in {self.source_file}."
                             + (f" Note: {src.note.strip()}" if src.note else ""))

    def _build(self, split: str, src: Source, rows: Any, size: int | None, seed: int, where: str) -> HFDataset:
        import datasets

        image_column = src.roles()["image"]
        if isinstance(rows, datasets.IterableDataset):  # streaming: the first rows, images kept in memory
            images: Any = {}
            pairs: Iterable[tuple[int, dict]] = enumerate(rows)
        else:
            images = ImageColumn(rows, image_column)
            texts = rows.select_columns([c for c in src.needed_columns() if c != image_column]).to_dict()
            order = list(range(rows.num_rows))
            if size is not None and size < len(order):
                random.Random(seed).shuffle(order)
            pairs = ((i, {c: texts[c][i] for c in texts}) for i in order)
        classes = self._classes(src, rows) if src.format == "class_choice" else []

        records, bad, read = [], Counter(), 0
        for index, row in pairs:
            if size is not None and len(records) >= size:
                break
            if any(row.get(k) != v for k, v in src.filter.items()):
                continue
            read += 1
            record = self._record(src, row, index, seed, classes)
            if isinstance(record, str):
                bad[record] += 1
                continue
            if isinstance(images, dict):
                images[index] = row[image_column]
            records.append(record)
        label = f"{self.name} ({split} split)"
        if bad:
            log.warning("%s: skipped %d of %d rows read from %s: %s", label, sum(bad.values()), read, where, dict(bad))
        if not records:
            raise LmmclError(f"{label}: no usable rows in {where} (rows read: {read}, bad records: {dict(bad)}).")
        return HFDataset(label, records, images, bad, max_pixels=src.max_image_pixels)

    def _classes(self, src: Source, rows: Any) -> list[str]:
        import datasets

        column = src.columns["label"]
        feature = (rows.features or {}).get(column)
        if isinstance(feature, datasets.ClassLabel):
            return [class_name(n) for n in feature.names]
        if isinstance(rows, datasets.Dataset) and not isinstance(feature, datasets.ClassLabel):
            values = {v for v in rows[column] if isinstance(v, str) and v.strip()}
            if values:
                return sorted({class_name(v) for v in values})
        raise LmmclError(f"Skill {self.name!r}: format 'class_choice' needs column {column!r} to be a ClassLabel "
                         f"(names from its feature) or to hold class names as strings; it is {feature}.")

    def _record(self, src: Source, row: dict[str, Any], index: int, seed: int, classes: list[str]) -> Record | str:
        """A row's question, target and references, or the reason it is unusable."""
        rng = random.Random(f"{self.name}/{seed}/{index}")
        cells = {role: [row.get(c) for c in col] if isinstance(col, list) else row.get(col)
                 for role, col in src.roles().items() if role != "image"}
        question = self._question(src, row, cells, rng)
        if not question:
            return "empty_question"
        try:  # a label or index out of range, a count that is not a number: unusable, not fatal
            options, raw_answer = FORMATS[src.format](src, cells, rng, classes)
            if blank(raw_answer):
                return "missing_answer"
            answered = ANSWER_TRANSFORMS[src.answer_transform](raw_answer, cells)
        except (ValueError, IndexError, TypeError):
            answered = None
        if answered is None:
            return "bad_answer"
        answer, refs = answered
        if options or src.options_in_question:
            gold = _option_text(answer, options, question)
            if options and gold is None:
                return "bad_answer"  # the letter points past the options
            refs = [answer] + ([gold] if gold else [])
        hint = "" if blank(cells.get("hint")) else src.hint_template.format(hint=str(cells["hint"]).strip())
        shown = question + (src.options_intro + "\n" + lettered(options) if options else "")
        meta = {"skill": self.name, "row": index, **{c: row.get(c) for c in src.meta}}
        return Record(index, src.pre + hint + shown + src.post, answer, refs, meta)

    def _question(self, src: Source, row: dict[str, Any], cells: dict[str, Any], rng: random.Random) -> str:
        if src.question_templates:
            template = rng.choice(src.question_templates)
            names = [f for _, f, _, _ in Formatter().parse(template) if f]
            if any(blank(row.get(n)) for n in names):
                return ""
            text = template.format(**{n: str(row[n]).strip() for n in names})
        else:
            text = "" if cells.get("question") is None else str(cells["question"])
        # The collate inserts the image itself: a literal <image> left in the text would be a second one.
        text = IMAGE_TAG.sub("\n", text).strip()
        return text.capitalize() if src.capitalize_question else text


def _option_text(letter: str, options: list[str], question: str) -> str | None:
    """The text of option ``letter``: from the options, else from an "X. text" line of the question."""
    index = LETTERS.find(letter.strip().upper()) if len(letter.strip()) == 1 else -1
    if index < 0:
        return None
    if options:
        return options[index] if index < len(options) else None
    match = re.search(rf"^\s*{LETTERS[index]}[.)]\s*(.+?)\s*$", question, re.MULTILINE)
    return match.group(1) if match else None
