"""A run that ends before its last stage: why, which stages did not train, and whether the stop was asked for.

Stops a run's own config asks for end it with exit code 0: ``trainer.max_time`` (the whole stage loop's time) and
the drift monitor's ``action: stop``. Anything else that ends the stage loop early is not: Ctrl-C (Lightning
exits 1), or a callback setting ``trainer.should_stop`` (``lmmcl fit`` exits 2). Either way the report says which
stages did not train (report.json ``stopped``, a warning at the top of report.md), and the checkpoints of the
stages that finished are kept; a stage cut short is neither evaluated nor checkpointed.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Trainer


def stop_reason(trainer: Trainer, extras: dict[str, Any]) -> tuple[str, bool]:
    """(why the stage loop ended early, whether the run's config asked for it)."""
    from lightning.pytorch.callbacks import Timer

    from lmmcl.eval.drift import DriftMonitor

    for callback in trainer.callbacks:
        if isinstance(callback, Timer):
            remaining = callback.time_remaining()
            if remaining is not None and remaining <= 0:
                return f"the time limit trainer.max_time ({callback._duration:g} s of stage loop) was reached", True
        if isinstance(callback, DriftMonitor) and callback.action == "stop" and any(
                curve.get("flagged_at") is not None for curve in extras.get("drift") or []):
            return f"the drift monitor stopped it (KL above drift.max_kl={callback.max_kl}, drift.action stop)", True
    return "trainer.should_stop was set by a callback", False


def stopped_entry(reason: str, asked: bool, skills: list[str], completed: list[str],
                  cut_short: dict[str, Any] | None) -> dict[str, Any]:
    """report.json's ``stopped``: the reason, whether it was asked for, the stage cut short (its name, trained and
    planned batches) and every stage that did not train at all."""
    cut = cut_short["stage"] if cut_short else None
    return {"reason": reason, "asked": asked, "cut_short": cut_short,
            "untrained": [s for s in skills[len(completed):] if s != cut]}
