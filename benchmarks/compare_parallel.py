"""``lmmcl compare`` serial against ``--jobs 2``, and with against without the base-row cache, in one run.

Three variants of the same compare (same entries, seeds and config; each its own output and log folders):

- ``serial``: ``lmmcl compare --train --jobs 1``: one run after another in one process, with
  torch's default thread count (``OMP_NUM_THREADS`` unset; ``--serial-threads`` to pin it), the base row
  evaluated once per seed;
- ``serial_no_cache``: the same with ``--no-base-cache``: every run evaluates its base row (the compare before
  the cache existed);
- ``jobs``: ``--jobs N`` (default 2): N runs at once, each a single-thread process;
- ``serial_1`` (optional): the serial compare with one torch thread, the parallel runs' numerics and thread count.

Variants alternate (``--repeats``) and each keeps its fastest wall time. Printed: seconds per variant, the ratios
serial / jobs (the parallel speed-up) and no-cache / serial (what the cache saves), how many base rows each
variant evaluated, and whether every run's report.json is identical across the variants (it must be: same seeds).
The machine's load average is printed with the figures: other processes on a shared machine take the cores the
parallel runs need, so the ratio is only meaningful next to it.

    python -m benchmarks.compare_parallel [--preset tiny_scratch] [--recipes ...] [--seeds 0 1] [--jobs 2]
    python -m benchmarks.compare_parallel --preset tiny --full     # the default config's data sizes (minutes per run)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import format_table, parser, stats, write_result

NAME = "compare_parallel"
TINY_DATA = ["--data.skills", "[species, count]", "--data.heldout", "[color, exist, caption]",
             "--data.train_size", "32", "--data.test_size", "16", "--data.batch_size", "8",
             "--data.eval_batch_size", "16"]


def compare_command(args, variant: str, out: Path) -> list[str]:
    """The ``lmmcl compare`` command line of one variant, writing under ``out``."""
    serial = ["--jobs", "1"]
    options = {"serial": serial, "serial_1": serial, "serial_no_cache": [*serial, "--no-base-cache"],
               "jobs": ["--jobs", str(args.jobs)]}[variant]
    return [sys.executable, "-m", "lmmcl.cli", "compare", "--train", "--model", args.preset, "--recipes", *args.recipes,
            "--seeds", *map(str, args.seeds), "--lr-scales", "1",  # the configured budget only: the pool is the point
            "--out", str(out / "compare"), *options, "--",
            "--trainer.logger.init_args.save_dir", str(out / "logs"), "--trainer.enable_progress_bar", "false",
            *([] if args.full else TINY_DATA)]


def run_variant(args, variant: str, out: Path) -> dict:
    """Run one variant from scratch; its seconds, base evaluations and per-run reports."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # serial: every torch thread; jobs: lmmcl.tools.jobs sets 1 per run
    if variant == "serial_1" or (variant != "jobs" and args.serial_threads):
        env["OMP_NUM_THREADS"] = "1" if variant == "serial_1" else str(args.serial_threads)
    log = out / "compare.log"
    start = time.perf_counter()
    with log.open("w") as f:
        command = compare_command(args, variant, out)
        code = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{variant}: lmmcl compare exited {code}; see {log}")
    text = log.read_text() + "".join(p.read_text() for p in sorted((out / "compare" / "jobs").glob("*.log")))
    runs = json.loads((out / "compare" / "summary.json").read_text())["runs"]
    reports = {f"{r['recipe']}/{r['seed']}": json.loads((Path(r["run_dir"]) / "report.json").read_text()) for r in runs}
    reused = text.count("[lmmcl] base row: reused")
    return {"seconds": seconds, "base_evaluated": len(runs) - reused, "base_reused": reused, "reports": reports}


def default_threads() -> int:
    """torch's thread count in a process without ``OMP_NUM_THREADS`` (what ``make compare`` runs with)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--recipes", nargs="+", default=["mlp_gate_up", "sa_proj", "mlp", "lora"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--serial-threads", type=int,
                   help="torch threads of the serial variants (default: torch's own, as make compare runs)")
    p.add_argument("--variants", nargs="+", default=["serial", "jobs", "serial_no_cache"],
                   choices=["serial", "jobs", "serial_no_cache", "serial_1"])
    p.add_argument("--full", action="store_true", help="the default config's data sizes instead of a tiny config")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--keep", type=Path, help="keep the variants' outputs in this folder (default: a temporary one)")
    args = p.parse_args(argv)
    serial_threads = args.serial_threads or default_threads()
    load_before = os.getloadavg()

    root = args.keep or Path(tempfile.mkdtemp(prefix="compare_parallel."))
    seconds: dict[str, list[float]] = {v: [] for v in args.variants}
    results: dict[str, dict] = {}
    for _ in range(args.repeats):  # alternate: load on the shared machine hits every variant alike
        for variant in args.variants:
            results[variant] = run_variant(args, variant, root / variant)
            seconds[variant].append(results[variant]["seconds"])
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()

    best = {v: min(s) for v, s in seconds.items()}
    reference = results[args.variants[0]]["reports"]
    identical = {v: r["reports"] == reference for v, r in results.items()}
    differing = {v: sorted(k for k in reference if r["reports"].get(k) != reference[k]) for v, r in results.items()}
    n_runs = len(args.recipes) * len(args.seeds)
    print(f"\n== lmmcl compare: {args.preset}, {len(args.recipes)} entries x {len(args.seeds)} seeds = {n_runs} runs"
          f"{' (default config sizes)' if args.full else ' (tiny config)'}; serial with {serial_threads} thread(s), "
          f"jobs {args.jobs} x 1 thread; {os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    rows = [[v, f"{best[v]:.1f}", results[v]["base_evaluated"], results[v]["base_reused"],
             "yes" if identical[v] else f"NO: {', '.join(differing[v])}"] for v in args.variants]
    print(format_table(["variant", "wall s", "base rows evaluated", "base rows reused",
                        f"reports = {args.variants[0]}'s"], rows))
    ratios = {}
    if "serial" in best and "jobs" in best:
        ratios["serial_over_jobs"] = best["serial"] / best["jobs"]
        print(f"serial / --jobs {args.jobs}: {ratios['serial_over_jobs']:.2f}x (> 1: the parallel compare is faster)")
    if "serial_1" in best and "jobs" in best:
        ratios["serial_1_over_jobs"] = best["serial_1"] / best["jobs"]
        print(f"serial with 1 thread / --jobs {args.jobs}: {ratios['serial_1_over_jobs']:.2f}x (the parallelism alone)")
    if "serial" in best and "serial_no_cache" in best:
        ratios["no_cache_over_cache"] = best["serial_no_cache"] / best["serial"]
        print(f"no base-row cache / cache: {ratios['no_cache_over_cache']:.2f}x (> 1: the cache saves time)")
    write_result(args.out, NAME, serial_threads, preset=args.preset, recipes=args.recipes, seeds=args.seeds,
                 jobs=args.jobs, full=args.full, seconds={v: stats(s) for v, s in seconds.items()}, ratios=ratios,
                 identical_reports=identical, differing_runs=differing,
                 base_rows={v: {"evaluated": r["base_evaluated"], "reused": r["base_reused"]}
                            for v, r in results.items()},
                 load_avg_before=list(load_before), load_avg_after=list(load_after))
    return {"ratios": ratios, "identical": identical}


if __name__ == "__main__":
    main()
