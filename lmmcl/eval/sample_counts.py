"""How many samples each benchmark was asked for, scored on and skipped (with why), for report.json/.md.

``asked`` is ``data.test_size`` (or, with ``null``, every row of the split); ``scored`` the samples the metric
saw, summed over ranks; ``bad_records`` the reasons samples were skipped (:mod:`lmmcl.data.bad`): those found
while building the split (the same on every rank, counted once) plus those found while reading and collating
(summed over ranks and DataLoader workers, as they travel with each batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lmmcl.data.bad import REASONS, as_vector, merge_counts
from lmmcl.tables import markdown_table


class SampleCounter:
    """Per-benchmark scored samples and read-time bad records of one evaluation."""

    def __init__(self) -> None:
        self.scored: dict[str, int] = {}
        self.bad: dict[str, dict[str, int]] = {}

    def reset(self) -> None:
        self.scored, self.bad = {}, {}

    def add(self, name: str, scored: int, bad: Mapping[str, int]) -> None:
        self.scored[name] = self.scored.get(name, 0) + scored
        self.bad[name] = merge_counts(self.bad.get(name, {}), bad)

    def reduced(self, names: list[str], strategy: Any, device: torch.device) -> dict[str, tuple[int, dict[str, int]]]:
        """(scored, read-time bad records) per benchmark, summed over ranks; call it on every rank."""
        rows = [[self.scored.get(n, 0)] + as_vector(self.bad.get(n, {})) for n in names]
        table = torch.tensor(rows, dtype=torch.long, device=device).reshape(len(names), 1 + len(REASONS))
        if strategy is not None and getattr(strategy, "world_size", 1) > 1:
            table = strategy.reduce(table, reduce_op="sum")
        return {n: (int(r[0]), {k: int(v) for k, v in zip(REASONS, r[1:]) if v}) for n, r in zip(names, table.tolist())}


def sample_entry(asked: int | None, scored: int, load_bad: Mapping[str, int],
                 read_bad: Mapping[str, int]) -> dict[str, Any]:
    """One benchmark's report entry: asked, scored, skipped and bad_records (reason -> count)."""
    bad = merge_counts(load_bad, read_bad)
    return {"asked": asked, "scored": scored, "skipped": sum(bad.values()), "bad_records": bad}


def short_of_asked(samples: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Benchmarks scored on fewer samples than asked for."""
    return [n for n, e in samples.items() if e.get("asked") is not None and e["scored"] < e["asked"]]


def warning_lines(report: Mapping[str, Any]) -> list[str]:
    """A first-screen warning of report.md naming every benchmark scored on fewer samples than asked."""
    samples = report.get("samples") or {}
    short = short_of_asked(samples)
    lines = []
    if short:
        cells = [f"{n} {samples[n]['scored']}/{samples[n]['asked']}" + _why(samples[n]["bad_records"]) for n in short]
        lines += [f"**Warning: scored on fewer samples than asked:** {'; '.join(cells)} (see Samples below).", ""]
    skipped = [s for s in report.get("stages", []) if (s.get("train_samples") or {}).get("skipped")]
    if skipped:
        cells = [f"{s['name']} {s['train_samples']['skipped']}" + _why(s["train_samples"]["bad_records"])
                 for s in skipped]
        lines += [f"**Warning: training samples skipped:** {'; '.join(cells)} (see Training samples below).", ""]
    return lines


def table_lines(report: Mapping[str, Any]) -> list[str]:
    """The Samples sections of report.md: asked, scored, skipped and why, per benchmark and per training stage."""
    samples = report.get("samples") or {}
    rows = [_row(name, e, "scored") for name, e in samples.items()]
    evaluation = ["## Samples per benchmark (last evaluation)", "",
                  *markdown_table(["benchmark", "asked", "scored", "skipped", "bad records"], rows), ""]
    return (evaluation if samples else []) + training_lines(report)


def training_lines(report: Mapping[str, Any]) -> list[str]:
    """The training samples of every stage: asked (the split's size), trained, skipped and why."""
    stages = [s for s in report.get("stages", []) if s.get("train_samples")]
    if not stages:
        return []
    rows = [_row(s["name"], s["train_samples"], "trained") for s in stages]
    return ["## Training samples per stage", "",
            *markdown_table(["stage", "asked", "trained", "skipped", "bad records"], rows), ""]


def _row(name: str, entry: Mapping[str, Any], used: str) -> list[Any]:
    """A table row of one count entry: name, asked, ``used`` (scored or trained), skipped, bad records."""
    return [name, "all" if entry.get("asked") is None else entry["asked"], entry[used], entry["skipped"],
            ", ".join(f"{r} {c}" for r, c in entry["bad_records"].items()) or "-"]


def _why(bad: Mapping[str, int]) -> str:
    return f" ({', '.join(f'{r} {c}' for r, c in bad.items())})" if bad else ""
