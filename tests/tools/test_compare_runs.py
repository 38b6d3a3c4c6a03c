"""How lmmcl compare runs its entries: one pool, one base-row cache shared by every run; the restore analysis after
the configured budget's plain-recipe runs; the overrides never replace an entry's own recipe, model, seed or
baselines; --jobs N (parallel single-thread runs, by default one per CPU) gives the serial compare's results and
restore analyses, with a failing entry reported and the others kept; a stopped compare resumes."""

import json
from pathlib import Path

import pytest

from lmmcl.tools import compare
from lmmcl.tools.budgets import Budget, RunConfig
from lmmcl.tools.jobs import Task, default_jobs, run_parallel
from lmmcl.train import cli as train_cli
from tests.conftest import option

ONE_BUDGET = ["--lr-scales", "1", "--no-restore"]  # these fake runs have no model to analyse
SERIAL = ["--jobs", "1"]  # fake runs (fake_fit) live in this process


def test_every_run_of_a_compare_shares_one_base_row_cache_unless_told_not_to(tmp_path, fake_fit):
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--recipes", "full", "mlp+lwf", "--seeds", "0", "1", "--out", str(out), *ONE_BUDGET,
                         *SERIAL, "--", "--data.train_size", "8"]) == 0
    assert {option(c, "--stages.base_cache") for c in fake_fit.calls} == {str(out / "base_rows")}
    fake_fit.calls.clear()
    assert compare.main(["--train", "--recipes", "full", "--out", str(out), "--no-base-cache", *ONE_BUDGET,
                         *SERIAL]) == 0
    assert option(fake_fit.calls[0], "--stages.base_cache") is None


def test_the_restore_analysis_follows_the_configured_budgets_plain_recipe_runs():
    config = RunConfig("tiny", 1e-3, 32, 320, {"lora": 5e-5}, (0,), 2, True)
    budgets = [Budget(10, 5e-4), Budget(10, 1e-3)]
    entries = ["sa_proj", "mlp+lwf", "mlp+moe", "lora"]
    tasks = compare.compare_tasks("tiny", entries, budgets, config, [], [0], None, True)
    restored = {t.label: t.restore for t in tasks}
    assert restored == {"sa_proj at lr5e-4_steps10 / seed 0": False, "mlp+lwf at lr5e-4_steps10 / seed 0": False,
                        "mlp+moe at lr5e-4_steps10 / seed 0": False,  # lora: its own LR, no LR budget
                        "sa_proj / seed 0": True, "mlp+lwf / seed 0": True,  # LwF leaves the model's weights its own
                        "mlp+moe / seed 0": False, "lora / seed 0": False}  # adapters: no base weight to put back
    assert not any(t.restore for t in compare.compare_tasks("tiny", ["sa_proj"], budgets, config, [], [0], None, False))


