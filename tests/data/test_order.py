"""Task orders reorder the experiment's own skills: real ones under paper.yaml, synthetic ones by default."""

import pytest

from lmmcl.data.datamodule import SkillSequence
from lmmcl.data.order import apply_order
from lmmcl.errors import LmmclError
from lmmcl.train.plan import main as plan_main

PAPER = "configs/experiment/paper.yaml"
ORDERS = {"order_alt": ["pathvqa", "cub200", "textvqa", "timeclock", "pixmocount"],
          "order_clock_first": ["timeclock", "textvqa", "pathvqa", "pixmocount", "cub200"]}


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_an_order_config_keeps_the_paper_benchmarks(name, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("LMMCL_DATA_DIR", raising=False)
    plan_main(["--config", PAPER, "--config", f"configs/experiment/{name}.yaml"])
    datasets = capsys.readouterr().out.split("# datasets\n")[1].split("\n# model")[0]
    targets = [line.split()[0] for line in datasets.splitlines()[2:] if line.split()[1:2] == ["target"]]
    assert list(dict.fromkeys(targets)) == ORDERS[name]  # not the synthetic analogs (pathology, species, ...)


def test_the_same_order_reorders_the_synthetic_analogs():
    data = SkillSequence(skills=["species", "count", "pathology", "text", "clock"], order=[2, 0, 3, 4, 1])
    assert data.skill_names == ["pathology", "species", "text", "clock", "count"]


@pytest.mark.parametrize("order", [[0, 0, 1], [0, 1], [1, 2, 3]])
def test_an_order_that_is_not_a_permutation_names_itself(order):
    with pytest.raises(LmmclError, match=rf"data.order=\{order}".replace(" ", r"\s")):
        apply_order(["a", "b", "c"], order)
