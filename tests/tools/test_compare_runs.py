"""How lmmcl compare runs its entries: one base-row cache shared by every run; each run's layer contribution measured
once it has trained (not with --no-layers); the overrides never replace an entry's own recipe, model, seed or
baselines; --jobs N (parallel single-thread runs) gives the serial compare's results and layer contributions, with a
failing entry reported and the others kept."""

import json
from pathlib import Path

from lmmcl.tools import compare
from lmmcl.tools.jobs import Task, run_parallel
from lmmcl.train import cli as train_cli


def fake_runs(tmp_path, monkeypatch, measured=None):
    """Replace lmmcl fit, the row read from its report, the layer measurement (the run directories it was called
    for go into ``measured``) and the summary by fakes; the runs' arguments are recorded."""
    from types import SimpleNamespace

    calls = []
    monkeypatch.setattr(train_cli, "run", lambda args: calls.append(args) or SimpleNamespace(
        trainer=SimpleNamespace(log_dir=str(tmp_path / f"run{len(calls)}"))))
    monkeypatch.setattr(compare, "measure_layers", lambda cli: (measured if measured is not None else []).append(
        cli.trainer.log_dir))
    monkeypatch.setattr(compare, "row_from_run", lambda run_dir, wall_time_s=None: {
        "model": "tiny", "learning": 1.0, "heldout_final": -1.0, "heldout_mean": -1.0, "trainable_params": 1,
        "total_params": 2, "wall_time_s": wall_time_s, "run_dir": run_dir})
    monkeypatch.setattr(compare, "write_summary", lambda out_dir, rows, runs=None: Path(out_dir) / "summary.md")
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


def test_every_run_is_measured_for_layer_contribution_unless_told_not_to(tmp_path, monkeypatch):
    measured = []
    calls = fake_runs(tmp_path, monkeypatch, measured)
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "full", "sa_proj", "--seeds", "0", "1", "--out", str(out)]) == 0
    assert measured == [str(tmp_path / f"run{k}") for k in range(1, 5)]  # each run once it has trained
    measured.clear()
    assert compare.main(["--train", "--recipes", "full", "--out", str(out), "--no-layers"]) == 0
    assert len(calls) == 5 and measured == []
    tasks = compare.compare_tasks("tiny", ["full"], [], [0], layers=True)  # a --jobs worker is told to measure
    assert tasks[0].layers and tasks[0].args[0] == "fit"


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


def test_parallel_runs_never_share_a_log_folder_and_keep_the_serial_order(tmp_path, monkeypatch):
    import subprocess

    started, running = [], set()

    class FakeProcess:  # a run that ends at its second poll, writing its row
        def __init__(self, command, **kwargs):
            self.result, self.label, self.polls, self.returncode = Path(command[3]), command[-1], 0, None
            started.append((self.label, set(running)))
            running.add(self.label)

        def poll(self):
            self.polls += 1
            if self.polls < 2:
                return None
            running.discard(self.label)
            self.result.write_text(json.dumps({"label": self.label}))
            self.returncode = 0
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    tasks = [Task(f"{e} / seed {s}", ["fit", f"{e}-{s}"], folder=e) for s in (0, 1) for e in ("a", "b", "c")]
    tasks.insert(1, Task("a / seed 9", ["fit", "a-9"], folder="a"))  # the first one's folder: must wait for it
    run_parallel(tasks, jobs=3, work_dir=tmp_path, poll_s=0)
    assert [t.row["label"] for t in tasks] == [t.args[-1] for t in tasks]  # every row, in the given order
    for label, others in started:
        assert label[0] not in {o[0] for o in others}  # never two runs of one folder at once
    assert max(len(others) for _, others in started) == 2  # otherwise three at once
    assert [label for label, _ in started if label[0] == "a"] == ["a-0", "a-9", "a-1"]  # one folder: in order


