"""`lmmcl compare --select-lr`: the rule on hand-made rows, the refusals, the flow, and one real tiny run."""

import json
from pathlib import Path

import pytest
import yaml

from lmmcl.errors import LmmclError
from lmmcl.report import build_report
from lmmcl.tools import compare, lr_select
from lmmcl.train import cli as train_cli

GRID = [3e-4, 1e-3, 3e-3]
EXPERIMENTS = Path(__file__).resolve().parents[2] / "configs" / "experiment"
SMOKE = str(EXPERIMENTS / "smoke.yaml")


def selection_rows(learning: dict[tuple[str, float], float]) -> list[dict]:
    return [{"recipe": entry, "lr": lr, "learning": value} for (entry, lr), value in learning.items()]


def test_the_rule_takes_the_highest_mean_learning_over_the_paper_recipes_only():
    recipes = lr_select.rule_recipes(["full", "sa_proj", "mlp+lwf", "lora"], own_lr={"lora": 5e-5})
    assert recipes == ["full", "sa_proj"]  # no baseline, no entry with its own LR
    rows = selection_rows({("full", 3e-4): 2.0, ("full", 1e-3): 10.0, ("full", 3e-3): 4.0,
                           ("sa_proj", 3e-4): 4.0, ("sa_proj", 1e-3): 6.0, ("sa_proj", 3e-3): 14.0,
                           ("mlp+lwf", 3e-4): 90.0, ("mlp+lwf", 1e-3): 0.0, ("mlp+lwf", 3e-3): 0.0})
    scores = lr_select.scores(rows, GRID, recipes)
    assert scores == {3e-4: 3.0, 1e-3: 8.0, 3e-3: 9.0}  # the baseline's +90 at 3e-4 does not count
    assert lr_select.choose(scores) == 3e-3


def test_ties_go_to_the_lower_lr():
    assert lr_select.choose({3e-4: 5.0, 1e-3: 8.0, 3e-3: 8.0}) == 1e-3
    assert lr_select.choose({3e-4: 8.0, 1e-3: 8.0 + 1e-9, 3e-3: 2.0}) == 3e-4  # within TIE: a tie
    assert lr_select.choose({3e-4: 8.0, 1e-3: 8.01, 3e-3: 2.0}) == 1e-3
    assert lr_select.choose({lr: 0.0 for lr in GRID}) == 3e-4  # nothing learned anywhere: the smallest step


def test_the_rule_refuses_missing_numbers_and_entries_without_a_paper_recipe():
    with pytest.raises(LmmclError, match="no learning for sa_proj at LR 1e-3"):
        lr_select.scores(selection_rows({("sa_proj", 3e-4): 1.0, ("sa_proj", 1e-3): None}), GRID[:2], ["sa_proj"])
    with pytest.raises(LmmclError, match="none of them is among --recipes"):
        lr_select.rule_recipes(["mlp+lwf", "lora"], own_lr={})


def test_grid_and_neighbours():
    assert lr_select.check_grid([3e-3, 3e-4, 1e-3, 1e-3]) == GRID
    with pytest.raises(LmmclError, match="at least three"):
        lr_select.check_grid([1e-3, 3e-3])
    assert lr_select.neighbours(GRID, 1e-3) == (3e-4, 3e-3)
    assert lr_select.neighbours(GRID, 3e-3) == (1e-3, None)
    assert [lr_select.fmt_lr(x) for x in (3e-4, 1e-3, 2.5e-5, 0.01)] == ["3e-4", "1e-3", "2.5e-5", "1e-2"]


def never_trains(args):
    raise AssertionError(f"trained although the command should have been refused: {args}")


def test_the_selection_seed_is_refused_when_it_is_also_a_reported_seed(monkeypatch, tmp_path):
    monkeypatch.setattr(train_cli, "run", never_trains)
    base = ["--train", "--model", "tiny_scratch", "--recipes", "mlp", "--select-lr", "3e-4", "1e-3", "3e-3",
            "--out", str(tmp_path)]
    with pytest.raises(LmmclError, match="--selection-seed 100 is also in --seeds 0 100"):
        compare.main([*base, "--seeds", "0", "100"])
    with pytest.raises(LmmclError, match="--selection-seed 0 is the config's seed"):  # no --seeds: the config's 0
        compare.main([*base, "--selection-seed", "0"])
    with pytest.raises(LmmclError, match="sets --model.lr"):
        compare.main([*base, "--seeds", "0", "--", "--model.lr", "1e-3"])
    with pytest.raises(SystemExit):
        compare.main(["--select-lr", "3e-4", "1e-3", "3e-3"])  # without --train


