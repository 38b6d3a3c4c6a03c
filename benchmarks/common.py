"""What every benchmark shares: thread settings, timing, the tiny model, and benchmarks/results/<name>.json.

Benchmarks compare variants *within one run* (ratios), interleaving the variants and keeping the fastest
repetition, because the machines they run on are shared: absolute seconds are context, not a result.
Run them from the repository root: ``python -m benchmarks.<name>`` (``make bench`` runs them all).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmmcl.tables import text_table


def format_table(head: list[str], rows: list[list[Any]]) -> str:
    """The benchmarks' tables look like `lmmcl recipes`': numbers right-aligned."""
    return text_table(head, rows, right=True)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def set_threads(n: int) -> int:
    """Pin intra-op threads to ``n`` (also OMP_NUM_THREADS for processes started later, e.g. data workers)."""
    import torch

    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(n)
    return n


def parser(description: str, name: str) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: ``--threads``, ``--preset``, ``--out``."""
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=description)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: the machine is shared)")
    p.add_argument("--preset", default="tiny_scratch",
                   help="model preset (default tiny_scratch: random weights, seconds)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / f"{name}.json", help="where to write the JSON result")
    return p


def quiet() -> None:
    """Silence the progress bars and warnings that would bury the printed figures."""
    import logging
    import warnings

    import lightning.pytorch  # noqa: F401  (importing it sets its loggers to INFO: silence them after)

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def load_module(preset: str):
    """An :class:`LMMModule` of ``preset`` (builds the tiny model once, cached)."""
    from lmmcl.train.module import LMMModule

    return LMMModule(preset)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleaved(variants: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Run every variant ``repeats`` times, alternating (A B A B ...), so load on a shared machine hits
    all of them alike. Returns the seconds of each run per variant."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            seconds[name].append(timed(fn)[0])
    return seconds


def stats(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "runs": list(values)}


def environment(threads: int) -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "torch_threads": threads, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "cpu_count": os.cpu_count(), "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "machine": platform.machine(), "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def write_result(path: Path, name: str, threads: int, **figures: Any) -> Path:
    """Write ``figures`` plus the environment to ``path`` (benchmarks/results/<name>.json) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": name, "environment": environment(threads), **figures}, indent=2) + "\n")
    print(f"[bench] wrote {path}")
    return path
