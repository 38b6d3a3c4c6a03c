"""Real benchmarks: Hugging Face datasets (or local copies of them) turned into :class:`Sample` lists by YAML.

A skill YAML with ``type: hf`` says, for each lmmcl split ("train", "test"), where the rows live and how a
row becomes a sample. Skill-wide keys (``metric``, ``kind``, ``chance``, ``max_new_tokens``) sit at the top;
every :class:`Source` key may sit at the top too, as a default that ``splits.<split>`` overrides.

Where the rows come from, first found wins:

1. a local copy: ``data_dir`` or ``$LMMCL_DATA_DIR/<skill>``, holding for each split ``<split>/`` (a
   ``save_to_disk`` directory or a folder of Parquet/Arrow files), ``<split>.parquet`` or ``<split>.arrow``,
   or the whole skill as one saved ``DatasetDict``;
2. the Hugging Face cache under ``HF_HOME``, read offline.

lmmcl never waits on the network: it contacts the Hub only when ``HF_DATASETS_OFFLINE=0`` (or
``HF_HUB_OFFLINE=0``) is set explicitly, so a missing dataset fails in milliseconds with a message that
names it, where lmmcl looked, and how to provide it.

Bad records (empty question, missing or unusable answer, missing or undecodable image) are skipped and
counted in ``dataset.bad_records`` with a logged warning (reasons: :mod:`lmmcl.data.bad`). Images are decoded
only when an item is read, so an undecodable one makes ``__getitem__`` return a falsy ``BadRecord``, which the
collate drops and counts; an image over ``max_image_pixels`` is downscaled as it is read.
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from PIL import Image
from torch.utils.data import Dataset

from lmmcl.data.bad import BadRecord
from lmmcl.data.skill import SKILL_CONFIG_DIR, Sample, Skill, register_skill_type
from lmmcl.data.synthetic import lettered
from lmmcl.errors import LmmclError, MissingResourceError

if TYPE_CHECKING:  # `datasets` takes seconds to import: only the code paths that read data import it
    import datasets

log = logging.getLogger(__name__)

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


# --- answers: raw cell -> (training target, accepted references), or None when unusable -------------------

def _texts(value: Any) -> list[str]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [s for s in (str(v).strip() for v in values if v is not None) if s]


def _as_is(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    refs = _texts(value)  # a list cell (DocVQA, OCRBench) gives all its answers as references
    return (refs[0], refs) if refs else None


def _most_common(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    refs = _texts(value)  # Counter keeps first-seen order among ties: the reference's TextVQA target
    return (Counter(refs).most_common(1)[0][0], refs) if refs else None


def _index_to_letter(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]]:
    letter = LETTERS[int(value)]
    return letter, [letter]


def _count_from_sentence(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]] | None:
    match = re.search(r"\d+", str(value))  # "There are 4 dogs in this image." -> "4"
    return (match.group(), [match.group()]) if match else None


def _count_sentence(value: Any, cells: dict[str, Any]) -> tuple[str, list[str]]:
    count, label = int(value), str(cells["label"]).strip()  # PixMo-Count's training target
    text = f"There {'is' if count == 1 else 'are'} {count} {label} in this image."
    return text, [text]


ANSWER_TRANSFORMS: dict[str, Callable[[Any, dict[str, Any]], tuple[str, list[str]] | None]] = {
    "as_is": _as_is,
    "most_common": _most_common,
    "index_to_letter": _index_to_letter,
    "count_from_sentence": _count_from_sentence,
    "count_sentence": _count_sentence,
}


# --- formats: how options join the question -> (options, raw answer) ------------------------------------

def _plain(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    return [], cells.get("answer")


def _options(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    return [str(o).strip() for o in cells.get("options") or []], cells.get("answer")


def _class_choice(src: Source, cells: dict[str, Any], rng: random.Random, classes: list[str]) -> tuple[list[str], Any]:
    label = cells.get("label")
    if _blank(label):
        return [], None
    gold = classes[label] if isinstance(label, int) else class_name(label)
    others = rng.sample([c for c in classes if c != gold], min(src.num_choices, len(classes)) - 1)
    at = rng.randrange(len(others) + 1)  # the gold option lands on a uniformly random letter
    return others[:at] + [gold] + others[at:], LETTERS[at]


FORMATS: dict[str, Callable[..., tuple[list[str], Any]]] = {
    "plain": _plain,
    "options": _options,  # options from a list column or several columns (AI2D, SEED-Bench, ScienceQA)
    "class_choice": _class_choice,  # options drawn from the label's classes, seeded per row (CUB-200)
}


def class_name(raw: str) -> str:
    """CUB's "001.Black_footed_Albatross" -> "Black footed Albatross"."""
    return re.sub(r"^\d+\.", "", str(raw)).replace("_", " ").strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, tuple)) and not _texts(value))


