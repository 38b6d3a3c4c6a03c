"""How long the rehearsal's prompts were: ``rehearsal.md`` beside a run's report.

For every phase of the run (training batches, evaluation, the drift monitor's prompts, the counting-bias probe's)
the samples are collated again exactly as the run collated them (the run's processor, its ``data.max_length``,
the same local benchmark copies and seeds), and their token counts listed per benchmark; the run's report.json
says whether they went through (scored, none skipped as ``too_long``, a drift curve and a probe entry per stage).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lmmcl.tables import markdown_table


def _tokens(batches: list[dict[str, Any]]) -> list[int]:
    return [n for b in batches if "attention_mask" in b for n in b["attention_mask"].sum(dim=1).tolist()]


def _phases(processor: Any, skills: list[str], heldout: list[str], max_length: int) -> list[tuple[str, str, list[int]]]:
    """(phase, benchmark, token counts of its collated samples) as the run built them; ``skills`` and ``heldout``
    as the run's config names them (names or skill files)."""
    from torch.utils.data import DataLoader

    from lmmcl.data.collate import Collator
    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.data.skill import get_skill
    from lmmcl.eval.drift import DriftMonitor
    from lmmcl.eval.probe import PROBE_SEED
    from lmmcl.rehearsal.benchmarks import PROBE_SKILLS

    rows = []
    for phase, specs, split, train in (("training", skills, "train", True),
                                       ("evaluation", skills + heldout, "test", False)):
        collate = Collator(processor, train=train, max_length=max_length)
        for spec in specs:
            skill = get_skill(spec)
            data = skill.dataset(split, None, 0)
            rows.append((phase, skill.name, _tokens(list(DataLoader(data, batch_size=4, collate_fn=collate)))))
    sequence = SimpleNamespace(datamodule=SkillSequence(skills, heldout, max_length=max_length))
    drift = DriftMonitor()._prompts(sequence, SimpleNamespace(processor=processor))
    rows.append(("drift", ", ".join(sequence.datamodule.heldout_names), _tokens(drift)))
    probe = Collator(processor, train=False, max_length=max_length)
    for name in PROBE_SKILLS.values():  # lmmcl.rehearsal.run.REAL_PROBE's, at the probe's seed
        data = get_skill(name).dataset("test", 2, PROBE_SEED)
        rows.append(("probe", name, _tokens(list(DataLoader(data, batch_size=2, collate_fn=probe)))))
    return rows


def write_lengths(report_md: Path, model: Path, data_root: Path, max_length: int = 32768) -> Path:
    """Write ``rehearsal.md`` beside ``report_md``: token counts per phase and benchmark, and what the run did with
    them; returns its path."""
    from lmmcl.data.order import apply_order
    from lmmcl.models.processors import load_processor
    from lmmcl.yamlfile import load_yaml

    report = json.loads(report_md.with_name("report.json").read_text())
    data = load_yaml(report_md.with_name("config.yaml"))["data"]  # skill files by path, as the run read them
    previous = os.environ.get("LMMCL_DATA_DIR")
    os.environ["LMMCL_DATA_DIR"] = str(data_root)
    try:
        phases = _phases(load_processor(model), apply_order(data["skills"], data.get("order")), data["heldout"],
                         max_length)
    finally:
        os.environ.pop("LMMCL_DATA_DIR") if previous is None else os.environ.update(LMMCL_DATA_DIR=previous)
    table = [[phase, name, len(n), min(n, default=0), max(n, default=0)] for phase, name, n in phases]
    longest = {phase: max((max(n, default=0) for p, _, n in phases if p == phase), default=0)
               for phase in ("training", "evaluation", "drift", "probe")}
    samples = report.get("samples", {})
    too_long = {name: s["bad_records"].get("too_long", 0) for name, s in samples.items()}
    too_long_named = ", ".join(f"{k} {v}" for k, v in too_long.items() if v) or "none"
    probe_n = [e["heldout"]["n"] for e in report.get("counting_bias") or []]
    lines = ["# Prompt lengths of this rehearsal", "",
             f"Tokens per sample (prompt, plus the answer in training) as this run collated them (max_length "
             f"{max_length}). Longest: " + ", ".join(f"{phase} {n:,}" for phase, n in longest.items()) + ".", "",
             *markdown_table(["phase", "benchmark", "samples", "tokens min", "tokens max"], table), "",
             "What the run did with them (report.json): "
             f"{sum(s['scored'] for s in samples.values())} evaluation samples scored per evaluation, "
             f"skipped as too long: {sum(too_long.values())} ({too_long_named}; "
             f"the local copies hold one over-long question in PathVQA and DocVQA on purpose); "
             f"drift curves: {len(report.get('drift') or [])}; counting-bias entries: "
             f"{len(report.get('counting_bias') or [])} (n = {probe_n}).", ""]
    path = report_md.with_name("rehearsal.md")
    path.write_text("\n".join(lines))
    return path
