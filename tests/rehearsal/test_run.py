"""The rehearsal of paper.yaml (`lmmcl rehearse`, lmmcl/rehearsal/run.py): two CPU processes through `lmmcl fit`,
real model classes at tiny size, local copies of the real benchmarks with bad records, and a sixth stage read from
conversation files (LLaVA-JSON, chat JSONL). One family in the fast suite; the other families and the two
alternative task orders are slow tests (`make test-slow`)."""

import json
import re

import pytest

from lmmcl.rehearsal.conversations import NAME as CONVERSATIONS
from lmmcl.rehearsal.conversations import TEST_BAD, TRAIN_BAD
from lmmcl.rehearsal.run import conversation_stage, rehearse

TARGETS = ["cub200", "pixmocount", "pathvqa", "textvqa", "timeclock"]
HELDOUT = ["ai2d", "chartqa", "docvqa", "infovqa", "realworldqa", "seedbench", "scienceqa_img", "mmstar"]
ORDERS = {None: [0, 1, 2, 3, 4], "order_alt": [2, 0, 3, 4, 1], "order_clock_first": [4, 3, 2, 1, 0]}


def _rehearse(tmp_path, capsys, family: str, order: str | None = None, **options):
    code, report_md = rehearse(family, order, rows=2, out=tmp_path, **options)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert f"report: {report_md}" in out and report_md.exists()
    report = json.loads(report_md.with_name("report.json").read_text())
    skills = [TARGETS[i] for i in ORDERS[order]] + [CONVERSATIONS]  # the conversation stage last, in every order
    assert report["model"] == family and report["skills"] == skills and report["heldout"] == HELDOUT
    assert [row["name"] for row in report["stages"]] == ["base", *skills]
    samples = report["samples"]
    assert set(samples) == set(TARGETS + HELDOUT + [CONVERSATIONS])
    for name, entry in samples.items():  # every benchmark: its good rows scored, its bad ones counted by reason
        assert entry["scored"] >= 2 and entry["skipped"] >= 1 and entry["asked"] == entry["scored"] + entry["skipped"]
        if name != CONVERSATIONS:
            assert {"undecodable_image", "missing_image", "missing_answer"} <= set(entry["bad_records"]), name
    # the conversation files: a one-turn and a two-turn row per split trained and scored, every bad row counted
    assert samples[CONVERSATIONS] == {"asked": 3, "scored": 2, "skipped": 1, "bad_records": TEST_BAD}
    trained = report["stages"][-1]["train_samples"]
    assert trained["trained"] == 2 and trained["bad_records"] == TRAIN_BAD
    assert samples["pathvqa"]["bad_records"]["too_long"] == 1 and samples["docvqa"]["bad_records"]["too_long"] == 1
    assert "scored on fewer samples than asked" in "\n".join(report_md.read_text().splitlines()[:6])
    return report


def test_the_conversation_stage_comes_after_the_five_in_every_order(tmp_path):
    skill = tmp_path / "colours_chat.yaml"
    assert conversation_stage(skill, None) == ["--data.skills", f"[{', '.join(TARGETS)}, {skill}]"]
    assert conversation_stage(skill, "order_alt")[2:] == ["--data.order", "[2, 0, 3, 4, 1, 5]"]


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


@pytest.mark.slow
def test_rehearsal_at_real_prompt_lengths(tmp_path, capsys):
    """LLaVA-OneVision with its real image settings and page-sized pictures: prompts of thousands of tokens through
    training, evaluation, drift and the probe; rehearsal.md says how long they were."""
    code, report_md = rehearse("llava", rows=2, out=tmp_path, lengths="real")
    assert code == 0, capsys.readouterr().out[-3000:]
    report = json.loads(report_md.with_name("report.json").read_text())
    assert [row["name"] for row in report["stages"]] == ["base", *TARGETS, CONVERSATIONS]
    assert len(report["drift"]) == 6 and [e["target"]["n"] for e in report["counting_bias"]] == [2] * 7
    assert all(s["bad_records"].get("too_long", 0) <= 1 for s in report["samples"].values())  # the planted ones
    text = report_md.with_name("rehearsal.md").read_text()
    longest = dict(part.rsplit(" ", 1) for part in text.split("Longest: ")[1].split(".\n")[0].split(", "))
    assert all(int(n.replace(",", "")) >= 2000 for n in longest.values()), longest  # training, evaluation, drift, probe


@pytest.mark.slow
def test_rehearsal_with_fsdp_over_two_cpu_processes(tmp_path, capsys):
    """configs/trainer/fsdp.yaml + bf16.yaml, two processes over gloo, through the CLI: every stage, evaluation,
    checkpoint and the report."""
    report = _rehearse(tmp_path, capsys, "llava", strategy="fsdp")
    assert len(report["stages"]) == 7
    checkpoints = sorted(p.name for p in next(tmp_path.glob("logs/*/version_0/checkpoints")).iterdir())
    assert checkpoints[-2:] == ["stage5-timeclock.ckpt", f"stage6-{CONVERSATIONS}.ckpt"]
    log = (tmp_path / "fit.log").read_text()
    printed = re.search(r"\[lmmcl\] recipe .*: ([\d,]+) trainable of ([\d,]+) parameters", log).groups()
    # the report's counts are the whole model's, printed before FSDP wrapped it, not rank 0's shards after
    assert (report["trainable_params"], report["total_params"]) == tuple(int(n.replace(",", "")) for n in printed)
