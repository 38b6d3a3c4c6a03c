"""The map-style dataset of one benchmark split: rows read lazily, bad records counted, images bounded."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image
from torch.utils.data import Dataset

from lmmcl.data.bad import BadRecord
from lmmcl.data.skill_type import Sample

if TYPE_CHECKING:  # `datasets` takes seconds to import: only the code paths that read data import it
    import datasets

log = logging.getLogger("lmmcl.data.hf")

@dataclass
class Record:
    row: int  # key of the row's image in HFDataset.images
    question: str
    answer: str
    answers: list[str]
    meta: dict[str, Any]


class ImageColumn:
    """Index -> the raw image cell of one column, without reading the other columns."""

    def __init__(self, rows: datasets.Dataset, column: str):
        self.rows, self.column = rows.select_columns([column]), column

    def __getitem__(self, index: int) -> Any:
        return self.rows[index][self.column]


class HFDataset(Dataset):
    """The samples of one split of an :class:`HFSkill`: texts built up front, images decoded when read.

    ``bad_records`` maps a reason ("empty_question", "missing_answer", "bad_answer", "missing_image",
    "undecodable_image") to how many rows it skipped; image problems are counted as items are read (in the
    reading process: with DataLoader workers, the collate's own count is the one that adds up).
    """

    def __init__(self, name: str, records: list[Record], images: Any, bad_records: dict[str, int],
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

    def _image(self, record: Record) -> Image.Image | BadRecord:
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

    def _skip(self, record: Record, reason: str, err: Exception | None = None) -> BadRecord:
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
