"""The command line: config printing, overrides, and clear errors for bad names."""

import subprocess
import sys

import pytest
import yaml

from lmmcl.cli import main


def test_print_config_resolves_the_default_and_overrides(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--recipe.name", "sa_proj", "--data.train_size", "7", "--print_config"])
    assert exit_info.value.code in (0, None)
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["recipe"]["name"] == "sa_proj"
    assert config["model"]["preset"] == "tiny"
    assert config["data"]["train_size"] == 7
    assert config["trainer"]["reload_dataloaders_every_n_epochs"] == 1


def test_bad_name_fails_fast_in_a_real_process(tmp_path):
    # One real process for the exit code and stderr; every other bad input runs in-process (tests/test_failures.py).
    cmd = [sys.executable, "-m", "lmmcl.cli", "fit", "--trainer.logger.init_args.save_dir", str(tmp_path),
           "--model.preset", "tiny_scratch", "--data.skills", "[species, cont]"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "lmmcl fit: error: Unknown skill 'cont'. Known: " in result.stderr
    assert "Traceback" not in result.stderr and not any(tmp_path.iterdir())


def test_every_tool_and_run_silences_the_dependency_deprecations(monkeypatch):
    import lmmcl.cli
    import lmmcl.train.cli

    calls = []
    monkeypatch.setattr(lmmcl.cli, "silence_dependency_deprecations", lambda: calls.append("main"))
    monkeypatch.setattr(lmmcl.train.cli, "silence_dependency_deprecations", lambda: calls.append("run"))
    with pytest.raises(SystemExit):
        main(["base", "--help"])
    assert calls == ["main"]
    with pytest.raises(SystemExit):
        lmmcl.train.cli.run(["fit", "--print_config"])  # compare workers call run() without main
    assert calls == ["main", "run"]


def test_unknown_tool_help_lists_tools(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "lmmcl tools:" in capsys.readouterr().out


def test_the_cli_names_a_run_after_its_model_recipe_and_baselines(tmp_path):
    from lmmcl.baselines import baseline_config
    from lmmcl.train.cli import LMMCLI, cli_kwargs

    class Parsed(LMMCLI):  # `lmmcl fit` up to its checks and naming; builds and runs nothing
        def instantiate_classes(self):
            pass

        def _run_subcommand(self, subcommand):
            pass

    args = ["fit", "--model.preset", "tiny_scratch", "--recipe.name", "sa_proj",
            f"--trainer.callbacks+={baseline_config('lwf')}", f"--trainer.logger.init_args.save_dir={tmp_path}"]
    cli = Parsed(**cli_kwargs(args))
    assert cli.config.fit.trainer.logger.init_args.name == "tiny_scratch/sa_proj+lwf"
