"""Figure geometry shared by the report's figures: margins computed from label lengths, not searched."""

from __future__ import annotations

CHAR_IN = 0.08  # width of a 10 pt tick-label character, inches: margins are computed, not searched (fast)


def sized_figure(plot_w: float, plot_h: float, left: float, bottom: float, right: float = 0.25, top: float = 0.4):
    """A figure with one axes of ``plot_w`` x ``plot_h`` inches and the given margins (inches)."""
    from matplotlib.figure import Figure

    width, height = left + plot_w + right, bottom + plot_h + top
    fig = Figure(figsize=(width, height), dpi=110)
    ax = fig.add_axes((left / width, bottom / height, plot_w / width, plot_h / height))
    return fig, ax
