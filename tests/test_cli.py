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


@pytest.mark.parametrize("args, message", [
    (["--recipe.name", "mlp_gate"], "Unknown recipe 'mlp_gate'. Known: "),
    (["--data.skills", "[species, cont]"], "Unknown skill 'cont'. Known: "),
    (["--model.preset", "tinyy"], "Unknown model 'tinyy'. Known: "),
])
def test_bad_names_fail_fast_with_the_known_ones(args, message, tmp_path):
    cmd = [sys.executable, "-m", "lmmcl.cli", "fit", "--trainer.logger.init_args.save_dir", str(tmp_path),
           "--model.preset", "tiny_scratch", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_unknown_tool_help_lists_tools(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "lmmcl tools:" in capsys.readouterr().out
