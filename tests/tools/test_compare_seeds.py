import json

from lmmcl.tools import compare
from lmmcl.train import cli as train_cli
from lmmcl.report import build_report


def test_compare_with_seeds_trains_each_recipe_per_seed_and_writes_means_and_claims(tmp_path, monkeypatch):
    calls = []

    def fake_run(args):  # a run directory like `lmmcl fit` writes; learning depends on the seed
        calls.append(args)
        seed = int(args[args.index("--data.seed") + 1])
        recipe = args[args.index("--recipe.name") + 1]
        run = tmp_path / f"run{len(calls)}"
        run.mkdir()
        stages = [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
                  {"name": "count", "scores": {"count": 40.0 + seed, "color": 70.0}}]
        (run / "report.json").write_text(json.dumps(build_report("tiny", recipe, ["count"], ["color"], stages, 1, 2)))
        return type("CLI", (), {"trainer": type("T", (), {"log_dir": str(run)})})()

    monkeypatch.setattr(train_cli, "run", fake_run)
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "full", "sa_proj", "--seeds", "0", "2", "--out", str(out),
                         "--no-layers"]) == 0  # these fake runs have no model to measure
    assert [(c[c.index("--recipe.name") + 1], c[c.index("--seed_everything") + 1]) for c in calls] == [
        ("full", "0"), ("sa_proj", "0"), ("full", "2"), ("sa_proj", "2")]
    summary = json.loads((out / "summary.json").read_text())
    full = summary["rows"][0]
    assert full["recipe"] == "full" and full["learning"] == 21.0 and full["learning_per_seed"] == [20.0, 22.0]
    assert len(summary["runs"]) == 4 and {r["seed"] for r in summary["runs"]} == {0, 2}
    assert "+21.0 ± 1.4" in (out / "summary.md").read_text()
    claims = (out / "claims.md").read_text()
    assert "seeds: 0, 2" in claims and "not measured" in claims  # llm / mlp_gate_up missing: (a) cannot be judged
