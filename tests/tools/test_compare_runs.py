"""How lmmcl compare runs its entries: one base-row cache shared by every run; the overrides never replace an
entry's own recipe, model, seed or baselines."""

import json

from lmmcl.tools import compare
from lmmcl.train import cli as train_cli


def fake_runs(tmp_path, monkeypatch):
    """Replace lmmcl fit by a fake that writes a report and records its arguments."""
    from lmmcl.report import build_report

    calls = []

    def fake_run(args):
        calls.append(args)
        run = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
        run.mkdir()
        stages = [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
                  {"name": "count", "scores": {"count": 40.0, "color": 70.0}}]
        recipe = args[args.index("--recipe.name") + 1]
        (run / "report.json").write_text(json.dumps(build_report("tiny", recipe, ["count"], ["color"], stages, 1, 2)))
        return type("CLI", (), {"trainer": type("T", (), {"log_dir": str(run)})})()

    monkeypatch.setattr(train_cli, "run", fake_run)
    return calls


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def test_every_run_of_a_compare_shares_one_base_row_cache_unless_told_not_to(tmp_path, monkeypatch):
    calls = fake_runs(tmp_path, monkeypatch)
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "full", "mlp+lwf", "--seeds", "0", "1", "--out", str(out),
                         "--", "--data.train_size", "8"]) == 0
    assert {option(c, "--stages.base_cache") for c in calls} == {str(out / "base_rows")}
    calls.clear()
    assert compare.main(["--train", "--recipes", "full", "--out", str(out), "--no-base-cache"]) == 0
    assert option(calls[0], "--stages.base_cache") is None


def test_a_config_among_the_overrides_cannot_replace_an_entrys_recipe_or_drop_its_baselines(tmp_path, monkeypatch,
                                                                                           cli_fit_args):
    calls = fake_runs(tmp_path, monkeypatch)
    # cli_fit_args holds --config default.yaml (recipe mlp_gate_up, preset tiny) and --trainer.callbacks []
    assert compare.main(["--train", "--model", "tiny_scratch", "--recipes", "sa_proj+lwf", "--seeds", "3",
                         "--out", str(tmp_path / "cmp"), "--", *cli_fit_args[1:]]) == 0
    from lmmcl.train.cli import resolve

    config = resolve(calls[0])
    assert config["recipe"]["name"] == "sa_proj" and config["model"]["preset"] == "tiny_scratch"
    assert config["seed_everything"] == 3 and config["data"]["seed"] == 3
    assert [c["class_path"].rpartition(".")[2] for c in config["trainer"]["callbacks"]] == ["LwF"]