# --- where the data is ---------------------------------------------------------------------------------

def downloads_allowed() -> bool:
    """True only when HF_DATASETS_OFFLINE (else HF_HUB_OFFLINE) is explicitly false: by default lmmcl is offline."""
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        value = os.environ.get(var)
        if value is not None:
            return value.strip().lower() in ("0", "false", "no", "off")
    return False


def _hf_home() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return Path(os.environ.get("HF_HOME") or default).expanduser()


def hub_cache_dirs(repo_id: str) -> list[Path]:
    """Where a downloaded hub dataset sits: the hub's file cache, and `datasets`' prepared Arrow cache."""
    hub = Path(os.environ.get("HF_HUB_CACHE") or _hf_home() / "hub").expanduser()
    arrow = Path(os.environ.get("HF_DATASETS_CACHE") or _hf_home() / "datasets").expanduser()
    namespace, _, name = repo_id.rpartition("/")
    # `datasets` names its cache folder "<namespace>___<name in snake_case>": compare without case and "_"
    wanted = name.replace("_", "").lower()
    arrow_dirs = [p for p in arrow.glob(f"{namespace}___*")
                  if p.name.split("___", 1)[1].replace("_", "").lower() == wanted]
    return [hub / f"datasets--{repo_id.replace('/', '--')}"] + (arrow_dirs or [arrow / f"{namespace}___*"])


@dataclass
class Location:
    """Where a split's rows are: ``kind`` is "local", "hub cache", "download" (allowed) or "missing"."""

    kind: str
    path: Path | None
    looked: list[str]


def _local_candidates(root: Path, split: str) -> list[Path]:
    return [root / split, root / f"{split}.parquet", root / f"{split}.arrow", root / "dataset_dict.json"]


@contextmanager
def _offline(enabled: bool) -> Iterator[None]:
    """Make `datasets` and `huggingface_hub` refuse network calls instead of waiting on them."""
    if not enabled:
        yield
        return
    import datasets.config
    import huggingface_hub.constants as hub

    saved = datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE = saved


def _open_local(path: Path, split: str, src: Source, stream: bool) -> "datasets.Dataset | datasets.IterableDataset":
    import datasets

    if path.name == "dataset_dict.json":  # the whole skill saved as one DatasetDict
        path = path.parent
    if path.is_dir() and any((path / name).exists() for name in ("state.json", "dataset_dict.json")):
        saved = datasets.load_from_disk(str(path))
        if not isinstance(saved, datasets.DatasetDict):
            return saved
        key = next((k for k in (split, src.split) if k in saved), None)
        if key is None:
            raise LmmclError(f"{path} has splits {list(saved)}, neither {split!r} nor {src.split!r}.")
        return saved[key]
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in (".parquet", ".arrow"))
    if not files:
        raise LmmclError(f"{path} holds no save_to_disk dataset and no .parquet or .arrow file.")
    builder = "parquet" if files[0].suffix == ".parquet" else "arrow"
    return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train", streaming=stream)


def _lazy_images(rows: Any, column: str) -> Any:
    """Keep images as encoded bytes; they are decoded when an item is read."""
    import datasets

    def undecoded(feature: Any) -> Any:
        if isinstance(feature, datasets.Image):
            return datasets.Image(decode=False)
        if hasattr(feature, "feature"):  # List/Sequence of images (SEED-Bench)
            return replace(feature, feature=undecoded(feature.feature))
        return feature

    features = rows.features
    if features is None or column not in features:
        return rows
    return rows.cast_column(column, undecoded(features[column]))


# --- the dataset ---------------------------------------------------------------------------------------