def test_a_config_among_the_overrides_cannot_replace_an_entrys_recipe_or_drop_its_baselines(tmp_path, fake_fit,
                                                                                           cli_fit_args):
    # cli_fit_args holds --config default.yaml (recipe mlp_gate_up, preset tiny) and --trainer.callbacks []
    assert compare.main(["--train", "--model", "tiny_scratch", "--recipes", "sa_proj+lwf", "--seeds", "3",
                         "--out", str(tmp_path / "cmp"), *ONE_BUDGET, *SERIAL, "--", *cli_fit_args[1:]]) == 0
    from lmmcl.train.cli import resolve

    config = resolve(fake_fit.calls[0])
    assert config["recipe"]["name"] == "sa_proj" and config["model"]["preset"] == "tiny_scratch"
    assert config["seed_everything"] == 3 and config["data"]["seed"] == 3
    assert [c["class_path"].rpartition(".")[2] for c in config["trainer"]["callbacks"]] == ["LwF", "PhaseTimer"]


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
                                           if k != "seconds"}  # restore.json: its time
                                    for name in ("report.json", "restore.json")} for r in rows}

    serial_code, serial = compare_run("serial", "--recipes", "mlp_gate_up", "sa_proj", "--lr-scales", "1", *SERIAL)
    # sa_proj+moe fails at start-up: MoE needs a recipe that trains language-model MLPs
    jobs_code, jobs = compare_run("jobs", "--recipes", "mlp_gate_up", "sa_proj+moe", "sa_proj", "--jobs", "2",
                                  "--lr-scales", "1")
    assert serial_code == 0 and jobs_code == 1
    # same runs, same reports (base row, learning, forgetting, probe, drift), the same restore analysis run by the
    # worker that trained each one
    assert jobs == serial and serial["sa_proj"]["restore.json"]["groups"]["late_mlp"]["changed_tensors"] == 0
    out = capsys.readouterr().out
    assert "FAILED: sa_proj+moe: exit code 2" in out and "MoE turns language-model MLPs into experts" in out
    assert str(tmp_path / "jobs" / "cmp" / "jobs" / "sa_proj+moe.log") in out
    assert "1 of 3 runs failed: sa_proj+moe" in out
    # without --seeds every run has its config's seed (smoke.yaml: 0), and claims.md judges that one seed
    summary = json.loads((tmp_path / "serial" / "cmp" / "summary.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 0] and summary["rows"][0]["seeds"] == [0]
    assert "Seeds 0; configured budget" in (tmp_path / "serial" / "cmp" / "claims.md").read_text()
    logs = tmp_path / "jobs" / "logs" / "tiny_scratch"
    for entry in ("mlp_gate_up", "sa_proj"):  # each run in the version the serial compare gave it
        assert [p.name for p in (logs / entry).iterdir()] == ["version_0"]


def test_a_stopped_compare_resumes_without_training_its_finished_runs_again(tmp_path, fake_fit, monkeypatch):
    def stopped_at_the_third(args):  # Ctrl-C while the third run trains
        if len(fake_fit.calls) == 2:
            raise KeyboardInterrupt
        return fake_fit.run(args)

    monkeypatch.setattr(train_cli, "run", stopped_at_the_third)
    out = tmp_path / "cmp"
    command = ["--train", "--recipes", "full", "sa_proj", "--seeds", "0", "1", "--out", str(out), *ONE_BUDGET, *SERIAL]
    with pytest.raises(KeyboardInterrupt):
        compare.main(command)
    assert len(fake_fit.calls) == 2 and len(list((out / "jobs" / "done").iterdir())) == 2

    monkeypatch.setattr(train_cli, "run", fake_fit.run)  # goes on to the end this time
    assert compare.main([*command, "--resume"]) == 0
    resumed = [(option(c, "--recipe.name"), option(c, "--seed_everything")) for c in fake_fit.calls[2:]]
    assert resumed == [("full", "1"), ("sa_proj", "1")]  # only the two the first compare had not finished
    timeline = json.loads((out / "summary.json").read_text())["timeline"]
    assert timeline["runs_resumed"] == 2 and timeline["runs_trained"] == 2
    assert compare.main(command) == 0 and len(fake_fit.calls) == 8  # without --resume every run trains again
    assert compare.main([*command, "--resume", "--", "--model.lr", "1e-4"]) == 0 and len(fake_fit.calls) == 12


def test_a_resumed_runs_record_needs_its_run_directory(tmp_path):
    from lmmcl.tools import finished

    task = Task("full / seed 0", ["fit", "--recipe.name", "full"], folder="full",
                row={"learning": 1.0, "run_dir": str(tmp_path / "run")})
    finished.record(tmp_path, task)
    again = Task("full / seed 0", list(task.args), folder="full")
    assert finished.reuse(tmp_path, [again]) == [again] and again.row is None  # its run directory is gone
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "report.json").write_text("{}")
    assert finished.reuse(tmp_path, [again]) == [] and again.row == {**task.row, "resumed": True}


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


@pytest.mark.slow
def test_a_real_compare_at_two_budgets_draws_frontiers_and_restores_the_configured_runs(tmp_path, cli_fit_args):
    out = tmp_path / "cmp"
    assert compare.main(["--train", "--model", "tiny_scratch", "--recipes", "llm", "sa_proj", "mlp_gate_up", "--seeds",
                         "0", "--lr-scales", "1", "3", *SERIAL, "--out", str(out), "--", *cli_fit_args[1:],
                         "--data.heldout", "[color, caption]", "--trainer.logger.init_args.save_dir",
                         str(tmp_path / "logs")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {r: len(p) for r, p in summary["per_budget"].items()} == {"llm": 2, "sa_proj": 2, "mlp_gate_up": 2}
    assert set(summary["frontiers"]) == {"llm", "sa_proj", "mlp_gate_up"}
    assert set(summary["matched"]) == {"sa_proj", "mlp_gate_up"}
    restores = {r["recipe"]: json.loads((Path(r["run_dir"]) / "restore.json").read_text()) for r in summary["runs"]}
    assert len(summary["all_runs"]) == 6 and len(restores) == 3  # the configured budget's runs only
    frozen = restores["sa_proj"]["groups"]  # sa_proj's MLPs never train: restoring them must change nothing
    assert frozen["late_mlp"]["changed_tensors"] == 0 and frozen["late_mlp"]["heldout_mean_change"] == 0.0
    assert restores["llm"]["groups"]["late_mlp"]["changed_tensors"] == 6  # gate, up, down of layers 2 and 3
    timeline = summary["timeline"]
    assert timeline["training_s"] > 0 and timeline["evaluations"] == 6 * 2 + 1  # one base row, then reused
    claims = json.loads((out / "claims.json").read_text())
    assert len(claims) == 4
    assert all(c["verdict"] in ("reproduced", "not reproduced", "not measured") for c in claims.values())
    assert (out / "frontier.png").exists() and "## Time line" in (out / "summary.md").read_text()


def test_jobs_default_to_the_cpus_this_process_may_use(tmp_path, fake_fit, monkeypatch, capsys):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)  # 3 of the machine's CPUs
    assert default_jobs() == 3
    assert compare.main(["--train", "--recipes", "llm", "--out", str(tmp_path), "--dry-run", *ONE_BUDGET]) == 0
    assert "on 3 worker(s)" in capsys.readouterr().out and fake_fit.calls == []
    monkeypatch.delattr(os, "sched_getaffinity")  # a system without CPU affinity (macOS)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert default_jobs() == 8
