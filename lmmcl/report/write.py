"""Write a run's report files: report.json, report.md and the figures."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lmmcl.atomic import atomic_write
from lmmcl.report.figures import write_figures
from lmmcl.report.markdown import render_markdown


def write_report(run_dir: str | Path, report: dict[str, Any], loggers: Iterable[Any] = (),
                 figures: bool = True) -> Path:
    """report.json, report.md and (``figures``) the PNG figures, also sent to ``loggers`` (the run's Lightning
    loggers, or a SummaryWriter; :mod:`lmmcl.loggers`)."""
    run_dir = Path(run_dir)
    atomic_write(run_dir / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write(run_dir / "report.md", render_markdown(report))
    if figures:
        write_figures(run_dir, report, loggers)
    return run_dir / "report.json"

