"""report.md: the accuracy matrix, summary, continual-learning metrics and every section, as Markdown that also
reads well in a terminal."""

from __future__ import annotations

from typing import Any

from lmmcl.eval import sample_counts
from lmmcl.report.sections import SECTIONS
from lmmcl.tables import markdown_table


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _cl_section(report: dict[str, Any]) -> list[str]:
    cl = report.get("cl_metrics")
    if not cl or cl.get("mft") is None:
        return []
    after = report["stages"][1:]
    own = {row["name"]: row["scores"].get(row["name"]) for row in after}
    final, base = after[-1]["scores"], report["stages"][0]["scores"]
    lines = ["## Continual learning (target skills, points)", "",
             f"- MFT, mean score right after its own stage: {_fmt(cl['mft'])}",
             f"- MFN, mean score after the last stage:      {_fmt(cl['mfn'])}",
             f"- MAA, mean over stages of the skills so far: {_fmt(cl['maa'])}",
             f"- BWT, final minus right-after (earlier skills): {_fmt(cl['bwt'], True)}",
             f"- forgetting, best after learning minus final (mean): {_fmt(cl['forgetting_mean'])}", ""]
    lines += markdown_table(["skill", "base", "after own stage", "final", "learning", "forgetting"],
                    [[s, _fmt(base.get(s)), _fmt(own[s]), _fmt(final.get(s)), _fmt(cl["learning"].get(s), True),
                      _fmt(cl["forgetting"].get(s))] for s in cl["learning"]])
    if cl.get("heldout_change"):
        lines += [""] + markdown_table(["held-out", "base", "final", "change"],
                               [[h, _fmt(base.get(h)), _fmt(final.get(h)), _fmt(d, True)]
                                for h, d in cl["heldout_change"].items()])
    return lines + [""]


def stopped_message(entry: dict[str, Any]) -> str:
    """One sentence for the terminal and report.md."""
    untrained = ", ".join(entry["untrained"]) or "none"
    cut = entry.get("cut_short")
    cut = (f"; stage {cut['stage']!r} was cut short after {cut['trained_batches']} of {cut['batches']} batches (a row "
           f"evaluated after it is the model as it stood; it has no checkpoint)") if cut else ""
    return f"The run ended before its last stage: {entry['reason']}. Stages that did not train: {untrained}{cut}."


def stopped_lines(report: dict[str, Any]) -> list[str]:
    """report.md's first-screen warning of a run that ended early."""
    entry = report.get("stopped")
    return [f"**Warning: {stopped_message(entry)}**", ""] if entry else []


def render_markdown(report: dict[str, Any]) -> str:
    """The accuracy matrix (rows: after which stage; columns: benchmarks), the summary, the continual-learning
    metrics and every section, as Markdown that also reads well in a terminal."""
    columns = report["skills"] + report["heldout"]
    lines = [f"# lmmcl report: {report['model']} / {report['recipe']}", "",
             f"Trainable parameters: {report['trainable_params']:,} of {report['total_params']:,} "
             f"({100 * report['trainable_params'] / max(1, report['total_params']):.2f}%)", "",
             *stopped_lines(report), *sample_counts.warning_lines(report),
             "## Accuracy (%) after each stage", "",
             *markdown_table(["after", *columns],
                             [[row["name"], *(_fmt(row["scores"].get(c)) for c in columns)]
                              for row in report["stages"]])]
    s = report["summary"]
    lines += ["", "## Summary (points vs the base model)", "",
              f"- learning (each target right after its own stage): {_fmt(s['learning'], True)}",
              f"- held-out change after the last stage: {_fmt(s['heldout_final'], True)}",
              f"- held-out change averaged over stages: {_fmt(s['heldout_mean'], True)}", ""]
    lines += _cl_section(report)
    lines += sample_counts.table_lines(report)
    lines += [line for section in SECTIONS for line in section.render(report)]  # transfer, drift, probes
    figures = (["![accuracy matrix](accuracy_matrix.png)"] if report["stages"] else []) + \
              [f"![{s.figure_title}]({s.key}.png)" for s in SECTIONS if s.figure_title and report.get(s.key)]
    return "\n".join(lines + (figures + [""] if figures else []))

