"""Forward transfer and held-out recovery from a hand-made accuracy matrix."""

import pytest

from lmmcl.eval.transfer import render_transfer, transfer_metrics
from lmmcl.report import build_report, render_markdown


def _row(name, a, b, h):
    return {"name": name, "scores": {"a": a, "b": b, "h": h}}


STAGES = [_row("base", 10, 20, 80), _row("a", 90, 30, 60), _row("b", 70, 95, 70)]


def test_forward_transfer_and_recovery_follow_their_definitions():
    t = transfer_metrics(["a", "b"], ["h"], STAGES)
    assert t["forward_transfer"] == {"b": 10}                    # b: 30 before its stage vs 20 at base; a: none
    assert t["heldout_drop"] == {"1:a": 20, "2:b": -10}
    assert t["heldout_recovery"] == {"1:a": pytest.approx(0.5)}  # 10 of the 20 points given back by the end
    assert t["heldout_recovery_mean"] == pytest.approx(0.5)


def test_report_recomputes_and_renders_the_section():
    report = build_report("tiny", "mlp", ["a", "b"], ["h"], STAGES, 1, 2, transfer={"stale": True})
    assert report["transfer"] == transfer_metrics(["a", "b"], ["h"], STAGES)
    assert "| 1:a | +20.0 | 0.50 |" in render_markdown(report)
    assert render_transfer(build_report("tiny", "mlp", ["a"], ["h"], STAGES[:1], 1, 2)) == []
