"""Run identity and placement: what a checkpoint records, what a resume must match, which directory a run takes."""

from types import SimpleNamespace

import pytest

from lmmcl.errors import LmmclError
from lmmcl.train.runs import check_same_run, claim_version, place_run, release_versions, run_identity

CONFIG = {"model": {"preset": "tiny", "lr": 0.001}, "recipe": {"name": "mlp_gate_up"},
          "data": {"skills": ["count"], "heldout": ["color"]}, "ckpt_path": None, "config": ["a.yaml"],
          "trainer": {"callbacks": [{"class_path": "lmmcl.baselines.LwF"}],
                      "logger": {"init_args": {"save_dir": "logs", "name": "tiny/mlp_gate_up", "version": None}}}}


def with_(dotted: str, value):
    import copy

    cfg = copy.deepcopy(CONFIG)
    *parents, last = dotted.split(".")
    node = cfg
    for key in parents:
        node = node[key]
    node[last] = value
    return cfg


def test_identity_names_the_run_and_hashes_only_what_changes_it():
    identity = run_identity(CONFIG)
    assert {k: identity[k] for k in ("preset", "recipe", "baselines", "skills", "heldout")} == {
        "preset": "tiny", "recipe": "mlp_gate_up", "baselines": ["lwf"], "skills": ["count"], "heldout": ["color"]}
    for where in ("ckpt_path", "trainer.logger.init_args.save_dir", "trainer.logger.init_args.version", "config"):
        assert run_identity(with_(where, "elsewhere"))["config_hash"] == identity["config_hash"], where
    assert run_identity(with_("model.lr", 0.5))["config_hash"] != identity["config_hash"]


def test_a_mismatch_names_both_values_and_the_changed_option():
    record = {**run_identity(CONFIG), "run_dir": "logs/tiny/mlp_gate_up/version_0"}
    check_same_run(record, run_identity(CONFIG), "x.ckpt")
    with pytest.raises(LmmclError, match="its recipe is 'mlp_gate_up', this command's is 'projector'"):
        check_same_run(record, run_identity(with_("recipe.name", "projector")), "x.ckpt")
    with pytest.raises(LmmclError, match=r"--model.lr was 0.001, now 0.5.*drop --ckpt_path"):
        check_same_run(record, run_identity(with_("model.lr", 0.5)), "x.ckpt")


def test_a_pinned_version_is_free_or_refused(tmp_path):
    init = SimpleNamespace(save_dir=str(tmp_path), name="tiny/r", version=0)
    assert place_run(init, None, {}) is False           # nothing there yet: a new run may take it
    run = tmp_path / "tiny" / "r" / "version_0"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("x")
    with pytest.raises(LmmclError, match="version_0 already holds a run"):
        place_run(init, None, {})
    init.version = None
    try:
        assert place_run(init, None, {}) is False       # unpinned: the next free version, claimed
        assert init.version == 1 and (tmp_path / "tiny" / "r" / "version_1").is_dir()
    finally:
        release_versions()
    assert not (tmp_path / "tiny" / "r" / "version_1").exists()  # nothing ran in it: not left behind


CLAIM = """
import sys
from types import SimpleNamespace
from lmmcl.train.runs import claim_version, release_versions
for _ in range(5):
    init = SimpleNamespace(save_dir=sys.argv[1], name="tiny/r", version=None)
    claim_version(init)
    (__import__("pathlib").Path(sys.argv[1]) / "tiny" / "r" / f"version_{init.version}" / "config.yaml").write_text("x")
    print(init.version)
    release_versions()
"""


def test_runs_started_at_once_claim_different_versions(tmp_path):
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    versions = [int(v) for p in procs for v in p.communicate()[0].split()]
    assert sorted(versions) == list(range(20))  # 4 processes x 5 runs: every version once


def test_the_processes_of_one_run_share_its_claimed_version(tmp_path, monkeypatch):
    monkeypatch.setenv("LMMCL_RUN_VERSION", "7")  # what a launcher's child inherits from the first process
    init = SimpleNamespace(save_dir=str(tmp_path), name="tiny/r", version=None)
    claim_version(init)
    assert init.version == 7 and not (tmp_path / "tiny").exists()
    monkeypatch.delenv("LMMCL_RUN_VERSION")
    monkeypatch.setenv("WORLD_SIZE", "2")  # one rank of several, started outside lmmcl: the logger chooses
    init.version = None
    claim_version(init)
    assert init.version is None
