"""TensorBoard as a user sees it: the server, started on a smoke run's logs, serves the scalars, the figures
and the sample text through its HTTP API."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lmmcl.train.cli import run

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def smoke_logs(tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    run(["fit", "--config", str(ROOT / "configs/experiment/default.yaml"),
         "--config", str(ROOT / "configs/experiment/smoke.yaml"), "--model.preset", "tiny_scratch",
         "--trainer.logger.init_args.save_dir", str(logs), "--trainer.enable_progress_bar", "false"])
    return logs


@pytest.fixture(scope="module")
def server(smoke_logs):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(smoke_logs), "--host",
                             "127.0.0.1", "--port", str(port), "--load_fast", "false", "--reload_interval", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def tags(server: str, plugin: str, want: set[str], timeout: float = 60.0) -> set[str]:
    """Every tag of ``plugin`` over the runs, polling until ``want`` is among them or ``timeout`` passes."""
    deadline, found = time.monotonic() + timeout, set()
    while time.monotonic() < deadline:
        try:
            runs = get(f"{server}/data/plugin/{plugin}/tags")
            found = {tag for run_tags in runs.values() for tag in run_tags}
            if want <= found:
                break
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    return found


def test_scalars_figures_and_sample_text_are_served(server):
    scalars = tags(server, "scalars", {"val/color", "stage/color", "drift/kl"})
    assert {"val/color", "val/heldout_mean", "stage/color", "stage/step", "drift/kl", "drift/number_mass",
            "drift/format_agreement"} <= scalars
    images = tags(server, "images", {"report/accuracy_matrix"})
    assert {"report/accuracy_matrix", "report/counting_bias"} <= images
    text = {"samples/color/text_summary", "samples/count/text_summary"}  # add_text's tags end in /text_summary
    assert text <= tags(server, "text", text)
    run_name = next(r for r in get(f"{server}/data/runs") if r.endswith("version_0"))
    samples = get(f"{server}/data/plugin/text/text?run={run_name}&tag=samples/color/text_summary")
    assert len(samples) == 3 and "prediction" in samples[-1]["text"]  # base + two stages, a table of answers
    points = get(f"{server}/data/plugin/scalars/scalars?run={run_name}&tag=drift/kl")
    assert len(points) >= 4  # smoke: two stages, at least twice each