def test_jobs_give_the_serial_results_and_report_a_failing_entry(tmp_path, cli_fit_args, capsys):
    overrides = [*cli_fit_args[1:], "--data.heldout", "[color, caption]"]

    def compare_run(name, *options):
        out = tmp_path / name
        code = compare.main(["--train", "--model", "tiny_scratch", *options, "--out", str(out / "cmp"), "--",
                             *overrides, "--trainer.logger.init_args.save_dir", str(out / "logs")])
        rows = json.loads((out / "cmp" / "summary.json").read_text())["runs"]  # one per entry: no --seeds
        return code, {r["recipe"]: {name: {k: v for k, v in json.loads((Path(r["run_dir"]) / name).read_text()).items()
                                           if k not in ("tuned", "seconds")}  # layers.json: the run's path, its time
                                    for name in ("report.json", "layers.json")} for r in rows}

    serial_code, serial = compare_run("serial", "--recipes", "mlp_gate_up", "sa_proj")
    # sa_proj+moe fails at start-up: MoE needs a recipe that trains language-model MLPs
    jobs_code, jobs = compare_run("jobs", "--recipes", "mlp_gate_up", "sa_proj+moe", "sa_proj", "--jobs", "2")
    assert serial_code == 0 and jobs_code == 1
    # same runs, same reports (base row, learning, forgetting, probe, drift), the same layer contribution measured
    # by the worker that ran each one
    assert jobs == serial and serial["sa_proj"]["layers.json"]["trained"]["self_attn"] == [0, 1, 2, 3]
    out = capsys.readouterr().out
    assert "FAILED: sa_proj+moe: exit code 2" in out and "MoE turns language-model MLPs into experts" in out
    assert str(tmp_path / "jobs" / "cmp" / "jobs" / "sa_proj+moe.log") in out
    assert "1 of 3 runs failed: sa_proj+moe" in out
    # without --seeds every run has its config's seed (smoke.yaml: 0), and claims.md judges that one seed
    summary = json.loads((tmp_path / "serial" / "cmp" / "summary.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 0] and summary["rows"][0]["seeds"] == [0]
    assert "(seeds: 0; means over seeds)" in (tmp_path / "serial" / "cmp" / "claims.md").read_text()
    logs = tmp_path / "jobs" / "logs" / "tiny_scratch"
    for entry in ("mlp_gate_up", "sa_proj"):  # each run in the version the serial compare gave it
        assert [p.name for p in (logs / entry).iterdir()] == ["version_0"]


def test_a_seeded_compare_on_the_smoke_config_judges_claim_d_from_the_layers_it_measured(tmp_path, cli_fit_args):
    def compare_run(name, *options):
        out = tmp_path / name
        assert compare.main(["--train", "--model", "tiny_scratch", "--seeds", "0", *options, "--out", str(out / "cmp"),
                             "--", *cli_fit_args[1:], "--trainer.logger.init_args.save_dir", str(out / "logs")]) == 0
        summary = json.loads((out / "cmp" / "summary.json").read_text())
        claims = json.loads((out / "cmp" / "claims.json").read_text())["d_late_mlp_drives_output_shift"]
        return summary, claims, (out / "cmp" / "claims.md").read_text()

    summary, claims, md = compare_run("layers", "--recipes", "mlp_gate_up", "sa_proj")
    for run in summary["runs"]:  # every run measured, into its own directory
        result = json.loads((Path(run["run_dir"]) / "layers.json").read_text())
        assert result["skills"] == ["count"] and len(result["layers"]) == 4  # no probe here: the probe's default
        assert (Path(run["run_dir"]) / "layers.png").exists()
    assert claims["verdict"] in ("reproduced", "not reproduced")  # judged on mlp_gate_up; sa_proj shown, not counted
    assert "## (d) Late MLP blocks drive the output shift" in md and "| sa_proj | no (frozen) | 1 of 1 |" in md
    rows = {r["recipe"]: r for r in summary["rows"]}
    assert rows["mlp_gate_up"]["layer_contribution"]["n"] == 1  # the numbers in summary.json too
    assert rows["mlp_gate_up"]["layer_contribution"]["mlp_share_late"] == claims["per_recipe"]["mlp_gate_up"]["mlp_share_late"]

    summary, claims, md = compare_run("no_layers", "--recipes", "mlp_gate_up", "--no-layers")
    assert not (Path(summary["runs"][0]["run_dir"]) / "layers.json").exists()
    assert claims["verdict"] == "not measured" and "## (d)" not in md


def test_a_stopped_compare_resumes_without_training_its_finished_runs_again(tmp_path, monkeypatch):
    import pytest

    from lmmcl.report import build_report

    calls = fake_runs(tmp_path, monkeypatch)
    trained = train_cli.run

    def stopped_at_the_third(args):  # Ctrl-C while the third run trains; every run leaves a report.json
        if len(calls) == 2:
            raise KeyboardInterrupt
        cli = trained(args)
        Path(cli.trainer.log_dir).mkdir()
        stages = [{"name": "base", "scores": {"count": 20.0, "color": 80.0}},
                  {"name": "count", "scores": {"count": 40.0, "color": 70.0}}]
        report = build_report("tiny", option(args, "--recipe.name"), ["count"], ["color"], stages, 1, 2)
        (Path(cli.trainer.log_dir) / "report.json").write_text(json.dumps(report))
        return cli

    monkeypatch.setattr(train_cli, "run", stopped_at_the_third)
    out = tmp_path / "cmp"
    command = ["--train", "--recipes", "full", "sa_proj", "--seeds", "0", "1", "--out", str(out), "--no-layers"]
    with pytest.raises(KeyboardInterrupt):
        compare.main(command)
    assert len(calls) == 2 and len(list((out / "jobs" / "done").iterdir())) == 2

    monkeypatch.setattr(train_cli, "run", lambda args: trained(args))  # goes on to the end this time
    assert compare.main([*command, "--resume"]) == 0
    resumed = [(option(c, "--recipe.name"), option(c, "--seed_everything")) for c in calls[2:]]
    assert resumed == [("full", "1"), ("sa_proj", "1")]  # only the two the first compare had not finished
    assert compare.main(command) == 0 and len(calls) == 8  # without --resume every run trains again
    assert compare.main([*command, "--resume", "--", "--model.lr", "1e-4"]) == 0 and len(calls) == 12  # other args


def test_a_resumed_runs_record_needs_its_run_directory(tmp_path):
    from lmmcl.tools import finished

    task = Task("full / seed 0", ["fit", "--recipe.name", "full"], folder="full",
                row={"learning": 1.0, "run_dir": str(tmp_path / "run")})
    finished.record(tmp_path, task)
    again = Task("full / seed 0", list(task.args), folder="full")
    assert finished.reuse(tmp_path, [again]) == [again] and again.row is None  # its run directory is gone
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "report.json").write_text("{}")
    assert finished.reuse(tmp_path, [again]) == [] and again.row == task.row


def test_parallel_runs_report_each_finished_task_as_it_finishes(tmp_path, monkeypatch):
    import subprocess

    class FakeProcess:
        def __init__(self, command, **kwargs):
            self.result, self.returncode = Path(command[3]), None

        def poll(self):
            self.result.write_text(json.dumps({"run_dir": "x"}))
            self.returncode = 0
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    done = []
    tasks = [Task(f"{e}", ["fit", e], folder=e) for e in ("a", "b")]
    run_parallel(tasks, jobs=2, work_dir=tmp_path, poll_s=0, on_done=lambda t: done.append(t.label))
    assert sorted(done) == ["a", "b"]
