"""The run report: accuracy matrix -> report.json (the contract in DESIGN §4), a terminal-readable report.md
and figures (accuracy_matrix.png, counting_bias.png), also logged to TensorBoard.

    lmmcl report RUN_DIR [--from-tensorboard] [--skills S1 S2 ...] [--tensorboard]

regenerates a run's report from what the run logged: its report.json (``stages`` rows and the other
callbacks' sections, e.g. ``counting_bias``), or, when that is missing (or with ``--from-tensorboard``), the
TensorBoard scalars ``stage/<benchmark>`` (one step per accuracy-matrix row), ``probe/<group>/<stat>`` and
``params/*`` plus the run's config.yaml for the names. Summary and continual-learning metrics are always
recomputed from the matrix.

Continual-learning metrics (``cl_metrics``; target skills only, in the order they were trained; ``a[k][s]``
is the score on skill ``s`` after stage ``k``, ``K`` the last stage so far, ``own(s)`` the stage that trained s):

- ``mft``  mean fine-tuned accuracy: mean over trained skills of ``a[own(s)][s]`` (right after its own stage);
- ``mfn``  mean final accuracy: mean over trained skills of ``a[K][s]``;
- ``maa``  mean average accuracy: mean over stages k of the mean of ``a[k][s]`` over the skills trained by k;
- ``bwt``  backward transfer: mean over skills trained before K of ``a[K][s] - a[own(s)][s]`` (negative = forgotten);
- ``forgetting[s]``: ``max(a[own(s)..K-1][s]) - a[K][s]``, the drop from its best score after learning it
  (skills trained before K only); ``forgetting_mean`` averages them;
- ``learning[s]``: ``a[own(s)][s] - base[s]``, and ``heldout_change[h]``: ``a[K][h] - base[h]`` per held-out
  benchmark (their means are the paper's ``summary.learning`` and ``summary.heldout_final``).

A skill trained at several stages counts from its last one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from lmmcl.errors import LmmclError
from lmmcl.eval import sample_counts
from lmmcl.faults import kill_point

FIGURES = ("accuracy_matrix.png", "counting_bias.png")
COMPUTED = ("summary", "cl_metrics", "transfer")  # recomputed from the matrix whenever a report is built


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        kill_point("report_write")  # tests: killed here, only the temporary file is half-done (lmmcl.faults)
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


def cl_metrics(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, Any]:
    """MFT, MFN, MAA, BWT, forgetting per skill, learning per skill and held-out change (definitions: module doc)."""
    if len(stages) < 2:
        return {"mft": None, "mfn": None, "maa": None, "bwt": None, "forgetting_mean": None,
                "forgetting": {}, "learning": {}, "heldout_change": {}}
    base, after = stages[0]["scores"], stages[1:]
    last, final = len(after) - 1, after[-1]["scores"]
    own = {row["name"]: k for k, row in enumerate(after) if row["name"] in skills}  # a repeated skill: its last stage

    def a(k: int, skill: str) -> float:
        return after[k]["scores"][skill]

    averages, seen = [], []
    for k, row in enumerate(after):
        if row["name"] in own and row["name"] not in seen:
            seen.append(row["name"])
        if seen:
            averages.append(_mean([a(k, s) for s in seen]))
    older = [s for s in own if own[s] < last]
    forgetting = {s: max(a(k, s) for k in range(own[s], last)) - final[s] for s in older}
    return {"mft": _mean([a(own[s], s) for s in own]),
            "mfn": _mean([final[s] for s in own]),
            "maa": _mean(averages),
            "bwt": _mean([final[s] - a(own[s], s) for s in older]),
            "forgetting_mean": _mean(list(forgetting.values())),
            "forgetting": forgetting,
            "learning": {s: a(own[s], s) - base[s] for s in own},
            "heldout_change": {h: final[h] - base[h] for h in heldout if h in final and h in base}}


def build_report(model: str, recipe: str, skills: list[str], heldout: list[str], stages: list[dict[str, Any]],
                 trainable_params: int, total_params: int, counting_bias: list[dict[str, Any]] | None = None,
                 **extra: Any) -> dict[str, Any]:
    from lmmcl.report_sections import computed_sections  # forward transfer, recovery (lmmcl.eval.transfer)

    extra = {k: v for k, v in extra.items() if k not in COMPUTED}
    extra.update(computed_sections(skills, heldout, stages))
    return {"model": model, "recipe": recipe, "skills": skills, "heldout": heldout,
            "trainable_params": trainable_params, "total_params": total_params, "stages": stages,
            "summary": summarize(skills, heldout, stages), "cl_metrics": cl_metrics(skills, heldout, stages),
            "counting_bias": counting_bias or [], **extra}


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"] + ["| " + " | ".join(r) + " |" for r in rows]


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
    lines += _table(["skill", "base", "after own stage", "final", "learning", "forgetting"],
                    [[s, _fmt(base.get(s)), _fmt(own[s]), _fmt(final.get(s)), _fmt(cl["learning"].get(s), True),
                      _fmt(cl["forgetting"].get(s))] for s in cl["learning"]])
    if cl.get("heldout_change"):
        lines += [""] + _table(["held-out", "base", "final", "change"],
                               [[h, _fmt(base.get(h)), _fmt(final.get(h)), _fmt(d, True)]
                                for h, d in cl["heldout_change"].items()])
    return lines + [""]


def render_markdown(report: dict[str, Any]) -> str:
    """The accuracy matrix (rows: after which stage; columns: benchmarks), the summary, the continual-learning
    metrics and the counting bias, as Markdown that also reads well in a terminal."""
    columns = report["skills"] + report["heldout"]
    lines = [f"# lmmcl report: {report['model']} / {report['recipe']}", "",
             f"Trainable parameters: {report['trainable_params']:,} of {report['total_params']:,} "
             f"({100 * report['trainable_params'] / max(1, report['total_params']):.2f}%)", "",
             *sample_counts.warning_lines(report),
             "## Accuracy (%) after each stage", "",
             "| after | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in report["stages"]:
        lines.append(f"| {row['name']} | " + " | ".join(_fmt(row["scores"].get(c)) for c in columns) + " |")
    s = report["summary"]
    lines += ["", "## Summary (points vs the base model)", "",
              f"- learning (each target right after its own stage): {_fmt(s['learning'], True)}",
              f"- held-out change after the last stage: {_fmt(s['heldout_final'], True)}",
              f"- held-out change averaged over stages: {_fmt(s['heldout_mean'], True)}", ""]
    lines += _cl_section(report)
    lines += sample_counts.table_lines(report)
    from lmmcl.report_sections import rendered_sections  # transfer, drift: sections owned by their modules

    lines += rendered_sections(report)
    if report.get("counting_bias"):
        lines += ["## Counting bias (number-token probability mass, mean ± std over prompts)", "",
                  "| after | counting prompts | other prompts |", "|---|---|---|"]
        for row in report["counting_bias"]:
            cells = [f"{row[g]['mass_mean']:.3f}" + (f" ± {row[g]['mass_std']:.3f}" if "mass_std" in row[g] else "")
                     for g in ("target", "heldout")]
            lines.append(f"| {row['stage']} | {cells[0]} | {cells[1]} |")
        lines.append("")
    figures = (["![accuracy matrix](accuracy_matrix.png)"] if report["stages"] else []) + \
              (["![counting bias](counting_bias.png)"] if report.get("counting_bias") else [])
    return "\n".join(lines + (figures + [""] if figures else []))


# --- figures ---------------------------------------------------------------------------------------
CHAR_IN = 0.08  # width of a 10 pt tick-label character, inches: margins are computed, not searched (fast)


def _figure(plot_w: float, plot_h: float, left: float, bottom: float, right: float = 0.25, top: float = 0.4):
    """A figure with one axes of ``plot_w`` x ``plot_h`` inches and the given margins (inches)."""
    from matplotlib.figure import Figure

    width, height = left + plot_w + right, bottom + plot_h + top
    fig = Figure(figsize=(width, height), dpi=110)
    ax = fig.add_axes((left / width, bottom / height, plot_w / width, plot_h / height))
    return fig, ax


def accuracy_matrix_figure(report: dict[str, Any]):
    """Heatmap of the accuracy matrix: rows = after which stage, columns = benchmarks, cells annotated."""
    columns, rows = report["skills"] + report["heldout"], report["stages"]
    names = [row["name"] for row in rows]
    data = [[row["scores"].get(c, math.nan) for c in columns] for row in rows]
    plot_w, plot_h = max(2.4, 0.8 * len(columns)), 0.4 * max(1, len(rows))
    fig, ax = _figure(plot_w, plot_h, left=0.5 + CHAR_IN * max(map(len, names), default=4),
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


def counting_bias_figure(entries: list[dict[str, Any]]):
    """Number-token probability mass after each stage, counting vs other prompts, with std error bars."""
    names = [e["stage"] for e in entries]
    fig, ax = _figure(max(2.4, 0.8 * len(entries)), 2.2, left=0.8,
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


def render(fig) -> Any:
    """The figure's RGB pixels (height, width, 3) as uint8."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def write_figures(run_dir: str | Path, report: dict[str, Any], writer: Any = None,
                  step: int | None = None) -> list[Path]:
    """accuracy_matrix.png and (with a counting_bias section) counting_bias.png in ``run_dir``; also into
    TensorBoard as ``report/<name>`` at ``step`` (default: the last row's index) when ``writer`` is a SummaryWriter."""
    from PIL import Image

    figures = {}
    if report["stages"]:
        figures["accuracy_matrix"] = accuracy_matrix_figure(report)
    if report.get("counting_bias"):
        figures["counting_bias"] = counting_bias_figure(report["counting_bias"])
    step = len(report["stages"]) - 1 if step is None else step
    paths = []
    for name, fig in figures.items():
        pixels = render(fig)  # drawn once, for the PNG and for TensorBoard
        path = Path(run_dir) / f"{name}.png"
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
        os.close(fd)
        try:
            Image.fromarray(pixels).save(tmp, format="PNG")
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        if hasattr(writer, "add_image"):
            writer.add_image(f"report/{name}", pixels, global_step=step, dataformats="HWC")
        paths.append(path)
    if hasattr(writer, "flush"):
        writer.flush()
    return paths


