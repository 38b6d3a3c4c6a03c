"""The counting-bias probe's report section (collected by :class:`lmmcl.eval.probe.CountingBiasProbe`): its
report.md table, its figure (counting_bias.png) and its rebuild from the ``probe/<group>/<stat>`` scalars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmmcl.contracts import ReportSection
from lmmcl.plots import CHAR_IN, sized_figure
from lmmcl.tables import markdown_table


class CountingBiasSection(ReportSection):
    """``counting_bias``: per matrix row, number-token mass on counting (``target``) and other (``heldout``)
    prompts."""

    key, figure_title, empty = "counting_bias", "counting bias", []

    def render(self, report: dict[str, Any]) -> list[str]:
        if not report.get(self.key):
            return []
        def cell(group: dict[str, float]) -> str:
            return f"{group['mass_mean']:.3f}" + (f" ± {group['mass_std']:.3f}" if "mass_std" in group else "")

        rows = [[row["stage"], cell(row["target"]), cell(row["heldout"])] for row in report[self.key]]
        return ["## Counting bias (number-token probability mass, mean ± std over prompts)", "",
                *markdown_table(["after", "counting prompts", "other prompts"], rows), ""]

    def figure(self, report: dict[str, Any]) -> Any:
        """Number-token probability mass after each stage, counting vs other prompts, with std error bars."""
        entries = report[self.key]
        names = [e["stage"] for e in entries]
        fig, ax = sized_figure(max(2.4, 0.8 * len(entries)), 2.2, left=0.8,
                          bottom=0.55 + 0.5 * CHAR_IN * max(map(len, names), default=4))
        x = range(len(entries))
        for group, label, shift in (("target", "counting prompts", -0.04), ("heldout", "other prompts", 0.04)):
            ax.errorbar([i + shift for i in x], [e[group]["mass_mean"] for e in entries],
                        yerr=[e[group].get("mass_std", 0.0) for e in entries], marker="o", capsize=3, label=label)
        ax.set_xticks(list(x), labels=names, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.5, len(entries) - 0.5)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("after stage")
        ax.set_ylabel("number-token mass")
        ax.set_title("counting bias", fontsize=10)
        ax.legend(fontsize=8)
        return fig

    def from_scalars(self, series: Callable[[str], dict[int, float]], tags: list[str],
                     names: dict[int, str]) -> list[dict[str, Any]]:
        probe: dict[int, dict[str, dict[str, float]]] = {}
        for tag in tags:
            parts = tag.split("/")
            if len(parts) == 3 and parts[0] == "probe":
                for step, value in series(tag).items():
                    probe.setdefault(step, {}).setdefault(parts[1], {})[parts[2]] = value
        return [{"stage": names.get(k, f"stage{k}"), **groups} for k, groups in sorted(probe.items())
                if {"target", "heldout"} <= set(groups)]
