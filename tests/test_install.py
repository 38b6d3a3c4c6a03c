"""A non-editable install works anywhere: the wheel carries its configs, and its ``lmmcl`` answers from another
directory (``lmmcl recipes tiny`` and a smoke fit), importing the installed package, not this checkout."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "logs", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                    "benchmarks", "tests", ".whl", ".cache")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_wheel_installs_non_editable_and_runs_from_another_directory(tmp_path):
    src, wheels, venv, elsewhere = (tmp_path / d for d in ("src", "wheels", "venv", "elsewhere"))
    shutil.copytree(ROOT, src, symlinks=True, ignore=NOT_SOURCE)  # a clean copy: the build writes nothing here
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src), "-w",
          str(wheels)], tmp_path, env)
    (wheel,) = wheels.glob("lmmcl-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-build-isolation", str(wheel)], tmp_path, env)
    # The dependencies (torch, lightning, ...) from this interpreter's site-packages, added as a plain path:
    # its .pth files (this checkout's editable install among them) are not processed, so lmmcl is the wheel's.
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, env).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere.mkdir()

    where = _run([str(python), "-c", "import lmmcl.registry as r; print(r.__file__); print(r.config_dir('recipe'))"],
                 elsewhere, env).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert (Path(where[1]) / "mlp_gate_up.yaml").is_file() and not Path(where[1]).is_symlink()

    lmmcl = str(venv / "bin" / "lmmcl")
    assert "mlp_gate_up" in _run([lmmcl, "recipes", "tiny"], elsewhere, env)
    _run([lmmcl, "fit", "--model.preset", "tiny_scratch", "--data.skills", "[species]", "--data.heldout", "[color]",
          "--data.train_size", "8", "--data.test_size", "4", "--data.batch_size", "4", "--data.eval_batch_size", "4",
          "--drift.enabled", "false", "--trainer.callbacks", "[]", "--trainer.enable_progress_bar", "false"],
         elsewhere, env)
    (report,) = (elsewhere / "logs").glob("tiny_scratch/mlp_gate_up/version_0/report.json")
    assert '"species"' in report.read_text()