def write_report(run_dir: str | Path, report: dict[str, Any], writer: Any = None, figures: bool = True) -> Path:
    """report.json, report.md and (``figures``) the PNG figures, also logged to ``writer`` (a SummaryWriter)."""
    run_dir = Path(run_dir)
    atomic_write(run_dir / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write(run_dir / "report.md", render_markdown(report))
    if figures:
        write_figures(run_dir, report, writer)
    return run_dir / "report.json"


# --- regenerate from a run's logs --------------------------------------------------------------------
def rebuild(report: dict[str, Any]) -> dict[str, Any]:
    """A report rebuilt from a report.json's logged parts: matrix rows, names, counts and other sections."""
    logged = {k: v for k, v in report.items() if k not in COMPUTED}
    return build_report(**logged)


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


def report_from_tensorboard(run_dir: str | Path, skills: list[str] | None = None,
                            heldout: list[str] | None = None) -> dict[str, Any]:
    """The report from the run's TensorBoard scalars: ``stage/<benchmark>`` (step = row), ``probe/<group>/<stat>``,
    ``params/trainable``/``params/total``; names from config.yaml (or ``skills``/``heldout``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = Path(run_dir)
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags().get("scalars", [])

    def series(tag: str) -> dict[int, float]:
        return {e.step: float(e.value) for e in events.Scalars(tag)}  # a step logged twice: the last value wins

    config = _run_config(run_dir)
    data = config.get("data") or {}
    skills = list(skills or data.get("skills") or [])
    logged = [t[len("stage/"):] for t in tags if t.startswith("stage/") and t not in ("stage/step", "stage/lr")]
    if not logged:
        raise LmmclError(f"{run_dir} has neither report.json nor TensorBoard stage/<benchmark> scalars: "
                         f"is it a run directory (logs/<model>/<recipe>/version_<n>)?")
    if not skills:
        raise LmmclError(f"{run_dir} has no config.yaml naming the target skills in training order: pass them, "
                         f"e.g. lmmcl report {run_dir} --skills species count (logged benchmarks: {', '.join(logged)}).")
    heldout = list(heldout or data.get("heldout") or [b for b in logged if b not in skills])
    scores = {b: series(f"stage/{b}") for b in skills + heldout if b in logged}
    steps = sorted({step for values in scores.values() for step in values})
    names = {k: "base" if k == 0 else skills[k - 1] if k - 1 < len(skills) else f"stage{k}" for k in steps}
    stages = [{"name": names[k], "scores": {b: v[k] for b, v in scores.items() if k in v}} for k in steps]

    probe: dict[int, dict[str, dict[str, float]]] = {}
    for tag in tags:
        parts = tag.split("/")
        if len(parts) == 3 and parts[0] == "probe":
            for step, value in series(tag).items():
                probe.setdefault(step, {}).setdefault(parts[1], {})[parts[2]] = value
    counting_bias = [{"stage": names.get(k, f"stage{k}"), **groups} for k, groups in sorted(probe.items())
                     if {"target", "heldout"} <= set(groups)]

    def param(name: str) -> int:
        values = series(f"params/{name}") if f"params/{name}" in tags else {}
        return int(values[max(values)]) if values else 0

    model = (config.get("model") or {}).get("preset") or config.get("preset") or run_dir.parent.parent.name
    recipe = (config.get("recipe") or {}).get("name") or run_dir.parent.name
    return build_report(model, recipe, skills, heldout, stages, param("trainable"), param("total"),
                        counting_bias=counting_bias)


def load_run(run_dir: str | Path, from_tensorboard: bool = False, skills: list[str] | None = None,
             heldout: list[str] | None = None) -> dict[str, Any]:
    """A run's report, rebuilt from its report.json, or from its TensorBoard scalars when that is missing."""
    path = Path(run_dir) / "report.json"
    if path.exists() and not from_tensorboard:
        return rebuild(json.loads(path.read_text()))
    return report_from_tensorboard(run_dir, skills, heldout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory: logs/<model>/<recipe>/version_<n>")
    parser.add_argument("--from-tensorboard", action="store_true",
                        help="rebuild from the TensorBoard scalars even if report.json exists")
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
        path = write_report(run_dir, report, writer=writer)
    finally:
        if writer is not None:
            writer.close()
    print(render_markdown(report) + f"\n[lmmcl report] {path} (report.md, {', '.join(FIGURES)})")
    return 0
