"""User YAML: syntax errors name the file and line; config files on a command line are found and checked."""

from pathlib import Path

import pytest

from lmmcl.errors import LmmclError
from lmmcl.yamlfile import check_config_files, config_files, load_yaml


def test_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  lr: 0.1\n  preset: tiny: x\n")
    with pytest.raises(LmmclError, match=r"YAML syntax error in .*exp.yaml, line 3, column 15: mapping values"):
        load_yaml(path)


def test_config_files_on_a_command_line():
    argv = ["fit", "--config", "a.yaml", "--config=b.yml", "--trainer.callbacks+=c.yaml", "--data.skills", "[x]",
            "--model.lr", "1e-3", "--x", "d.yaml"]
    assert config_files(argv) == [Path("a.yaml"), Path("b.yml"), Path("c.yaml"), Path("d.yaml")]


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(LmmclError, match="Config file 'nowhere.yaml' does not exist"):
        check_config_files(["fit", "--config", "nowhere.yaml"])
