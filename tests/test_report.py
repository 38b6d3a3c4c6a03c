"""The report: continual-learning metrics on a hand-made matrix, Markdown, figures, and `lmmcl report RUN_DIR`."""

import json

import pytest
import yaml

from lmmcl.errors import LmmclError
from lmmcl.report import build_report, cl_metrics, main, render_markdown, write_report

SKILLS, HELDOUT = ["a", "b", "c"], ["h"]
# rows: after which stage; a, b, c trained in that order; h held out
MATRIX = [("base", {"a": 10.0, "b": 20.0, "c": 30.0, "h": 50.0}),
          ("a", {"a": 80.0, "b": 20.0, "c": 30.0, "h": 45.0}),
          ("b", {"a": 60.0, "b": 90.0, "c": 30.0, "h": 40.0}),
          ("c", {"a": 70.0, "b": 50.0, "c": 85.0, "h": 42.0})]
STAGES = [{"name": name, "scores": scores} for name, scores in MATRIX]
BIAS = [{"stage": name, "target": {"mass_mean": 0.5 + 0.1 * k, "mass_std": 0.05},
         "heldout": {"mass_mean": 0.1 * k, "mass_std": 0.02}} for k, (name, _) in enumerate(MATRIX)]


def test_cl_metrics_on_a_hand_made_matrix():
    cl = cl_metrics(SKILLS, HELDOUT, STAGES)
    assert cl["mft"] == pytest.approx((80 + 90 + 85) / 3)               # right after each skill's own stage
    assert cl["mfn"] == pytest.approx((70 + 50 + 85) / 3)               # after the last stage
    assert cl["maa"] == pytest.approx((80 + (60 + 90) / 2 + (70 + 50 + 85) / 3) / 3)  # skills seen so far
    assert cl["bwt"] == pytest.approx(((70 - 80) + (50 - 90)) / 2)      # all but the last skill
    assert cl["forgetting"] == pytest.approx({"a": 80 - 70, "b": 90 - 50})  # best after learning - final
    assert cl["forgetting_mean"] == pytest.approx(25.0)
    assert cl["learning"] == pytest.approx({"a": 70.0, "b": 70.0, "c": 55.0})
    assert cl["heldout_change"] == pytest.approx({"h": -8.0})
    summary = build_report("m", "r", SKILLS, HELDOUT, STAGES, 1, 2)["summary"]
    assert summary["learning"] == pytest.approx(65.0)                 # the mean of cl["learning"]
    assert summary["heldout_final"] == pytest.approx(-8.0)
    assert summary["heldout_mean"] == pytest.approx((-5 - 10 - 8) / 3)


def test_cl_metrics_of_partial_runs():
    assert cl_metrics(SKILLS, HELDOUT, STAGES[:1])["mft"] is None      # base only
    one = cl_metrics(SKILLS, HELDOUT, STAGES[:2])
    assert one["mft"] == one["mfn"] == one["maa"] == 80.0
    assert one["bwt"] is None and one["forgetting"] == {} and one["forgetting_mean"] is None
    # a drop then a partial recovery: forgetting is measured from the best score after learning
    two = cl_metrics(["a", "b", "c"], [], STAGES[:1] + [STAGES[1], STAGES[2],
                                                         {"name": "c", "scores": {**STAGES[3]["scores"], "a": 65.0}}])
    assert two["forgetting"]["a"] == pytest.approx(80 - 65)


def test_markdown_shows_the_metrics_readably():
    text = render_markdown(build_report("m", "r", SKILLS, HELDOUT, STAGES, 1, 2, counting_bias=BIAS))
    assert text.startswith("# lmmcl report: m / r")
    assert "- MFT, mean score right after its own stage: 85.0" in text
    assert "- BWT, final minus right-after (earlier skills): -25.0" in text
    assert "| a | 10.0 | 80.0 | 70.0 | +70.0 | 10.0 |" in text           # skill, base, own stage, final, ...
    assert "| c | 30.0 | 85.0 | 85.0 | +55.0 | - |" in text
    assert "| h | 50.0 | 42.0 | -8.0 |" in text
    assert "| a | 0.600 ± 0.050 | 0.100 ± 0.020 |" in text
    assert max(len(line) for line in text.splitlines()) < 120          # fits a terminal


