"""The run report: accuracy matrix -> report.json (docs/reference/metrics.md), a terminal-readable report.md and
figures, also logged to TensorBoard. One module per concern:

    metrics      summary and continual-learning metrics of the matrix
    build        report.json's content (``build_report``, ``rebuild``)
    sections     every section beyond the matrix, listed once (transfer, drift, counting bias)
    markdown     report.md
    figures      accuracy_matrix.png and the sections' figures
    write        the files of a report
    tensorboard  a report read back from a run's logs
    cli          ``lmmcl report``
"""

from lmmcl.atomic import atomic_write
from lmmcl.report.build import build_report, rebuild
from lmmcl.report.cli import main
from lmmcl.report.markdown import render_markdown
from lmmcl.report.metrics import cl_metrics, summarize
from lmmcl.report.tensorboard import load_run, report_from_tensorboard
from lmmcl.report.write import write_report

__all__ = ["atomic_write", "build_report", "cl_metrics", "load_run", "main", "rebuild", "render_markdown",
           "report_from_tensorboard", "summarize", "write_report"]
