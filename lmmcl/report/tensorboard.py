"""A run's report read back from its logs: its report.json, or its logged scalars (TensorBoard events or a
CSVLogger's metrics.csv, whichever the run directory holds) and config.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.report.build import build_report, rebuild
from lmmcl.report.sections import SECTIONS


def _run_config(run_dir: Path) -> dict[str, Any]:
    import yaml

    for name in ("config.yaml", "hparams.yaml"):  # LightningCLI's resolved config; the logger's hparams
        path = run_dir / name
        if path.exists():
            try:
                return yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError:
                continue
    return {}


def tensorboard_scalars(run_dir: Path) -> dict[str, dict[int, float]]:
    """Tag -> {step: value} of the run's TensorBoard events (a step logged twice: the last value wins)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: {e.step: float(e.value) for e in events.Scalars(tag)} for tag in events.Tags().get("scalars", [])}


def csv_scalars(path: Path) -> dict[str, dict[int, float]]:
    """Tag -> {step: value} of a CSVLogger's metrics.csv (one row per logging call, empty cells elsewhere)."""
    import csv

    found: dict[str, dict[int, float]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row.get("step") or 0))
            for tag, value in row.items():
                if tag not in ("step", "epoch") and value not in (None, ""):
                    found.setdefault(tag, {})[step] = float(value)
    return found


def logged_scalars(run_dir: Path) -> dict[str, dict[int, float]]:
    """The run's scalars from what its directory holds: TensorBoard events, else a CSVLogger's metrics.csv."""
    if any(run_dir.glob("events.out.tfevents*")):
        return tensorboard_scalars(run_dir)
    if (run_dir / "metrics.csv").exists():
        return csv_scalars(run_dir / "metrics.csv")
    return {}


def report_from_tensorboard(run_dir: str | Path, skills: list[str] | None = None,
                            heldout: list[str] | None = None) -> dict[str, Any]:
    """The report from the run's logged scalars (TensorBoard events or metrics.csv): ``stage/<benchmark>`` (step =
    row), the sections' own (``probe/<group>/<stat>``), ``params/trainable``/``params/total``; names from config.yaml
    (or ``skills``/``heldout``)."""
    run_dir = Path(run_dir)
    scalars = logged_scalars(run_dir)
    tags = list(scalars)

    def series(tag: str) -> dict[int, float]:
        return scalars.get(tag, {})

    config = _run_config(run_dir)
    data = config.get("data") or {}
    skills = list(skills or data.get("skills") or [])
    logged = [t[len("stage/"):] for t in tags if t.startswith("stage/") and t not in ("stage/step", "stage/lr")]
    if not logged:
        raise LmmclError(f"{run_dir} has neither report.json nor logged stage/<benchmark> scalars (TensorBoard events "
                         f"or metrics.csv): "
                         f"is it a run directory (logs/<model>/<recipe>/version_<n>)?")
    if not skills:
        raise LmmclError(f"{run_dir} has no config.yaml naming the target skills in training order: pass them, "
                         f"e.g. lmmcl report {run_dir} --skills species count "
                         f"(logged benchmarks: {', '.join(logged)}).")
    heldout = list(heldout or data.get("heldout") or [b for b in logged if b not in skills])
    scores = {b: series(f"stage/{b}") for b in skills + heldout if b in logged}
    steps = sorted({step for values in scores.values() for step in values})
    names = {k: "base" if k == 0 else skills[k - 1] if k - 1 < len(skills) else f"stage{k}" for k in steps}
    stages = [{"name": names[k], "scores": {b: v[k] for b, v in scores.items() if k in v}} for k in steps]

    sections = {s.key: s.from_scalars(series, tags, names) for s in SECTIONS}  # e.g. probe/<group>/<stat>

    def param(name: str) -> int:
        values = series(f"params/{name}") if f"params/{name}" in tags else {}
        return int(values[max(values)]) if values else 0

    model = (config.get("model") or {}).get("preset") or config.get("preset") or run_dir.parent.parent.name
    recipe = (config.get("recipe") or {}).get("name") or run_dir.parent.name
    return build_report(model, recipe, skills, heldout, stages, param("trainable"), param("total"),
                        **{key: value for key, value in sections.items() if value is not None})


def load_run(run_dir: str | Path, from_tensorboard: bool = False, skills: list[str] | None = None,
             heldout: list[str] | None = None) -> dict[str, Any]:
    """A run's report, rebuilt from its report.json, or from its TensorBoard scalars when that is missing."""
    path = Path(run_dir) / "report.json"
    if path.exists() and not from_tensorboard:
        return rebuild(json.loads(path.read_text()))
    return report_from_tensorboard(run_dir, skills, heldout)

