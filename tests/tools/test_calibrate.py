"""`lmmcl calibrate`: the rule on hand-made points, and the grid trained on fake runs."""

import json

import pytest

from lmmcl.errors import LmmclError
from lmmcl.tools import calibrate
from tests.conftest import option


def point(lr, steps, learning, heldout_final):
    return {"lr": lr, "steps": steps, "learning": learning, "heldout_final": heldout_final}


def test_the_rule_takes_the_nearest_point_to_the_papers_control_row():
    far, near = point(1e-5, 300, 20.0, -10.0), point(3e-5, 600, 32.0, -23.0)
    assert calibrate.distance(near) == pytest.approx(0.3606, abs=1e-4)  # hypot(0.2, 0.3)
    assert calibrate.pick([far, near]) is near
    # the same distance on fewer steps at a higher LR: fewer steps win
    tie = point(1e-4, 300, 31.5, -23.5)
    assert calibrate.distance(tie) == pytest.approx(calibrate.distance(near))
    assert calibrate.pick([far, near, tie]) is tie
    # within 0.5 on the same steps: the lower LR; 0.6 apart: the nearer
    low, high = point(1e-5, 300, 31.8, -22.3), point(3e-5, 300, 31.8, -22.0)  # distances 1.0 and 1.3
    assert calibrate.pick([high, low]) is low and calibrate.pick([point(1e-5, 300, 31.8, -21.4), high]) is high
    with pytest.raises(LmmclError, match="no grid point finished"):
        calibrate.pick([])


def test_a_pick_on_the_lr_grids_edge_says_so_with_the_lr_to_add():
    assert calibrate.edge([1e-5, 3e-5, 1e-4], 3e-5) is None
    grid = [1e-5, 3e-5, 1e-4]
    assert calibrate.edge(grid, 1e-4) == "the pick is the grid's highest LR: add 3.333e-4 and calibrate again"
    assert calibrate.edge(grid, 1e-5) == "the pick is the grid's lowest LR: add 3.333e-6 and calibrate again"
    assert "one LR" in calibrate.edge([3e-5], 3e-5)


def lost_three_quarters(args):
    lr, steps = float(option(args, "--model.lr")), int(option(args, "--data.train_size")) // 4
    learn = {1e-5: 10.0, 3e-5: 30.0, 1e-4: 60.0}[lr] * steps / 3
    return [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
            {"name": "count", "scores": {"count": 20.0 + learn, "color": 80.0 - 0.75 * learn}}]


def test_the_grid_trains_the_control_on_the_selection_seed_and_writes_the_pick(tmp_path, fake_fit, capsys):
    fake_fit.stages = lost_three_quarters
    out = tmp_path / "cal"
    assert calibrate.main(["--lrs", "1e-5", "3e-5", "1e-4", "--steps", "3", "6", "--out", str(out), "--jobs", "1",
                           "--", "--data.batch_size", "4"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("rule: the grid point whose") < printed.index("pick: LR 3e-5, 3 steps")  # the rule first
    assert "model:\n  lr: 0.00003\ndata:\n  train_size: 12   # 3 steps per stage x batch 4" in printed
    calls = fake_fit.calls
    assert len(calls) == 6 and {option(c, "--recipe.name") for c in calls} == {"llm"}
    assert {(option(c, "--seed_everything"), option(c, "--data.seed")) for c in calls} == {("100", "100")}
    assert sorted((float(option(c, "--model.lr")), option(c, "--data.train_size")) for c in calls)[:2] == [
        (1e-5, "12"), (1e-5, "24")]  # steps x batch 4
    assert len({option(c, "--trainer.logger.init_args.name") for c in calls}) == 6  # a folder each: no waiting
    result = json.loads((out / "calibration.json").read_text())
    assert (result["pick"]["lr"], result["pick"]["steps"]) == (3e-5, 3) and result["edge"] is None
    chosen = result["pick"]
    assert chosen["learning"] == 30.0 and chosen["heldout_final"] == -22.5 and chosen["heldout_after_stage"] == [-22.5]
    assert chosen["target_after_own_stage"] == {"count": 50.0}
    assert chosen["base_scores"] == {"count": 20.0, "color": 80.0}
    assert len(result["points"]) == 6 and result["rule"] == calibrate.RULE
    md = (out / "calibration.md").read_text()
    assert "| 3e-5 | +30.0 **(pick)** | +60.0 |" in md and "## Held-out final (points)" in md


def test_calibrate_refuses_options_it_sets_itself_and_a_dry_run_trains_nothing(tmp_path, fake_fit, capsys):
    with pytest.raises(LmmclError, match="sets --model.lr of every run itself"):
        calibrate.main(["--lrs", "1e-5", "--steps", "3", "--out", str(tmp_path), "--", "--model.lr", "1e-3"])
    assert calibrate.main(["--lrs", "1e-5", "3e-5", "--steps", "3", "--dry-run", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert fake_fit.calls == [] and "2 runs of llm on seed 100" in printed and "2 runs: estimated" in printed
