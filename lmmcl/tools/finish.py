"""A finished run's summary row, and what is measured right after it in the process that trained it.

:func:`row_from_run` reads a run directory's report.json (any run, trained now or long ago). :func:`finish_run` is
called with the LightningCLI object of a run that has just trained, in that run's process (``lmmcl compare`` and
``lmmcl calibrate`` in this process, or a ``--jobs`` worker, :mod:`lmmcl.tools.jobs`): it adds the run's time by
phase (:class:`lmmcl.train.perf.PhaseTimer`) and, where asked, runs the restore analysis on the weights still in
memory (:mod:`lmmcl.eval.restore`: no checkpoint read again, no second process).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

PHASE_TIMER = "--trainer.callbacks+=lmmcl.train.perf.PhaseTimer"  # what a pool adds to every run


def row_from_run(run_dir: str | Path, wall_time_s: float | None = None) -> dict[str, Any]:
    """The summary row of a run directory: its label (recipe + baselines), model, summary metrics, parameters."""
    run_dir = Path(run_dir)
    report_path = run_dir / "report.json"
    if not report_path.exists():
        raise FileNotFoundError(f"{run_dir} has no report.json: is it a run directory "
                                "(logs/<model>/<recipe>/version_<n>)?")
    report = json.loads(report_path.read_text())
    if wall_time_s is None:
        wall_time_s = report.get("wall_time_s")
    if "baselines" in report:
        label = "+".join([report["recipe"], *report["baselines"]])
    else:  # reports rebuilt from TensorBoard events: the baselines are in the run's config.yaml
        label = run_label(run_dir, report["recipe"])
    return {"recipe": label, "model": report["model"], **report["summary"],
            "trainable_params": report["trainable_params"], "total_params": report["total_params"],
            "wall_time_s": wall_time_s, "run_dir": str(run_dir)}


def run_label(run_dir: Path, recipe: str) -> str:
    """The recipe plus the baselines among the run's callbacks (its config.yaml), e.g. ``mlp_gate_up+lwf``."""
    from lmmcl.train.baseline_registry import baseline_names
    from lmmcl.yamlfile import load_yaml

    config = run_dir / "config.yaml"
    if not config.exists():
        return recipe
    callbacks = ((load_yaml(config) or {}).get("trainer") or {}).get("callbacks") or []
    classes = [c.get("class_path", "").rpartition(".")[2] for c in callbacks if isinstance(c, dict)]
    return "+".join([recipe, *baseline_names(classes)])


def restore_run(cli: Any) -> dict[str, Any]:
    """The restore analysis of the run ``cli`` has just trained, into its directory's restore.json: what its row
    records (the file, the seconds; or why it was not measured). A failure is reported, not raised (raised under
    ``LMMCL_DEBUG=1``): the run itself succeeded and its row counts."""
    from lmmcl.eval.probe import CountingBiasProbe
    from lmmcl.eval.restore import restore_analysis, write_restore
    from lmmcl.failures import debug, paragraph
    from lmmcl.models import load_model

    trainer, module = cli.trainer, cli.model
    if trainer.world_size > 1:  # a sharded model is not whole on one process: lmmcl restore on its checkpoint
        return {"error": f"ran on {trainer.world_size} processes: run lmmcl restore on its directory"}
    start = time.time()
    try:
        hparams = module.hparams
        base, _, _ = load_model(hparams.preset, hparams.get("model_path"), hparams.get("dtype"))
        probe = next((cb for cb in trainer.callbacks if isinstance(cb, CountingBiasProbe)), None)
        result = restore_analysis(module, base, cli.datamodule.heldout, probe)
        path = write_restore(trainer.log_dir, result)
    except Exception as err:  # reported; the run's row must not be lost to it
        if debug():
            raise
        message = paragraph(err, "lmmcl restore")
        print(f"[lmmcl] restore analysis not measured for {trainer.log_dir}: {message}")
        return {"error": message}
    print(f"[lmmcl] restore analysis: {path}")
    return {"path": str(path), "seconds": round(time.time() - start, 2)}


def finish_run(cli: Any, wall_time_s: float, restore: bool) -> dict[str, Any]:
    """The summary row of the run ``cli`` has just trained (its wall time: the training alone), with its time by
    phase and, with ``restore``, its restore analysis."""
    from lmmcl.train.perf import PhaseTimer

    row = row_from_run(cli.trainer.log_dir, wall_time_s=wall_time_s)
    timer = next((cb for cb in cli.trainer.callbacks if isinstance(cb, PhaseTimer)), None)
    if timer is not None:
        row["phases"] = timer.summary()
    if restore:
        row["restore"] = restore_run(cli)
    return row
