"""The rehearsal of paper.yaml (tests/rehearsal/rehearse.py): two CPU processes through `lmmcl fit`, real model
classes at tiny size, local copies of the real benchmarks with bad records. One family in the fast suite; the
other families and the two alternative task orders are slow tests (`make test-slow`)."""

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TARGETS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock"]
HELDOUT = ["ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar"]
ORDERS = {None: [0, 1, 2, 3, 4], "order_alt": [2, 0, 3, 4, 1], "order_clock_first": [4, 3, 2, 1, 0]}


def _rehearse(tmp_path, capsys, family: str, order: str | None = None):
    spec = importlib.util.spec_from_file_location("rehearse", HERE / "rehearse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code, report_md = module.rehearse(family, order, rows=2, out=tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert f"report: {report_md}" in out and report_md.exists()
    report = json.loads(report_md.with_name("report.json").read_text())
    skills = [TARGETS[i] for i in ORDERS[order]]
    assert report["model"] == family and report["skills"] == skills and report["heldout"] == HELDOUT
    assert [row["name"] for row in report["stages"]] == ["base", *skills]
    samples = report["samples"]
    assert set(samples) == set(TARGETS + HELDOUT)
    for name, entry in samples.items():  # every benchmark: its good rows scored, its bad ones counted by reason
        assert entry["scored"] >= 2 and entry["skipped"] >= 3 and entry["asked"] == entry["scored"] + entry["skipped"]
        assert {"undecodable_image", "missing_image", "missing_answer"} <= set(entry["bad_records"]), name
    assert samples["pathvqa"]["bad_records"]["too_long"] == 1 and samples["docvqa"]["bad_records"]["too_long"] == 1
    assert "scored on fewer samples than asked" in "\n".join(report_md.read_text().splitlines()[:6])
    return report


def test_rehearsal_llava_onevision_two_processes(tmp_path, capsys):
    _rehearse(tmp_path, capsys, "llava")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["llava_next", "qwen2_5_vl"])
def test_rehearsal_other_families(tmp_path, capsys, family):
    _rehearse(tmp_path, capsys, family)


@pytest.mark.slow
@pytest.mark.parametrize("order", ["order_alt", "order_clock_first"])
def test_rehearsal_alternative_orders(tmp_path, capsys, order):
    _rehearse(tmp_path, capsys, "llava", order)
