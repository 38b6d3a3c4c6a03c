"""lmmcl.train.cli: a finished run leaves no process group for the interpreter's exit to tear down."""

import pytest
import torch.distributed as dist

from lmmcl.train import cli


def test_a_finished_run_destroys_its_process_group(monkeypatch, tmp_path):
    def fake_cli(**kwargs):  # what Lightning's DDP strategy leaves behind after fit: an initialised gloo group
        dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
        return "the run"

    monkeypatch.setattr(cli, "cli_kwargs", lambda args: {})
    monkeypatch.setattr(cli, "LMMCLI", fake_cli)
    assert cli.run(["fit"]) == "the run"
    assert not dist.is_initialized()


def test_a_failed_run_leaves_its_process_group_alone(monkeypatch, tmp_path):
    def failing_cli(**kwargs):  # another rank may still wait in a collective: destroying here could hang it
        dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
        raise RuntimeError("NaN loss")

    monkeypatch.setattr(cli, "cli_kwargs", lambda args: {})
    monkeypatch.setattr(cli, "LMMCLI", failing_cli)
    with pytest.raises(RuntimeError, match="NaN loss"):
        cli.run(["fit"])
    assert dist.is_initialized()
    dist.destroy_process_group()
