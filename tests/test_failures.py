"""Every bad input of an ``lmmcl`` subcommand: exit code 2 in seconds, one paragraph naming the problem, no
traceback, and every earlier run directory byte-identical (checksums before and after)."""

import hashlib
from pathlib import Path

import pytest
import yaml

from lmmcl.cli import main
from lmmcl.failures import paragraph

ROOT = Path(__file__).resolve().parents[1]
CONFIG_LR = yaml.safe_load((ROOT / "configs" / "experiment" / "default.yaml").read_text())["model"]["lr"]


def checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cli_fit_args):
    """A finished two-stage run of recipe mlp_down in its own logs/ folder, and a truncated copy of its checkpoint."""
    logs = tmp_path_factory.mktemp("runs") / "logs"
    fit = [*cli_fit_args, "--trainer.logger.init_args.save_dir", str(logs)]
    assert main([*fit, "--recipe.name", "mlp_down"]) == 0
    run = logs / "tiny_scratch" / "mlp_down" / "version_0"
    truncated = logs.parent / "truncated.ckpt"
    truncated.write_bytes((run / "checkpoints" / "stage1-species.ckpt").read_bytes()[:4096])
    bad_yaml = logs.parent / "bad.yaml"
    bad_yaml.write_text("model:\n  lr: 0.1\n  preset: tiny: x\n")  # a mapping value in line 3
    return fit, logs, run, truncated, bad_yaml


def bad_inputs(fit, run, truncated, bad_yaml):
    stage1 = str(run / "checkpoints" / "stage1-species.ckpt")
    return {  # name -> (argv, words the message must contain)
        "resume another recipe's checkpoint": ([*fit, "--recipe.name", "projector", "--ckpt_path", stage1],
                                               ["recipe is 'mlp_down'", "'projector'", "drop --ckpt_path"]),
        "resume with another LR": ([*fit, "--recipe.name", "mlp_down", "--model.lr", "0.5", "--ckpt_path", stage1],
                                   [f"--model.lr was {CONFIG_LR!r}, now 0.5"]),
        "pinned existing version": ([*fit, "--recipe.name", "mlp_down", "--trainer.logger.init_args.version", "0"],
                                    ["already holds a run", "Drop the version option"]),
        "missing checkpoint": ([*fit, "--recipe.name", "mlp_down", "--ckpt_path", str(run / "nope.ckpt")],
                               ["nope.ckpt' does not exist"]),
        "truncated checkpoint": ([*fit, "--recipe.name", "mlp_down", "--ckpt_path", str(truncated)],
                                 ["truncated.ckpt' is not a readable checkpoint"]),
        "negative LR": ([*fit, "--model.lr", "-1"], ["--model.lr -1.0 is invalid", "> 0"]),
        "zero train size": ([*fit, "--data.train_size", "0"], ["--data.train_size 0 is invalid"]),
        "unknown recipe": ([*fit, "--recipe.name", "mlp_gate"], ["Unknown recipe 'mlp_gate'"]),
        "unknown skill": ([*fit, "--data.skills", "[species, cont]"], ["Unknown skill 'cont'"]),
        "unknown held-out": ([*fit, "--data.heldout", "[colour]"], ["Unknown skill 'colour'"]),
        "held-out is a target": ([*fit, "--data.heldout", "[count]"], ["['count'] is both a target skill"]),
        "adapter runs code": ([*fit, "--recipe.adapter", "{class_path: subprocess.run}"],
                              ["'subprocess.run' is not an adapter registered by lmmcl"]),
        "YAML syntax error": ([*fit, "--config", str(bad_yaml)], ["bad.yaml, line 3", "YAML syntax error"]),
        "missing config file": ([*fit, "--config", "nope.yaml"], ["Config file 'nope.yaml' does not exist"]),
        "unknown option": ([*fit, "--recipe.nme", "x"], ["--recipe.nme"]),
        "compare: not a run": (["compare", str(run.parent / "version_9")], ["version_9"]),
        "show: unknown skill": (["show", "cont"], ["Unknown skill 'cont'"]),
        "plan: YAML syntax error": (["plan", "--config", str(bad_yaml)], ["bad.yaml, line 3"]),
        "base: unknown model": (["base", "tinyy"], ["Unknown model 'tinyy'"]),
        "report: not a run": (["report", str(truncated)], ["truncated.ckpt is not a directory"]),
        "layers: missing checkpoint": (["layers", str(run / "a.ckpt"), str(run / "b.ckpt"), "--skill", "count"],
                                       ["a.ckpt"]),
        "recipes: unknown model": (["recipes", "tinyy"], ["Unknown model 'tinyy'"]),
    }


def test_every_bad_input_is_one_paragraph_exit_2_and_earlier_runs_stay_intact(finished, capsys, monkeypatch):
    fit, logs, run, truncated, bad_yaml = finished
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LMMCL_DEBUG", raising=False)
    before = checksums(logs)
    assert "checkpoints/last.ckpt" in {k.replace("\\", "/").split("version_0/")[-1] for k in before}
    capsys.readouterr()
    for name, (argv, words) in bad_inputs(fit, run, truncated, bad_yaml).items():
        with pytest.raises(SystemExit) as failed:
            main(argv)
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("lmmcl")]
        assert failed.value.code == 2, (name, err)
        assert len(lines) == 1 and ": error: " in lines[0], (name, err)   # one paragraph
        assert "Traceback" not in err and "usage:" not in err, (name, err)
        for word in words:
            assert word in lines[0], (name, word, lines[0])
    assert checksums(logs) == before  # nothing overwritten, nothing new (no stray run directory)


def test_debug_mode_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("LMMCL_DEBUG", "1")
    with pytest.raises(Exception, match="Unknown skill 'cont'"):
        main(["show", "cont"])


def test_paragraph_folds_lines_and_marks_unexpected_errors():
    assert paragraph(ValueError("a\n  b")) == "ValueError: a b (unexpected; rerun with LMMCL_DEBUG=1 for the traceback)"
    assert paragraph(FileNotFoundError("no such\nfile")) == "no such file"


def test_a_closed_pipe_is_not_an_error():
    """`lmmcl samples RUN | head`: the reader leaving early ends the tool quietly with exit 0."""
    import subprocess
    import sys

    code = ("from lmmcl.failures import guarded\n"
            "def tool():\n    raise BrokenPipeError(32, 'Broken pipe')\n"
            "raise SystemExit(guarded('lmmcl samples', tool))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "error" not in done.stderr
