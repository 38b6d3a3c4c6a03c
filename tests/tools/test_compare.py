import json

from lmmcl.report import build_report
from lmmcl.tools.compare import main
from lmmcl.tools.finish import row_from_run


def _run(tmp_path, recipe, after):
    run = tmp_path / recipe / "version_0"
    run.mkdir(parents=True)
    stages = [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
              {"name": "count", "scores": {"count": 20.0 + after[0], "color": 80.0 + after[1]}}]
    report = build_report("tiny", recipe, ["count"], ["color"], stages, 10, 100)
    (run / "report.json").write_text(json.dumps(report))
    return run


def test_compare_existing_runs_writes_summary_and_scatter(tmp_path, capsys):
    runs = [_run(tmp_path, "full", (40.0, -30.0)), _run(tmp_path, "sa_proj", (25.0, -1.0))]
    out = tmp_path / "cmp"
    assert main([str(r) for r in runs] + ["--out", str(out)]) == 0
    assert "drift vs forgetting" in capsys.readouterr().out  # these runs have no drift curves: n = 0
    assert json.loads((out / "drift_correlation.json").read_text())["kl_end"]["n"] == 0
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["recipe"] for r in rows] == ["full", "sa_proj"]
    assert rows[0]["learning"] == 40.0 and rows[0]["heldout_final"] == -30.0
    assert (out / "learning_vs_forgetting.png").stat().st_size > 1000
    assert "| sa_proj | +25.0 | -1.0 |" in (out / "summary.md").read_text()
    assert any(p.name.startswith("events.out.tfevents") for p in out.iterdir())


def test_a_directory_without_report_is_a_clear_error(tmp_path):
    try:
        row_from_run(tmp_path)
    except FileNotFoundError as err:
        assert "report.json" in str(err)
    else:
        raise AssertionError("expected an error")
