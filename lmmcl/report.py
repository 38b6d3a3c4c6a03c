"""The run report: accuracy matrix -> report.json (the contract in DESIGN §4) and a terminal-readable report.md."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, float | None]:
    """learning, heldout_final and heldout_mean (DESIGN §4) from the accuracy matrix rows."""
    if not stages:
        return {"learning": None, "heldout_final": None, "heldout_mean": None}
    base = stages[0]["scores"]
    by_name = {row["name"]: row["scores"] for row in stages[1:]}
    learning = _mean([by_name[s][s] - base[s] for s in skills if s in by_name])
    after = stages[1:]
    heldout_final = _mean([after[-1]["scores"][h] - base[h] for h in heldout]) if after else None
    heldout_mean = _mean([row["scores"][h] - base[h] for row in after for h in heldout]) if after else None
    return {"learning": learning, "heldout_final": heldout_final, "heldout_mean": heldout_mean}


def build_report(model: str, recipe: str, skills: list[str], heldout: list[str], stages: list[dict[str, Any]],
                 trainable_params: int, total_params: int, counting_bias: list[dict[str, Any]] | None = None,
                 **extra: Any) -> dict[str, Any]:
    return {"model": model, "recipe": recipe, "skills": skills, "heldout": heldout,
            "trainable_params": trainable_params, "total_params": total_params, "stages": stages,
            "summary": summarize(skills, heldout, stages), "counting_bias": counting_bias or [], **extra}


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    """The accuracy matrix (rows: after which stage; columns: benchmarks) and the summary, as Markdown."""
    columns = report["skills"] + report["heldout"]
    lines = [f"# lmmcl report: {report['model']} / {report['recipe']}", "",
             f"Trainable parameters: {report['trainable_params']:,} of {report['total_params']:,} "
             f"({100 * report['trainable_params'] / max(1, report['total_params']):.2f}%)", "",
             "## Accuracy (%) after each stage", "",
             "| after | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in report["stages"]:
        lines.append(f"| {row['name']} | " + " | ".join(_fmt(row["scores"].get(c)) for c in columns) + " |")
    s = report["summary"]
    lines += ["", "## Summary (points vs the base model)", "",
              f"- learning (each target right after its own stage): {_fmt(s['learning'], True)}",
              f"- held-out change after the last stage: {_fmt(s['heldout_final'], True)}",
              f"- held-out change averaged over stages: {_fmt(s['heldout_mean'], True)}", ""]
    if report.get("counting_bias"):
        lines += ["## Counting bias (number-token probability mass)", "",
                  "| after | counting prompts | other prompts |", "|---|---|---|"]
        for row in report["counting_bias"]:
            lines.append(f"| {row['stage']} | {row['target']['mass_mean']:.3f} | {row['heldout']['mass_mean']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def write_report(run_dir: str | Path, report: dict[str, Any]) -> Path:
    run_dir = Path(run_dir)
    atomic_write(run_dir / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write(run_dir / "report.md", render_markdown(report))
    return run_dir / "report.json"
