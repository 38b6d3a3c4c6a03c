"""The paper's four findings, judged on a comparison's runs: reproduced / not reproduced, with the numbers.

(a) narrow recipes (sa_proj, mlp_gate_up) learn >= 0.8x what full learns while their held-out final stays
    within 5 points of the base, where full and llm lose >= 15;
(b) held-out drops after a stage partly recover at later stages (recovery per recipe);
(c) the counting-bias probe co-varies with held-out drops (correlation over stages x recipes x seeds, with n);
(d) late MLP blocks drive the output shift (layer contribution by depth; needs ``layers.json`` in run dirs).

Input: the aggregated rows of :func:`lmmcl.tools.seeds.aggregate` (means over seeds) and each run's report.json.
A finding without the data to judge it is reported as "not measured", never as reproduced.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from lmmcl.tables import markdown_table
from lmmcl.tools.seeds import mean_std, with_spread

NARROW, BROAD = ("sa_proj", "mlp_gate_up"), ("full", "llm")
LEARN_RATIO, KEEP, LOSE = 0.8, -5.0, -15.0
RECOVERY_MIN_DROP, RECOVERY_SHARE = 5.0, 0.2
CORRELATION_MIN = 0.3


def heldout_curve(report: dict[str, Any]) -> list[float]:
    """Mean held-out change from the base after each stage (points)."""
    base = report["stages"][0]["scores"]
    return [statistics.fmean(row["scores"][h] - base[h] for h in report["heldout"]) for row in report["stages"][1:]]


def recovery(report: dict[str, Any]) -> dict[str, float]:
    """The worst held-out change over the stages, the final one, and how much came back (final - worst)."""
    curve = heldout_curve(report)
    worst = min(curve)
    return {"worst": worst, "final": curve[-1], "recovered": curve[-1] - worst}


def judge_learning_vs_forgetting(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    missing = [r for r in NARROW + BROAD if r not in rows]
    if missing:
        return {"verdict": "not measured", "detail": f"needs rows {', '.join(missing)}"}
    full = rows["full"]["learning"]
    checks = {f"{r} learns >= {LEARN_RATIO}x full": rows[r]["learning"] >= LEARN_RATIO * full for r in NARROW}
    checks |= {f"{r} held-out final >= {KEEP:+.0f}": rows[r]["heldout_final"] >= KEEP for r in NARROW}
    checks |= {f"{r} held-out final <= {LOSE:+.0f}": rows[r]["heldout_final"] <= LOSE for r in BROAD}
    numbers = "; ".join(f"{r} {with_spread(rows[r]['learning'], rows[r].get('learning_std'))} / "
                        f"{with_spread(rows[r]['heldout_final'], rows[r].get('heldout_final_std'))}"
                        for r in NARROW + BROAD)
    failed = [k for k, ok in checks.items() if not ok]
    return {"verdict": "reproduced" if not failed else "not reproduced", "checks": checks,
            "detail": f"learning / held-out final: {numbers}" + (f"; fails: {', '.join(failed)}" if failed else "")}


def judge_recovery(reports: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    per_recipe = {}
    for recipe, runs in reports.items():
        values = [recovery(r) for r in runs if len(r["stages"]) > 2]
        if values:
            per_recipe[recipe] = {k: statistics.fmean(v[k] for v in values) for k in ("worst", "final", "recovered")}
    dropping = {r: v for r, v in per_recipe.items() if v["worst"] <= -RECOVERY_MIN_DROP}
    if not dropping:
        return {"verdict": "not measured", "per_recipe": per_recipe,
                "detail": f"no recipe drops {RECOVERY_MIN_DROP:.0f}+ held-out points at any stage"}
    recovered = {r: v["recovered"] >= RECOVERY_SHARE * -v["worst"] for r, v in dropping.items()}
    detail = "; ".join(f"{r}: worst {v['worst']:+.1f}, final {v['final']:+.1f}, back {v['recovered']:+.1f}"
                       for r, v in per_recipe.items())
    return {"verdict": "reproduced" if all(recovered.values()) else "not reproduced", "per_recipe": per_recipe,
            "detail": f"{detail} (rule: every recipe that drops >= {RECOVERY_MIN_DROP:.0f} points gets back "
                      f">= {RECOVERY_SHARE:.0%} of its worst drop by the last stage)"}


def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or statistics.pstdev(xs) == 0 or statistics.pstdev(ys) == 0:
        return None
    return statistics.correlation(xs, ys)


def judge_counting_bias(reports: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Correlation of the number-token mass on non-counting prompts (change from the base) with the held-out
    change, over every stage of every run: the paper's bias predicts a negative correlation."""
    xs, ys = [], []
    for runs in reports.values():
        for report in runs:
            probe = {e["stage"]: e["heldout"]["mass_mean"] for e in report.get("counting_bias", [])
                     if "mass_mean" in e.get("heldout", {})}
            names = [row["name"] for row in report["stages"]]
            if names[0] not in probe:
                continue
            for name, change in zip(names[1:], heldout_curve(report)):
                if name in probe:
                    xs.append(probe[name] - probe[names[0]])
                    ys.append(change)
    r = pearson(xs, ys)
    if r is None:
        return {"verdict": "not measured", "n": len(xs), "detail": f"n = {len(xs)} (stage, run) points: too few or constant"}
    ok = r <= -CORRELATION_MIN
    return {"verdict": "reproduced" if ok else "not reproduced", "r": r, "n": len(xs),
            "detail": f"Pearson r = {r:+.2f} over n = {len(xs)} (stage x run) points between the number-token mass "
                      f"on non-counting prompts and the held-out change (rule: r <= -{CORRELATION_MIN})"}


