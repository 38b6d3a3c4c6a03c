"""The README.md of an exported model (``lmmcl export``): what it is, how it was made and what it scored, from the
run's report.json and config.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmmcl.tables import markdown_table


def _score(value: float | None, signed: bool = False) -> str:
    return "-" if value is None else (f"{value:+.1f}" if signed else f"{value:.1f}")


def results_lines(report: dict[str, Any]) -> list[str]:
    """The accuracy after each stage and the summary, as Markdown."""
    columns = report["skills"] + report["heldout"]
    lines = ["## Scores after each stage (%)", "",
             *markdown_table(["after", *columns], [[row["name"], *(_score(row["scores"].get(c)) for c in columns)]
                                                   for row in report["stages"]]), ""]
    summary = report.get("summary") or {}
    lines += [f"- learning (each target skill right after its own stage, vs the base): "
              f"{_score(summary.get('learning'), True)} points",
              f"- held-out change after the last stage: {_score(summary.get('heldout_final'), True)} points",
              f"- held-out change averaged over stages: {_score(summary.get('heldout_mean'), True)} points", ""]
    if report.get("stopped"):
        lines += [f"Note: the run ended before its last stage ({report['stopped']['reason']}).", ""]
    return lines


def model_card(report: dict[str, Any] | None, config: dict[str, Any], run_dir: Path, checkpoint: Path, stage: str,
               dtype: str, done: list[str]) -> str:
    """README.md of an export of ``run_dir`` at ``checkpoint`` (after stage ``stage``)."""
    import yaml

    model = config.get("model") or {}
    data = config.get("data") or {}
    recipe = (config.get("recipe") or {}).get("name")
    base = model.get("model_path") or model.get("preset")
    baselines = (report or {}).get("baselines") or []
    lines = [f"# {model.get('preset')} / {'+'.join([str(recipe), *baselines])} after stage {stage!r}", "",
             f"A multimodal model tuned by lmmcl: the base model `{base}` (lmmcl preset `{model.get('preset')}`) "
             f"taught {len(data.get('skills') or [])} skills one after another with the recipe `{recipe}`"
             + (f" and the baselines {', '.join(baselines)}" if baselines else "") + ".", "",
             f"- stages, in training order: {', '.join(str(s) for s in data.get('skills') or [])}",
             f"- held-out benchmarks: {', '.join(str(s) for s in data.get('heldout') or []) or 'none'}",
             f"- exported from: `{checkpoint}` (the model after stage {stage!r})",
             f"- weights: safetensors, {dtype} (the base model's dtype)"
             + (f"; {'; '.join(done)}" if done else ""), "",
             "Load it with `transformers`:", "", "```python",
             "from transformers import AutoModelForImageTextToText, AutoProcessor",
             "model = AutoModelForImageTextToText.from_pretrained(PATH)",
             "processor = AutoProcessor.from_pretrained(PATH)", "```", ""]
    if report:
        lines += results_lines(report)
    lines += ["## The run's exact configuration", "", f"`lmmcl fit` config ({run_dir / 'config.yaml'}):", "",
              "```yaml", yaml.safe_dump(config, sort_keys=False).rstrip(), "```", ""]
    return "\n".join(lines)
