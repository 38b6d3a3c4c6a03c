"""`lmmcl compare --train` with budgets and seeds, on fake runs: which runs it trains, what summary.json, summary.md,
frontier.png and claims.md hold."""

import json
from pathlib import Path

import pytest

from lmmcl.errors import LmmclError
from lmmcl.tools import compare, finish
from tests.conftest import option

SIZES = ["--model.lr", "1e-3", "--data.train_size", "320", "--data.batch_size", "32"]  # configured: 1e-3 x 10 steps
FORGETS = {"llm": 1.0, "sa_proj": 0.1, "mlp_gate_up": 0.5}  # share of what it learns that it forgets


def learning_grows_with_the_lr(args):
    learn = 10_000 * float(option(args, "--model.lr")) + int(option(args, "--data.seed"))  # 2.5, 10, 40 (+ seed)
    lost = FORGETS[option(args, "--recipe.name")] * learn
    return [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
            {"name": "count", "scores": {"count": 20.0 + learn, "color": 80.0 - lost}}]


def restore_writes(cli):
    """The restore analysis replaced: late MLPs give back 5 points, the rest 1 (sa_proj's MLPs: nothing)."""
    run = Path(cli.trainer.log_dir)
    frozen = json.loads((run / "report.json").read_text())["recipe"] == "sa_proj"

    def group(change, changed):
        return {"heldout_mean_change": change, "noncounting_mass_change": None, "changed_tensors": changed}

    result = {"groups": {"late_mlp": group(0.0 if frozen else 5.0, 0 if frozen else 4),
                         "late_attention": group(2.0, 8),
                         "early_mlp": group(0.0 if frozen else 1.0, 0 if frozen else 4)}}
    path = run / "restore.json"
    path.write_text(json.dumps(result))
    return {"path": str(path), "seconds": 0.5}


def test_every_recipe_trains_at_three_budgets_per_seed_and_is_judged_on_its_frontier(tmp_path, fake_fit, monkeypatch):
    fake_fit.stages = learning_grows_with_the_lr
    monkeypatch.setattr(finish, "restore_run", restore_writes)
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "llm", "sa_proj", "mlp_gate_up", "--seeds", "0", "1",
                         "--out", str(out), "--jobs", "1", "--", *SIZES]) == 0
    runs = [(option(c, "--recipe.name"), option(c, "--model.lr"), option(c, "--data.seed")) for c in fake_fit.calls]
    assert len(runs) == 18 and runs[:4] == [("llm", "0.00025", "0"), ("sa_proj", "0.00025", "0"),
                                            ("mlp_gate_up", "0.00025", "0"), ("llm", "1e-3", "0")]
    assert {r[1] for r in runs} == {"0.00025", "1e-3", "0.004"}  # LR x 0.25, 1 (the configured: no override), 4
    names = {option(c, "--trainer.logger.init_args.name") for c in fake_fit.calls}
    assert names == {None, "tiny/llm/lr2.5e-4_steps10", "tiny/llm/lr4e-3_steps10", "tiny/sa_proj/lr2.5e-4_steps10",
                     "tiny/sa_proj/lr4e-3_steps10", "tiny/mlp_gate_up/lr2.5e-4_steps10",
                     "tiny/mlp_gate_up/lr4e-3_steps10"}

    summary = json.loads((out / "summary.json").read_text())
    llm = summary["rows"][0]  # today's rows: the configured budget, means over seeds
    assert llm["recipe"] == "llm" and llm["learning"] == 10.5 and llm["learning_per_seed"] == [10.0, 11.0]
    assert summary["budget"] == {"lr": 1e-3, "steps": 10, "batch_size": 32} and len(summary["runs"]) == 6
    per_budget = [(p["lr"], p["learning"]) for p in summary["per_budget"]["llm"]]
    assert per_budget == [(2.5e-4, 3.0), (1e-3, 10.5), (4e-3, 40.5)]
    assert [v for p in summary["frontiers"]["sa_proj"] for v in p] == pytest.approx([3.0, 0.3, 10.5, 1.05, 40.5, 4.05])
    sa, gate_up = summary["matched"]["sa_proj"], summary["matched"]["mlp_gate_up"]
    assert sa["ratio"] == pytest.approx(0.1) and sa["ci95"]["ratio"] == pytest.approx([0.1, 0.1])
    assert gate_up["ratio"] == pytest.approx(0.5) and sa["overlap"] == pytest.approx([3.0, 40.5])
    assert summary["timeline"]["runs_trained"] == 18 and summary["timeline"]["restore_runs"] == 6
    assert len(list((tmp_path / "fake_runs").glob("*/restore.json"))) == 6  # the configured budget's runs only

    claims = json.loads((out / "claims.json").read_text())
    a = claims["a_narrow_recipes_learn_without_forgetting"]
    assert a["verdict"] == "not reproduced"
    assert a["per_recipe"]["sa_proj"]["ok"] and not a["per_recipe"]["mlp_gate_up"]["ok"]
    assert claims["d_late_mlps_cause_forgetting"]["verdict"] == "reproduced"
    md = (out / "summary.md").read_text()
    assert "## Time line" in md and "| sa_proj | +3.0 … +40.5 |" in md and "0.10 [0.10, 0.10]" in md
    assert (out / "frontier.png").stat().st_size > 1000 and (out / "claims.md").exists()


def test_a_dry_run_lists_the_runs_and_the_selection_seed_is_never_reported(tmp_path, fake_fit, capsys):
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "llm", "lora", "--seeds", "0", "--dry-run", "--out", str(out),
                         "--", *SIZES, "--model.recipe_lr", "{lora: 5e-5}"]) == 0
    printed = capsys.readouterr().out
    assert fake_fit.calls == [] and "llm at lr2.5e-4_steps10 / seed 0" in printed and "+ restore analysis" in printed
    assert "lora at" not in printed  # its own LR (model.recipe_lr): an LR budget would not change its run
    assert "configured budget LR 1e-3 x 10 steps" in printed and "4 runs: estimated" in printed
    with pytest.raises(LmmclError, match="selection seed"):
        compare.main(["--train", "--seeds", "0", "100", "--out", str(out)])
