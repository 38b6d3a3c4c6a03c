"""Forward transfer and held-out recovery, computed from the accuracy matrix (report.json ``transfer``).

Rows are the base evaluation (row 0) and one per stage; ``a[k][s]`` is the score on benchmark ``s`` after
stage ``k`` (``a[0]`` = base), ``own(s)`` the stage that trained target ``s`` (its last, if repeated), ``H[k]``
the mean held-out score after stage ``k`` and ``K`` the last stage so far.

- ``forward_transfer[s] = a[own(s) - 1][s] - a[0][s]``: how much the stages before a target's own stage
  moved its score, from the base (targets trained at stage 1 have none); ``forward_transfer_mean``.
- ``heldout_drop[k] = H[k - 1] - H[k]``: the held-out points stage ``k`` cost (negative: it gained).
- ``heldout_recovery[k] = (max over j > k of H[j] - H[k]) / heldout_drop[k]`` for stages ``k < K`` that dropped
  at least ``RECOVERY_MIN_DROP`` points: the share of that stage's drop given back at the best later stage (1 = all
  of it, 0 = none, < 0 = it only fell further), not only by the end: a drop given back in the middle and lost
  again to a later stage's own drop is still a recovery; ``heldout_recovery_mean``.
"""

from __future__ import annotations

from typing import Any

from lmmcl.tables import markdown_table

RECOVERY_MIN_DROP = 1.0  # points: a smaller drop is within an evaluation's noise, and its share is a ratio of noise


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def recovery_shares(held: list[float], min_drop: float = RECOVERY_MIN_DROP) -> dict[int, float]:
    """Row ``k`` -> the share of its held-out drop given back at any later row (module docstring), from ``held``,
    the mean held-out score after every row (row 0: the base), for each row but the last that dropped at least
    ``min_drop`` points."""
    shares = {}
    for k in range(1, len(held) - 1):
        drop = held[k - 1] - held[k]
        if drop >= min_drop:
            shares[k] = (max(held[k + 1:]) - held[k]) / drop
    return shares


def transfer_metrics(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, Any]:
    """``forward_transfer``, ``heldout_drop`` and ``heldout_recovery`` (per stage name) and their means."""
    rows = [row["scores"] for row in stages]
    names = [row["name"] for row in stages]
    own = {name: k for k, name in enumerate(names) if k > 0 and name in skills}
    forward = {s: rows[k - 1][s] - rows[0][s] for s, k in own.items() if k > 1 and s in rows[0]}
    held = [_mean([r[h] for h in heldout if h in r]) for r in rows]
    drop = {k: held[k - 1] - held[k] for k in range(1, len(rows)) if None not in (held[k - 1], held[k])}
    recovery = recovery_shares(held) if None not in held else {}
    label = {k: f"{k}:{names[k]}" for k in range(len(rows))}  # stage names can repeat; the row number cannot
    return {"forward_transfer": forward, "forward_transfer_mean": _mean(list(forward.values())),
            "heldout_drop": {label[k]: d for k, d in drop.items()},
            "heldout_recovery": {label[k]: r for k, r in recovery.items()},
            "heldout_recovery_mean": _mean(list(recovery.values()))}


def render_transfer(report: dict[str, Any]) -> list[str]:
    """The report.md section (empty before any stage)."""
    t = report.get("transfer") or {}
    if not t.get("heldout_drop"):
        return []

    def fmt(value: float | None, spec: str = "+.1f") -> str:
        return "-" if value is None else format(value, spec)

    lines = ["## Forward transfer and held-out recovery", "",
             f"- forward transfer, mean over targets (score before own stage minus base, points): "
             f"{fmt(t['forward_transfer_mean'])}",
             f"- held-out recovery, mean share of a stage's held-out drop given back at a later stage: "
             f"{fmt(t['heldout_recovery_mean'], '.2f')}", ""]
    drops = [[k, fmt(d), fmt(t["heldout_recovery"].get(k), ".2f")] for k, d in t["heldout_drop"].items()]
    lines += markdown_table(["stage", "held-out drop (points)", "share given back later"], drops)
    if t["forward_transfer"]:
        lines += ["", *markdown_table(["target", "forward transfer (points)"],
                                      [[s, fmt(v)] for s, v in t["forward_transfer"].items()])]
    return lines + [""]
