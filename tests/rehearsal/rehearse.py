"""A rehearsal of the paper's protocol on this machine: ``configs/experiment/paper.yaml`` run through ``lmmcl fit``,
changed only where a machine without weights, data or GPUs must.

What changes, and why:
- model: the real preset (``llava``, ``llava_next``, ``qwen2_5_vl``) loaded from a local ``save_pretrained``
  directory (``--model.model_path``) of the same family's architecture at tiny size (``tiny_onevision``,
  ``tiny_next``, ``tiny_qwen2_5_vl``: the real model and processor classes, random weights), not the 7B/8B hub
  weights;
- data: local copies of the five target and eight held-out benchmarks in their real on-disk format
  (tests/rehearsal/local_benchmarks.py: ``--rows`` good records per split, locally drawn pictures, and bad
  records of every kind), read through ``LMMCL_DATA_DIR``; the protocol's "every sample" then means those;
- devices: ``--trainer.accelerator cpu`` and two processes, DDP over gloo (configs/trainer/ddp.yaml), not GPUs;
- ``data.num_workers 0``: DataLoader workers of two processes would only compete for the same cores.
Everything else is paper.yaml's: the five stages in its order (or ``--order``), the eight held-out benchmarks
after every stage, bf16-mixed precision, LRs, schedule, batch size and accumulation, the report.

    python tests/rehearsal/rehearse.py [--family llava] [--order order_alt] [--rows 24] [--out logs/rehearsal]

Prints where the report is; exits with ``lmmcl fit``'s status.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

DIST_ENV = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_benchmarks import write_benchmarks  # noqa: E402

TINY = {"llava": "tiny_onevision", "llava_next": "tiny_next", "qwen2_5_vl": "tiny_qwen2_5_vl"}
ORDERS = ("order_alt", "order_clock_first")


def fit_command(family: str, model_dir: Path, logs: Path, name: str, devices: int, order: str | None) -> list[str]:
    """``lmmcl fit`` on paper.yaml with the rehearsal's changes (module docstring)."""
    exe = Path(sys.executable).with_name("lmmcl")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "lmmcl.cli"]
    configs = ["configs/experiment/paper.yaml", "configs/trainer/ddp.yaml"]
    configs += [f"configs/experiment/{order}.yaml"] if order else []
    return [*cli, "fit", *(a for c in configs for a in ("--config", str(ROOT / c))),
            "--model.preset", family, "--model.model_path", str(model_dir),
            "--trainer.accelerator", "cpu", "--trainer.devices", str(devices), "--data.num_workers", "0",
            "--trainer.logger.init_args.save_dir", str(logs), "--trainer.logger.init_args.name", name]


def rehearse(family: str = "llava", order: str | None = None, rows: int = 24, out: str | Path = "logs/rehearsal",
             devices: int = 2, extra: list[str] = ()) -> tuple[int, Path | None]:
    """Run the rehearsal; returns (exit status of ``lmmcl fit``, report.md or None)."""
    from lmmcl.models.presets import get_preset, resolve_checkpoint

    out = Path(out).resolve()
    data = write_benchmarks(out / "data", rows=rows)
    model_dir = resolve_checkpoint(get_preset(TINY[family]))  # builds the tiny family once (cached)
    name = f"{family}" + (f"-{order}" if order else "")
    # A process-group rendezvous of the caller (an earlier DDP test in the same pytest process sets MASTER_PORT and
    # keeps that port bound) must not leak into the rehearsal's own two processes: they pick a free port.
    inherited = {k: v for k, v in os.environ.items() if k not in DIST_ENV}
    env = {**inherited, "LMMCL_DATA_DIR": str(data), "HF_HOME": str(out / "hf_home"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = fit_command(family, model_dir, out / "logs", name, devices, order) + list(extra)
    print("[rehearsal] " + " ".join(command), flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(done.stdout[-4000:], flush=True)
    found = re.search(r"\[lmmcl\] done\. Report: (\S+report\.md)", done.stdout)
    report = Path(found.group(1)) if found else None
    print(f"[rehearsal] {family}{' ' + order if order else ''}: exit {done.returncode}; report: {report}", flush=True)
    return done.returncode, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(TINY), default="llava", help="the real preset rehearsed")
    parser.add_argument("--order", choices=ORDERS, help="one of the paper's alternative task orders")
    parser.add_argument("--rows", type=int, default=24, help="good records per benchmark split (default 24)")
    parser.add_argument("--devices", type=int, default=2, help="processes (DDP over gloo; default 2)")
    parser.add_argument("--out", default="logs/rehearsal", help="data, logs and report (default logs/rehearsal)")
    args, extra = parser.parse_known_args()
    return rehearse(args.family, args.order, args.rows, args.out, args.devices, extra)[0]


if __name__ == "__main__":
    raise SystemExit(main())