@dataclass
class _Record:
    row: int  # key of the row's image in HFDataset.images
    question: str
    answer: str
    answers: list[str]
    meta: dict[str, Any]


class _ImageColumn:
    """Index -> the raw image cell of one column, without reading the other columns."""

    def __init__(self, rows: "datasets.Dataset", column: str):
        self.rows, self.column = rows.select_columns([column]), column

    def __getitem__(self, index: int) -> Any:
        return self.rows[index][self.column]


class HFDataset(Dataset):
    """The samples of one split of an :class:`HFSkill`: texts built up front, images decoded when read.

    ``bad_records`` maps a reason ("empty_question", "missing_answer", "bad_answer", "missing_image",
    "undecodable_image") to how many rows it skipped; image problems are counted as items are read (in the
    reading process: with DataLoader workers, the collate's own count is the one that adds up).
    """

    def __init__(self, name: str, records: list[_Record], images: Any, bad_records: dict[str, int],
                 max_pixels: int = 4096 * 4096):
        self.name, self.records, self.images = name, records, images
        self.bad_records = dict(bad_records)
        self.load_bad_records = dict(bad_records)  # found while building: the same on every rank and worker
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Sample | BadRecord:
        record = self.records[index]
        image = self._image(record)
        if isinstance(image, BadRecord):
            return image
        return Sample(image, record.question, record.answer, list(record.answers), dict(record.meta))

    def _image(self, record: _Record) -> Image.Image | BadRecord:
        raw = self.images[record.row]
        if isinstance(raw, list):  # SEED-Bench stores a list of images; the first is the one asked about
            raw = raw[0] if raw else None
        if isinstance(raw, Image.Image):
            return bounded(raw, self.max_pixels)
        if not raw or not (raw.get("bytes") or raw.get("path")):
            return self._skip(record, "missing_image")
        try:
            image = Image.open(io.BytesIO(raw["bytes"]) if raw.get("bytes") else raw["path"])
            return bounded(image, self.max_pixels)
        except Exception as err:  # PIL reports corrupt data with many exception types
            return self._skip(record, "undecodable_image", err)

    def _skip(self, record: _Record, reason: str, err: Exception | None = None) -> BadRecord:
        self.bad_records[reason] = self.bad_records.get(reason, 0) + 1
        log.warning("%s: skipping row %d (%s%s); bad records so far: %s", self.name, record.row, reason,
                    f": {err}" if err else "", self.bad_records)
        return BadRecord(reason, record.row)


def bounded(image: Image.Image, max_pixels: int) -> Image.Image:
    """``image`` decoded, downscaled (aspect kept) to at most ``max_pixels`` pixels; a JPEG is decoded at a
    reduced scale straight away (``draft``), so a huge picture never sits in memory at full size."""
    w, h = image.size
    if w * h <= max_pixels:
        image.load()
        return image
    scale = (max_pixels / (w * h)) ** 0.5
    target = (max(1, int(w * scale)), max(1, int(h * scale)))
    image.draft("RGB", target)  # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no smaller than target
    image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    image.thumbnail(target, Image.BILINEAR)
    return image


# --- the skill -----------------------------------------------------------------------------------------

