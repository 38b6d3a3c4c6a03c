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
    assert t["heldout_recovery"] == {"1:a": pytest.approx(0.5)}  # 10 of the 20 points given back later
    assert t["heldout_recovery_mean"] == pytest.approx(0.5)


def test_recovery_counts_what_any_later_stage_gave_back_not_only_the_last():
    from lmmcl.eval.transfer import recovery_shares

    # 80 -> 60 (drop 20) -> 75 (gave 15 back) -> 50 (a new drop of 25) -> 55: by the end the first drop looks
    # worse than unrecovered (-0.5); at its best later stage three quarters of it came back
    assert recovery_shares([80, 60, 75, 50, 55]) == {1: 0.75, 3: 0.2}
    assert recovery_shares([80, 79.5, 70, 60.5]) == {2: -1.0}  # 0.5 is under the 1-point minimum; 2 only fell further
    assert recovery_shares([80, 60]) == {}  # the last stage has no later stage
    t = transfer_metrics(["a", "b", "c"], ["h"], [_row("base", 0, 0, 80), _row("a", 0, 0, 60), _row("b", 0, 0, 75),
                                                    _row("c", 0, 0, 50)])
    assert t["heldout_recovery"] == {"1:a": pytest.approx(0.75)}


def test_report_recomputes_and_renders_the_section():
    report = build_report("tiny", "mlp", ["a", "b"], ["h"], STAGES, 1, 2, transfer={"stale": True})
    assert report["transfer"] == transfer_metrics(["a", "b"], ["h"], STAGES)
    assert "| 1:a | +20.0 | 0.50 |" in render_markdown(report)
    assert render_transfer(build_report("tiny", "mlp", ["a"], ["h"], STAGES[:1], 1, 2)) == []
