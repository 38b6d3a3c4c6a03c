"""How long a pool of runs will take, before it trains (``--dry-run``).

A run costs its stages' optimizer steps plus its evaluations (the base row, unless a run of the same seed evaluated
it first and the cache gives it back, and one after each stage; the restore analysis adds four). The seconds per step
and per evaluation come from the pool's own finished runs when its work directory holds any (their time by phase,
:class:`lmmcl.train.perf.PhaseTimer`), else from ``DEFAULT_RATES``: the ``tiny`` preset at batch 32 on one thread.
The wall time is the schedule of those run times over ``jobs`` workers, in the pool's order.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Rough, for a pool without finished runs: the averages of a three-seed compare of the tiny preset (MLP 5x its
# width) at batch 32, two single-thread workers on a shared 2-core machine: 4,275 s in 22,500 steps, 552 s in 228
# evaluations. Not a speed measurement: the pool's own runs replace them as soon as it has any.
DEFAULT_RATES = {"step_s": 0.19, "evaluation_s": 2.4}
RESTORE_EVALUATIONS = 4  # the final weights and three restored groups


def measured_rates(work_dir: Path) -> dict[str, Any]:
    """Seconds per optimizer step and per evaluation over the finished runs recorded in ``work_dir/done``."""
    train = steps = evaluation = evaluations = 0.0
    runs = 0
    for path in sorted((work_dir / "done").glob("*.json")) if (work_dir / "done").is_dir() else []:
        row = json.loads(path.read_text()).get("row") or {}
        phases = row.get("phases")
        if not phases or not phases.get("batches"):
            continue
        runs += 1
        train, steps = train + phases["training_s"], steps + phases["batches"]
        evaluation, evaluations = evaluation + phases["evaluation_s"], evaluations + phases["evaluations"]
    if not runs or not steps or not evaluations:
        return {**DEFAULT_RATES, "source": "defaults (tiny, batch 32, one thread)"}
    return {"step_s": train / steps, "evaluation_s": evaluation / evaluations,
            "source": f"{runs} finished runs in {work_dir / 'done'}"}


def run_seconds(stage_steps: int, evaluations: int, rates: dict[str, Any]) -> float:
    return stage_steps * rates["step_s"] + evaluations * rates["evaluation_s"]


def makespan(durations: list[float], jobs: int) -> float:
    """Wall time of runs started in order, each on the first free of ``jobs`` workers."""
    free = [0.0] * max(1, jobs)
    for seconds in durations:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


def fmt_minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def print_plan(tasks: Sequence[Any], stages: int, work_dir: Path, jobs: int) -> float:
    """Every run of a pool (:class:`lmmcl.tools.jobs.Task`, with ``extra["steps"]`` and ``extra.get("seed")``) with its
    estimated seconds, and the estimated wall time on ``jobs`` workers (returned)."""
    rates = measured_rates(work_dir)
    seconds, seeds = [], set()
    for task in tasks:
        base_row = task.extra.get("seed") not in seeds  # evaluated once per seed, by its first run
        seeds.add(task.extra.get("seed"))
        seconds.append(run_seconds(stages * task.extra["steps"], stages + base_row + RESTORE_EVALUATIONS * task.restore,
                                   rates))
        print(f"  {task.label:<52} ~{fmt_minutes(seconds[-1])}" + ("  + restore analysis" if task.restore else ""))
    wall = makespan(seconds, jobs)
    print(f"[lmmcl] {len(tasks)} runs: estimated {fmt_minutes(wall)} on {jobs} worker(s) ({rates['step_s']:.3f} s per "
          f"step, {rates['evaluation_s']:.1f} s per evaluation: {rates['source']})")
    return wall
