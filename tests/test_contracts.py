"""The declared contracts: a new probe (a StageLoopExtension callback and its ReportSection) adds a section to
report.json, report.md and the figures without any change to the stage loop or the report."""

import json
import re
from pathlib import Path

import pytest
from lightning.pytorch import Callback

from lmmcl.contracts import ReportSection, StageData, StageLoopExtension
from lmmcl.data.datamodule import SkillMixture, SkillSequence
from lmmcl.plots import sized_figure
from lmmcl.report import sections
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages, run_sequence


class HeldoutProbe(Callback, StageLoopExtension):
    """A new probe: after every matrix row, the row's score on one benchmark."""

    section = "heldout_probe"

    def collect(self, trainer, pl_module, row, index):
        return {"stage": row["name"], "index": index, "color": row["scores"]["color"]}


class HeldoutProbeSection(ReportSection):
    key, figure_title = "heldout_probe", "held-out probe"

    def render(self, report):
        entries = report.get(self.key) or []
        return ["## Held-out probe", *(f"- {e['stage']}: {e['color']:.1f}" for e in entries), ""] if entries else []

    def figure(self, report):
        fig, ax = sized_figure(2.0, 1.5, left=0.6, bottom=0.5)
        ax.plot([e["color"] for e in report[self.key]])
        return fig


@pytest.fixture
def new_section():
    section = HeldoutProbeSection()
    sections.register(section)
    yield section
    sections.SECTIONS.remove(section)


def test_a_new_probe_adds_its_section_without_editing_the_loop_or_the_report(new_section, make_trainer,
                                                                            tiny_data_kwargs):
    trainer = make_trainer([FreezeRecipe("mlp_gate_up"), SequentialStages(save_checkpoints=False), HeldoutProbe()])
    run_sequence(trainer, LMMModule("tiny_scratch"), SkillSequence(**{**tiny_data_kwargs, "heldout": ["color"]}))
    run = Path(trainer.log_dir)
    report = json.loads((run / "report.json").read_text())
    assert [e["stage"] for e in report["heldout_probe"]] == ["base", "species", "count"]
    assert [e["color"] for e in report["heldout_probe"]] == [row["scores"]["color"] for row in report["stages"]]
    markdown = (run / "report.md").read_text()
    assert re.search(r"## Held-out probe\n- base: \d+\.\d\n- species: \d+\.\d\n- count: ", markdown)
    assert "![held-out probe](heldout_probe.png)" in markdown
    assert (run / "heldout_probe.png").stat().st_size > 0
    with pytest.raises(ValueError, match="exists already"):
        sections.register(HeldoutProbeSection())


def test_both_datamodules_expose_the_stage_data_contract(tiny_data_kwargs):
    assert isinstance(SkillSequence(**tiny_data_kwargs), StageData)
    assert isinstance(SkillMixture(["color"], train_size=4, test_size=4), StageData)
    assert not isinstance(object(), StageData)


def test_no_attribute_of_the_lightning_module_is_written_outside_it():
    import ast

    package = Path(__file__).resolve().parents[1] / "lmmcl"
    writes = []
    for path in package.rglob("*.py"):
        if path == package / "train" / "module.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                while isinstance(target, ast.Subscript):  # pl_module.x[k] = ... writes x too
                    target = target.value
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id in ("pl_module", "module"):
                    writes.append(f"{path.relative_to(package)}:{node.lineno}: {target.value.id}.{target.attr}")
    assert not writes, writes
