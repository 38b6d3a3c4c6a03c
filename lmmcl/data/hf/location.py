"""Where a benchmark's rows are: a local copy or the Hugging Face cache, read offline unless allowed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmmcl.data.hf.source import Source
from lmmcl.errors import LmmclError

if TYPE_CHECKING:  # `datasets` takes seconds to import: only the code paths that read data import it
    import datasets


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


def local_candidates(root: Path, split: str) -> list[Path]:
    return [root / split, root / f"{split}.parquet", root / f"{split}.arrow", root / "dataset_dict.json"]


@contextmanager
def offline(enabled: bool) -> Iterator[None]:
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


def open_local(path: Path, split: str, src: Source, stream: bool) -> datasets.Dataset | datasets.IterableDataset:
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


def lazy_images(rows: Any, column: str) -> Any:
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