def judge_late_mlp(run_dirs: list[str]) -> dict[str, Any]:
    """From ``layers.json`` files (``lmmcl layers``) in the run directories: is the largest MLP change in the
    last half of the layers, and larger than the self-attention change there?"""
    results = [json.loads(p.read_text()) for d in run_dirs if d and (p := Path(d) / "layers.json").exists()]
    if not results:
        return {"verdict": "not measured", "detail": "no layers.json in the run directories (run `lmmcl layers`)"}
    late = []
    for res in results:
        layers = res["layers"]
        top = max(layers, key=lambda r: r["mlp"])
        half = [r for r in layers if r["layer"] >= len(layers) // 2]
        late.append(top["layer"] >= len(layers) // 2 and sum(r["mlp"] for r in half) > sum(r["self_attn"] for r in half))
    share = sum(late) / len(late)
    return {"verdict": "reproduced" if share > 0.5 else "not reproduced", "n": len(late),
            "detail": f"{sum(late)} of {len(late)} runs: largest MLP change in the late half, MLP > attention there"}


def judge(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every finding from aggregated rows (with ``run_dirs``); reads each run's report.json."""
    by_recipe = {r["recipe"]: r for r in rows}
    reports = {r["recipe"]: [json.loads((Path(d) / "report.json").read_text()) for d in r.get("run_dirs") or [] if d]
               for r in rows}
    return {"a_narrow_recipes_learn_without_forgetting": judge_learning_vs_forgetting(by_recipe),
            "b_heldout_drops_recover": judge_recovery(reports),
            "c_counting_bias_tracks_forgetting": judge_counting_bias(reports),
            "d_late_mlp_drives_output_shift": judge_late_mlp([d for r in rows for d in r.get("run_dirs") or []])}


def render_claims(claims: dict[str, dict[str, Any]], seeds: list[Any]) -> str:
    lines = [f"# The paper's findings in this comparison (seeds: {', '.join(map(str, seeds))}; means over seeds)", "",
             *markdown_table(["finding", "verdict", "measured"],
                             [[name, c["verdict"], c["detail"]] for name, c in claims.items()])]
    return "\n".join(lines) + "\n"


__all__ = ["judge", "render_claims", "recovery", "heldout_curve", "pearson", "mean_std"]
