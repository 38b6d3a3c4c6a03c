"""``lmmcl report``: regenerate a run's report (report.json, report.md, figures) from what it logged.

    lmmcl report RUN_DIR [--from-tensorboard] [--skills S1 S2 ...] [--tensorboard]

regenerates a run's report from what the run logged: its report.json (``stages`` rows and the other
callbacks' sections, e.g. ``counting_bias``), or, when that is missing (or with ``--from-tensorboard``), the
logged scalars (TensorBoard events, else a CSVLogger's metrics.csv) ``stage/<benchmark>`` (one step per
accuracy-matrix row), ``probe/<group>/<stat>`` and ``params/*`` plus the run's config.yaml for the names. Summary
and continual-learning metrics are always recomputed from the matrix.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmmcl.errors import LmmclError
from lmmcl.report.markdown import render_markdown
from lmmcl.report.sections import SECTIONS
from lmmcl.report.tensorboard import load_run
from lmmcl.report.write import write_report

USAGE = __doc__


def figure_files() -> list[str]:
    return ["accuracy_matrix.png", *(f"{s.key}.png" for s in SECTIONS if s.figure_title)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl report", description=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory: logs/<model>/<recipe>/version_<n>")
    parser.add_argument("--from-tensorboard", action="store_true",
                        help="rebuild from the logged scalars (TensorBoard events or metrics.csv) even if "
                             "report.json exists")
    parser.add_argument("--skills", nargs="+", help="target skills in training order (runs without config.yaml)")
    parser.add_argument("--heldout", nargs="+", help="held-out benchmarks (default: every other logged one)")
    parser.add_argument("--tensorboard", action="store_true", help="also log the figures into the run's TensorBoard")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():  # errors reach the user through lmmcl.failures (one paragraph, exit 2)
        raise LmmclError(f"{run_dir} is not a directory: give a run directory (logs/<model>/<recipe>/version_<n>).")
    report = load_run(run_dir, args.from_tensorboard, args.skills, args.heldout)
    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir))
    try:
        path = write_report(run_dir, report, loggers=[writer] if writer is not None else [])
    finally:
        if writer is not None:
            writer.close()
    print(render_markdown(report) + f"\n[lmmcl report] {path} (report.md, {', '.join(figure_files())})")
    return 0

