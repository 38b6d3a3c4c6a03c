"""The report's figures: the accuracy-matrix heatmap and the sections' figures, as PNGs and in TensorBoard."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lmmcl.atomic import atomic_write
from lmmcl.loggers import log_image
from lmmcl.plots import CHAR_IN, sized_figure
from lmmcl.report.sections import SECTIONS


def accuracy_matrix_figure(report: dict[str, Any]):
    """Heatmap of the accuracy matrix: rows = after which stage, columns = benchmarks, cells annotated."""
    columns, rows = report["skills"] + report["heldout"], report["stages"]
    names = [row["name"] for row in rows]
    data = [[row["scores"].get(c, math.nan) for c in columns] for row in rows]
    plot_w, plot_h = max(2.4, 0.8 * len(columns)), 0.4 * max(1, len(rows))
    fig, ax = sized_figure(plot_w, plot_h, left=0.5 + CHAR_IN * max(map(len, names), default=4),
                      bottom=0.55 + 0.71 * CHAR_IN * max(map(len, columns), default=4), right=1.1)
    image = ax.imshow(data, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    for i, values in enumerate(data):
        for j, value in enumerate(values):
            if not math.isnan(value):
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8,
                        color="black" if value > 60 else "white")
    if report["skills"] and report["heldout"]:
        ax.axvline(len(report["skills"]) - 0.5, color="white", lw=2)  # targets | held-out
    ax.set_xticks(range(len(columns)), labels=columns, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), labels=names)
    ax.set_xlabel("benchmark (targets | held-out)")
    ax.set_ylabel("after stage")
    ax.set_title(f"accuracy (%): {report['model']} / {report['recipe']}", fontsize=10)
    width, height = fig.get_size_inches()
    bar = fig.add_axes(((width - 0.95) / width, ax.get_position().y0, 0.15 / width, ax.get_position().height))
    fig.colorbar(image, cax=bar, label="score (%)")
    return fig


def render(fig) -> Any:
    """The figure's RGB pixels (height, width, 3) as uint8."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def write_figures(run_dir: str | Path, report: dict[str, Any], loggers: Iterable[Any] = (),
                  step: int | None = None) -> list[Path]:
    """accuracy_matrix.png and one ``<key>.png`` per section with a figure (counting_bias.png) in ``run_dir``; also to
    every logger with an image API as ``report/<name>`` at ``step`` (default: the last row's index;
    :mod:`lmmcl.loggers`)."""
    from PIL import Image

    loggers = list(loggers)
    figures = {}
    if report["stages"]:
        figures["accuracy_matrix"] = accuracy_matrix_figure(report)
    figures.update({s.key: s.figure(report) for s in SECTIONS if s.figure_title and report.get(s.key)})
    step = len(report["stages"]) - 1 if step is None else step
    paths = []
    for name, fig in figures.items():
        pixels = render(fig)  # drawn once, for the PNG and for the loggers
        path = Path(run_dir) / f"{name}.png"
        png = io.BytesIO()
        Image.fromarray(pixels).save(png, format="PNG")
        atomic_write(path, png.getvalue())
        log_image(loggers, f"report/{name}", pixels, step)
        paths.append(path)
    return paths