def test_figures_go_to_the_run_dir_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as writer:
        report = build_report("m", "r", SKILLS, HELDOUT, STAGES, 1, 2, counting_bias=BIAS)
        write_report(tmp_path, report, loggers=[writer])
    assert (tmp_path / "accuracy_matrix.png").stat().st_size > 0 and (tmp_path / "counting_bias.png").stat().st_size > 0
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0})
    events.Reload()
    assert set(events.Tags()["images"]) == {"report/accuracy_matrix", "report/counting_bias"}
    assert [e.step for e in events.Images("report/accuracy_matrix")] == [3]  # the last row's index


def logged_run(run_dir, config: bool = True):
    """A run directory as training leaves it: TensorBoard scalars and LightningCLI's config.yaml, no report."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run_dir)) as writer:
        writer.add_scalar("params/trainable", 1000, 0)
        writer.add_scalar("params/total", 4000, 0)
        for step, (_, scores) in enumerate(MATRIX):
            for name, value in scores.items():
                writer.add_scalar(f"stage/{name}", value, step)
            writer.add_scalar("stage/step", 3.0, step)  # a training curve that shares the prefix, not a benchmark
            for group in ("target", "heldout"):
                for stat, value in BIAS[step][group].items():
                    writer.add_scalar(f"probe/{group}/{stat}", value, step)
    if config:
        (run_dir / "config.yaml").write_text(yaml.safe_dump({"model": {"preset": "tiny"}, "recipe": {"name": "sa_proj"},
                                                             "data": {"skills": SKILLS, "heldout": HELDOUT}}))


def test_report_cli_rebuilds_from_tensorboard(tmp_path):
    run = tmp_path / "tiny" / "sa_proj" / "version_0"
    run.mkdir(parents=True)
    logged_run(run)
    assert main([str(run)]) == 0
    report = json.loads((run / "report.json").read_text())
    expected = build_report("tiny", "sa_proj", SKILLS, HELDOUT, STAGES, 1000, 4000, counting_bias=BIAS)
    bias = report.pop("counting_bias")  # TensorBoard keeps float32
    assert [e["stage"] for e in bias] == [e["stage"] for e in BIAS]
    for got, want in zip(bias, expected.pop("counting_bias")):
        assert got["target"] == pytest.approx(want["target"]) and got["heldout"] == pytest.approx(want["heldout"])
    assert report == expected
    assert all((run / name).exists() for name in ("report.md", "accuracy_matrix.png", "counting_bias.png"))


def test_report_cli_rebuilds_from_report_json_keeping_other_sections(tmp_path):
    stale = build_report("m", "r", SKILLS, HELDOUT, STAGES, 1, 2, counting_bias=BIAS, wall_time_s=12.5)
    stale["cl_metrics"] = {"mft": -1}  # computed sections are recomputed from the matrix
    (tmp_path / "report.json").write_text(json.dumps(stale))
    assert main([str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["cl_metrics"]["mft"] == pytest.approx(85.0)
    assert report["wall_time_s"] == 12.5 and report["counting_bias"] == BIAS
    assert (tmp_path / "report.md").read_text() == render_markdown(report)


def test_report_cli_says_what_is_missing(tmp_path, capsys):
    logged_run(tmp_path, config=False)
    with pytest.raises(LmmclError, match="--skills"):  # lmmcl.cli prints it as one paragraph, exit 2
        main([str(tmp_path)])
    assert main([str(tmp_path), "--skills", *SKILLS]) == 0  # held-out: every other logged benchmark
    assert json.loads((tmp_path / "report.json").read_text())["heldout"] == HELDOUT
    with pytest.raises(LmmclError, match="nowhere is not a directory"):
        main([str(tmp_path / "nowhere")])