def test_a_config_after_the_double_dash_cannot_reset_the_seed_compare_sets():
    config = lr_select.resolved("tiny_scratch", ["--config", str(EXPERIMENTS / "default.yaml")],
                                ["--seed_everything", "100", "--data.seed", "100"])
    assert (config["seed_everything"], config["data"]["seed"], config["model"]["preset"]) == (100, 100, "tiny_scratch")


def seed_and_lr(args):
    """A run's --data.seed and its last --model.lr (the one that takes effect; None: the config's)."""
    seed = int(args[args.index("--data.seed") + 1])
    if "--model.lr" not in args:
        return seed, None
    last_lr = len(args) - 1 - args[::-1].index("--model.lr")
    return seed, float(args[last_lr + 1])


@pytest.fixture
def fake_runs(monkeypatch, tmp_path):
    """``lmmcl fit`` replaced by a run directory whose learning depends on --model.lr (``learning_at``)."""
    calls, learning_at = [], {}

    def fake_run(args):
        calls.append(args)
        recipe, lr = args[args.index("--recipe.name") + 1], seed_and_lr(args)[1]
        run = tmp_path / f"run{len(calls)}"
        run.mkdir()
        stages = [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
                  {"name": "count", "scores": {"count": 20.0 + learning_at.get(lr, 0.0), "color": 70.0}}]
        (run / "report.json").write_text(json.dumps(build_report("tiny", recipe, ["count"], ["color"], stages, 1, 2)))
        return type("CLI", (), {"trainer": type("T", (), {"log_dir": str(run)})})()

    monkeypatch.setattr(train_cli, "run", fake_run)
    monkeypatch.setattr(compare, "measure_layers", lambda cli: None)  # these fake runs have no model to measure
    return calls, learning_at


def test_selection_runs_then_reported_runs_at_the_chosen_lr(fake_runs, tmp_path):
    calls, learning_at = fake_runs
    learning_at.update({3e-4: 5.0, 1e-3: 20.0, 3e-3: 10.0})
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "sa_proj", "lora", "--select-lr", "3e-3", "3e-4", "1e-3",
                         "--seeds", "0", "1", "--out", str(out), "--", "--model.recipe_lr", "{lora: 5.0e-5}"]) == 0
    trained = [(c[c.index("--recipe.name") + 1], *seed_and_lr(c)) for c in calls]
    assert trained[:3] == [("sa_proj", 100, 3e-4), ("sa_proj", 100, 1e-3), ("sa_proj", 100, 3e-3)]  # no lora: own LR
    assert trained[3:] == [("sa_proj", 0, 1e-3), ("lora", 0, 1e-3), ("sa_proj", 1, 1e-3), ("lora", 1, 1e-3)]
    selection = json.loads((out / "lr_selection.json").read_text())
    assert selection["chosen_lr"] == 1e-3 and selection["neighbours"] == {"lower": 3e-4, "upper": 3e-3}
    assert selection["own_lr"] == {"lora": 5e-5} and selection["rule_recipes"] == ["sa_proj"]
    assert selection["sensitivity"] == [{"recipe": "sa_proj", **{at: {"learning": v, "heldout_final": -10.0,
                                                                       "heldout_mean": -10.0}
                                                                  for at, v in (("lower", 5.0), ("chosen", 20.0),
                                                                                ("upper", 10.0))}}]
    md = (out / "lr_selection.md").read_text()
    assert "**Chosen: 1e-3**" in md and "| sa_proj | +5.0 / +20.0 / +10.0 |" in md and "lora 5e-5" in md
    assert "LR: 1e-3 for every entry; lora at its own 5e-5" in (out / "summary.md").read_text()
    assert [r["seed"] for r in json.loads((out / "summary.json").read_text())["runs"]] == [0, 0, 1, 1]


def test_a_chosen_lr_equal_to_the_configs_adds_nothing_so_resume_finds_the_runs_of_a_compare_without_selection(
        fake_runs, tmp_path):
    calls, learning_at = fake_runs
    learning_at.update({1e-4: 5.0, 3e-4: 20.0, 1e-3: 10.0})  # the default config's LR is 3e-4
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "mlp", "--seeds", "0", "--out", str(out)]) == 0
    without_selection = calls[-1]
    assert compare.main(["--train", "--recipes", "mlp", "--select-lr", "1e-4", "3e-4", "1e-3", "--seeds", "0",
                         "--out", str(out), "--resume"]) == 0
    assert [seed_and_lr(c)[0] for c in calls[1:]] == [100, 100, 100]  # the reported run was not trained again
    assert "--model.lr" not in without_selection
    assert json.loads((out / "lr_selection.json").read_text())["chosen_lr"] == 3e-4


