"""Skills named by the path of their YAML file: relative to the working directory or to the config naming them."""

from pathlib import Path

import pytest

from lmmcl.data.skill import get_skill
from lmmcl.errors import LmmclError
from lmmcl.train.plan import main as plan_main
from lmmcl.train.plan import resolve_config

BLUE = "type: synthetic\ngenerator: color\nmetric: exact_match\nkind: heldout\n"


def test_a_path_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "blue.yaml").write_text(BLUE)
    monkeypatch.chdir(tmp_path)
    config = resolve_config([], ["--data.heldout", "[./blue.yaml, exist]"])
    assert config["data"]["heldout"] == [str(tmp_path / "blue.yaml"), "exist"]
    skill = get_skill(config["data"]["heldout"][0])
    assert skill.name == "blue" and skill.source_file == tmp_path / "blue.yaml" and skill.metric == "exact_match"


def test_a_path_relative_to_the_config_file_that_lists_it(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "skills").mkdir(parents=True)
    (project / "skills" / "blue.yaml").write_text("name: cobalt\n" + BLUE)
    (project / "run.yaml").write_text("data:\n  heldout: [skills/blue.yaml]\n")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    config = resolve_config([str(project / "run.yaml")])
    assert config["data"]["heldout"] == [str(project / "skills" / "blue.yaml")]
    assert get_skill(config["data"]["heldout"][0]).name == "cobalt"  # the file's name key


def test_a_missing_skill_file_names_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LmmclError, match=r"skill file 'nothere.yaml' \(named in the command line\) does not exist: "
                                         rf"looked for {tmp_path}/nothere.yaml\. A relative path is read from the "
                                         "working directory"):
        resolve_config([], ["--data.skills", "[nothere.yaml]"])


def test_a_malformed_skill_file_names_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: synthetic\n generator: [color\n")
    with pytest.raises(LmmclError, match=rf"YAML syntax error in {bad}, line 2"):
        get_skill(str(bad))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("type: hf\nmetric: exact_match\ncolums: {question: q}\nsplits: {test: {data_dir: x}}\n")
    with pytest.raises(LmmclError, match=rf"unknown key\(s\) \['colums'\].*\(in {wrong}, line 3\)"):
        get_skill(str(wrong))
    listed = tmp_path / "list.yaml"
    listed.write_text("- generator: color\n")
    with pytest.raises(LmmclError, match="not a mapping of keys"):
        get_skill(str(listed))


def test_two_skills_of_one_name_are_refused_before_anything_loads(tmp_path, cli_fit_args):
    from lmmcl.train.cli import run

    (tmp_path / "exist.yaml").write_text(BLUE)
    with pytest.raises(LmmclError, match="Two skills are named the same: {'exist'"):
        run([*cli_fit_args, "--data.heldout", f"[{tmp_path / 'exist.yaml'}, exist]",
             "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")])
    assert not (tmp_path / "logs").exists()


def test_plan_shows_the_file_each_skill_came_from(tmp_path, monkeypatch, capsys):
    (tmp_path / "blue.yaml").write_text(BLUE)
    monkeypatch.chdir(tmp_path)
    assert plan_main(["--data.heldout", "[blue.yaml]"]) == 0
    files = capsys.readouterr().out.split("# skill files")[1]
    assert f"blue: {tmp_path / 'blue.yaml'}" in files
    assert f"count: {Path(get_skill('count').source_file)}" in files
