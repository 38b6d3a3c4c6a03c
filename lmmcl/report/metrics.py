"""Summary and continual-learning metrics of an accuracy matrix (a report's ``stages`` rows).

Continual-learning metrics (``cl_metrics``; target skills only, in the order they were trained; ``a[k][s]``
is the score on skill ``s`` after stage ``k``, ``K`` the last stage so far, ``own(s)`` the stage that trained s):

- ``mft``  mean fine-tuned accuracy: mean over trained skills of ``a[own(s)][s]`` (right after its own stage);
- ``mfn``  mean final accuracy: mean over trained skills of ``a[K][s]``;
- ``maa``  mean average accuracy: mean over stages k of the mean of ``a[k][s]`` over the skills trained by k;
- ``bwt``  backward transfer: mean over skills trained before K of ``a[K][s] - a[own(s)][s]`` (negative = forgotten);
- ``forgetting[s]``: ``max(a[own(s)..K-1][s]) - a[K][s]``, the drop from its best score after learning it
  (skills trained before K only); ``forgetting_mean`` averages them;
- ``learning[s]``: ``a[own(s)][s] - base[s]``, and ``heldout_change[h]``: ``a[K][h] - base[h]`` per held-out
  benchmark (their means are the paper's ``summary.learning`` and ``summary.heldout_final``).

A skill trained at several stages counts from its last one.
"""

from __future__ import annotations

from typing import Any


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, float | None]:
    """learning, heldout_final and heldout_mean from the accuracy matrix rows."""
    if not stages:
        return {"learning": None, "heldout_final": None, "heldout_mean": None}
    base = stages[0]["scores"]
    by_name = {row["name"]: row["scores"] for row in stages[1:]}
    learning = _mean([by_name[s][s] - base[s] for s in skills if s in by_name])
    after = stages[1:]
    heldout_final = _mean([after[-1]["scores"][h] - base[h] for h in heldout]) if after else None
    heldout_mean = _mean([row["scores"][h] - base[h] for row in after for h in heldout]) if after else None
    return {"learning": learning, "heldout_final": heldout_final, "heldout_mean": heldout_mean}


def cl_metrics(skills: list[str], heldout: list[str], stages: list[dict[str, Any]]) -> dict[str, Any]:
    """MFT, MFN, MAA, BWT, forgetting per skill, learning per skill and held-out change (definitions: module doc)."""
    if len(stages) < 2:
        return {"mft": None, "mfn": None, "maa": None, "bwt": None, "forgetting_mean": None,
                "forgetting": {}, "learning": {}, "heldout_change": {}}
    base, after = stages[0]["scores"], stages[1:]
    last, final = len(after) - 1, after[-1]["scores"]
    own = {row["name"]: k for k, row in enumerate(after) if row["name"] in skills}  # a repeated skill: its last stage

    def a(k: int, skill: str) -> float:
        return after[k]["scores"][skill]

    averages, seen = [], []
    for k, row in enumerate(after):
        if row["name"] in own and row["name"] not in seen:
            seen.append(row["name"])
        if seen:
            averages.append(_mean([a(k, s) for s in seen]))
    older = [s for s in own if own[s] < last]
    forgetting = {s: max(a(k, s) for k in range(own[s], last)) - final[s] for s in older}
    return {"mft": _mean([a(own[s], s) for s in own]),
            "mfn": _mean([final[s] for s in own]),
            "maa": _mean(averages),
            "bwt": _mean([final[s] - a(own[s], s) for s in older]),
            "forgetting_mean": _mean(list(forgetting.values())),
            "forgetting": forgetting,
            "learning": {s: a(own[s], s) - base[s] for s in own},
            "heldout_change": {h: final[h] - base[h] for h in heldout if h in final and h in base}}