def test_the_selection_runs_of_every_grid_lr_go_to_the_workers_as_one_pool(monkeypatch, tmp_path):
    """With --jobs 2 no worker waits for the last run of an LR before the next LR's runs start."""
    from lmmcl.tools import jobs

    pools = []

    def fake_pool(tasks, n_jobs, work_dir, on_done=None):
        pools.append([(t.extra["entry"], seed_and_lr(t.args)[1]) for t in tasks])
        for t in tasks:  # learning grows with the LR: the rule picks the grid's edge, so no reported run follows
            t.row = {"recipe": t.extra["entry"], "model": "tiny", "learning": 1e3 * seed_and_lr(t.args)[1],
                     "heldout_final": 0.0, "heldout_mean": 0.0, "run_dir": str(tmp_path)}
        return tasks

    monkeypatch.setattr(jobs, "run_parallel", fake_pool)
    monkeypatch.setattr(compare, "prepare", lambda args: True)
    with pytest.raises(LmmclError, match="the largest of the grid"):
        compare.main(["--train", "--recipes", "mlp", "sa_proj", "--select-lr", "1e-4", "3e-4", "1e-3", "--seeds", "0",
                      "--jobs", "2", "--out", str(tmp_path / "cmp")])
    assert pools == [[("mlp", 1e-4), ("sa_proj", 1e-4), ("mlp", 3e-4), ("sa_proj", 3e-4), ("mlp", 1e-3),
                      ("sa_proj", 1e-3)]]


def test_a_choice_at_the_grid_edge_is_refused_before_the_reported_runs(fake_runs, tmp_path):
    calls, learning_at = fake_runs
    learning_at.update({3e-4: 5.0, 1e-3: 10.0, 3e-3: 20.0})
    out = tmp_path / "cmp"
    with pytest.raises(LmmclError, match=r"chose LR 3e-3, the largest of the grid.*add 9e-3 to --select-lr"):
        compare.main(["--train", "--recipes", "mlp", "--select-lr", *map(str, GRID), "--seeds", "0", "--out", str(out)])
    assert {seed_and_lr(c)[0] for c in calls} == {100}  # no reported run
    selection = json.loads((out / "lr_selection.json").read_text())
    assert selection["status"].startswith("refused") and selection["neighbours"] == {"lower": 1e-3, "upper": None}
    assert not (out / "summary.json").exists()


def test_a_real_tiny_run_writes_the_selection_and_trains_the_reported_seed_at_the_chosen_lr(
        monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # logs/ of the runs
    monkeypatch.setattr(lr_select, "choose", lambda scores: sorted(scores)[1])  # the rule is tested above
    overrides = ["--config", SMOKE, "--data.train_size", "8", "--data.batch_size", "4", "--data.test_size", "4",
                 "--data.heldout", "[color]", "--trainer.callbacks", "[]", "--drift.enabled", "false",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    assert compare.main(["--train", "--model", "tiny_scratch", "--recipes", "mlp", "--select-lr", "1e-3", "1e-2",
                         "1e-1", "--seeds", "0", "--out", "cmp", "--", *overrides]) == 0
    selection = json.loads((tmp_path / "cmp" / "lr_selection.json").read_text())
    assert selection["grid"] == [1e-3, 1e-2, 1e-1] and selection["chosen_lr"] == 1e-2
    assert selection["neighbours"] == {"lower": 1e-3, "upper": 1e-1}
    assert [s["lower"] is not None and s["upper"] is not None for s in selection["sensitivity"]] == [True]
    configs = {(r["lr"], r["seed"]): yaml.safe_load((Path(r["run_dir"]) / "config.yaml").read_text())
               for r in selection["rows"]}
    assert {(c["model"]["lr"], c["seed_everything"], c["data"]["seed"]) for c in configs.values()} == {
        (1e-3, 100, 100), (1e-2, 100, 100), (1e-1, 100, 100)}
    [run] = json.loads((tmp_path / "cmp" / "summary.json").read_text())["runs"]
    reported = yaml.safe_load((Path(run["run_dir"]) / "config.yaml").read_text())
    assert (reported["model"]["lr"], reported["seed_everything"], reported["data"]["seed"]) == (1e-2, 0, 0)
    assert "[lr_selection.md](lr_selection.md)" in (tmp_path / "cmp" / "summary.md").read_text()