@register_skill_type("hf")
class HFSkill(Skill):
    """A benchmark or training set read with `datasets`, shaped entirely by configs/skills/<name>.yaml.

    Args:
        name: the skill's name (its YAML file name).
        splits: lmmcl split ("train", "test") -> :class:`Source` keys for it; a held-out benchmark has only "test".
        metric, kind, chance, max_new_tokens: see :class:`Skill`.
        description: one line for humans.
        **defaults: :class:`Source` keys shared by every split (e.g. ``id``, ``columns``, ``data_dir``).
    """

    def __init__(self, name: str, splits: dict[str, dict[str, Any] | None], metric: str = "exact_match",
                 kind: str = "target", chance: float = 0.0, max_new_tokens: int = 16, description: str = "",
                 **defaults: Any):
        self.name, self.metric, self.kind, self.chance = name, metric, kind, chance
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
                             f"{', '.join(self.sources)} (see {SKILL_CONFIG_DIR / (self.name + '.yaml')}).")
        return self.sources[split]

    def _data_root(self, src: Source) -> tuple[Path | None, str]:
        if src.data_dir:
            return Path(os.path.expandvars(src.data_dir)).expanduser(), "data_dir"
        if os.environ.get("LMMCL_DATA_DIR"):
            return Path(os.environ["LMMCL_DATA_DIR"]).expanduser() / self.name, f"$LMMCL_DATA_DIR/{self.name}"
        return None, ""

    def locate(self, split: str) -> Location:
        """Find a split's rows on this machine, touching no network."""
        src = self.source(split)
        root, how = self._data_root(src)
        looked = []
        if root is not None:
            candidates = _local_candidates(root, split)
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
                     f"LMMCL_DATA_DIR=<dir>, or set data_dir in {SKILL_CONFIG_DIR / (self.name + '.yaml')};")
        if src.id:
            lines.append("  - or let `datasets` download it here: export HF_DATASETS_OFFLINE=0.")
        if src.note:
            lines.append(f"Note: {src.note.strip()}")
        if cause is not None:
            lines.append(f"`datasets` said: {type(cause).__name__}: {cause}")
        return MissingResourceError("\n".join(lines))

    def plan(self) -> list[dict[str, Any]]:
        """One row per split for the dry-run plan (see :mod:`lmmcl.data.plan`)."""
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
        with _offline(not downloads_allowed()):
            if location.kind == "local":
                rows = _open_local(location.path, split, src, stream)
            else:
                import datasets

                try:
                    # Offline, the cache is memory-mapped Arrow: streaming would only add a way to fail.
                    rows = datasets.load_dataset(src.id, src.config, split=src.split,
                                                 streaming=stream and location.kind == "download")
                except Exception as err:  # `datasets` reports a missing cache entry with many error types
                    raise self._missing(split, location, cause=err) from err
        where = f"{location.kind} {location.path or src.id}"
        rows = _lazy_images(rows, src.roles()["image"])
        self._check_columns(split, src, rows.column_names, where)
        return self._build(split, src, rows, size, seed, where)

    def _check_columns(self, split: str, src: Source, available: list[str] | None, where: str) -> None:
        missing = [c for c in src.needed_columns() if available is not None and c not in available]
        if missing:
            raise LmmclError(f"Skill {self.name!r} ({split} split): column(s) {missing} not in {where}, which has "
                             f"{available}. Fix `columns` in {SKILL_CONFIG_DIR / (self.name + '.yaml')}."
                             + (f" Note: {src.note.strip()}" if src.note else ""))

    def _build(self, split: str, src: Source, rows: Any, size: int | None, seed: int, where: str) -> HFDataset:
        import datasets

        image_column = src.roles()["image"]
        if isinstance(rows, datasets.IterableDataset):  # streaming: the first rows, images kept in memory
            images: Any = {}
            pairs: Iterable[tuple[int, dict]] = enumerate(rows)
        else:
            images = _ImageColumn(rows, image_column)
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

    def _record(self, src: Source, row: dict[str, Any], index: int, seed: int, classes: list[str]) -> _Record | str:
        """A row's question, target and references, or the reason it is unusable."""
        rng = random.Random(f"{self.name}/{seed}/{index}")
        cells = {role: [row.get(c) for c in col] if isinstance(col, list) else row.get(col)
                 for role, col in src.roles().items() if role != "image"}
        question = self._question(src, row, cells, rng)
        if not question:
            return "empty_question"
        try:  # a label or index out of range, a count that is not a number: unusable, not fatal
            options, raw_answer = FORMATS[src.format](src, cells, rng, classes)
            if _blank(raw_answer):
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
        hint = "" if _blank(cells.get("hint")) else src.hint_template.format(hint=str(cells["hint"]).strip())
        shown = question + (src.options_intro + "\n" + lettered(options) if options else "")
        meta = {"skill": self.name, "row": index, **{c: row.get(c) for c in src.meta}}
        return _Record(index, src.pre + hint + shown + src.post, answer, refs, meta)

    def _question(self, src: Source, row: dict[str, Any], cells: dict[str, Any], rng: random.Random) -> str:
        if src.question_templates:
            template = rng.choice(src.question_templates)
            names = [f for _, f, _, _ in Formatter().parse(template) if f]
            if any(_blank(row.get(n)) for n in names):
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
