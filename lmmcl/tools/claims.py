"""The paper's four findings, judged on a comparison by rules that can fail: reproduced / not reproduced / not
measured, each with its numbers. The rules are the ``RULE_*`` texts below, written into claims.md as they are.

(a) The narrow recipes (sa_proj, mlp_gate_up) learn nearly what the full-LLM control ``llm`` learns and forget far
    less: at the configured budget, and on the learning-vs-forgetting frontier at matched learning
    (:mod:`lmmcl.tools.frontier`), with a seed-bootstrap interval.
(b) Held-out drops partly recover at later stages: the share of each stage's drop given back at any later stage
    (:func:`lmmcl.eval.transfer.recovery_shares`), per recipe over its seeds.
(c) The counting bias tracks forgetting: the probe's non-counting number mass against the held-out change, one
    point per run and stage, net of stage and recipe, the interval from a bootstrap over runs
    (:mod:`lmmcl.tools.association`).
(d) Late MLPs cause the forgetting: restoring their base weights gives back more held-out score than restoring late
    attention or early MLPs (:mod:`lmmcl.eval.restore`), and sa_proj, whose MLPs are frozen, comes out differently.

A finding without the data its rule needs is "not measured", never "reproduced".
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from lmmcl.tables import markdown_table
from lmmcl.tools.association import Observation, bootstrap_partial_correlation
from lmmcl.tools.seeds import with_spread

NARROW, CONTROL = ("sa_proj", "mlp_gate_up"), "llm"
LEARN_RATIO, FORGET_RATIO = 0.7, 1 / 3
RECOVERY_MEDIAN = 0.25
MATTERS = 1.0  # points of held-out mean: less is within an evaluation's noise
NO_CHANGE = 1e-6  # points: what "changes nothing" allows (the same weights give the same answers)
RESTORE_GROUPS = ("late_mlp", "late_attention", "early_mlp")  # the restore analysis's groups (d) reads

RULE_A = (f"at the configured budget each narrow recipe ({', '.join(NARROW)}) learns at least {LEARN_RATIO}x what "
          f"{CONTROL} learns, and on the frontiers its mean forgetting at matched learning is at most "
          f"{FORGET_RATIO:.2f}x {CONTROL}'s, with the seed-bootstrap 95 % interval of that ratio below 1")
RULE_B = ("per run at the configured budget, every stage but the last whose held-out mean dropped at least 1 point "
          "gives a share: the most of that drop given back at any later stage, divided by the drop; reproduced when "
          f"the median share over its seeds' drops is at least {RECOVERY_MEDIAN} for every narrow recipe that has a "
          "drop (recipes without one are listed)")
RULE_C = ("one point per run and stage (every run of the compare, every budget): the change from the base of the "
          "counting-bias probe's number mass on non-counting prompts, and of the held-out mean; their partial "
          "correlation net of stage and recipe fixed effects, with a 95 % interval from a bootstrap over runs (the "
          "effective n is the number of runs); reproduced when it is negative (mass up with forgetting) with the "
          "interval's upper end below 0")
RULE_D = ("at the configured budget, per recipe (means over seeds): the held-out mean given back by putting the "
          "base's weights back into the late MLPs (last half of the language-model layers), the late attention, and "
          "the early MLPs; reproduced when every recipe that trains MLP weights gets more back from the late MLPs "
          f"than from either control, and sa_proj (MLPs frozen) comes out differently: restoring its MLPs changes no "
          f"weight and no score (within {NO_CHANGE} points) and restoring its late attention gives back at least "
          f"{MATTERS} point")


def verdict(ok: bool) -> str:
    return "reproduced" if ok else "not reproduced"


def not_measured(detail: str, **numbers: Any) -> dict[str, Any]:
    return {"verdict": "not measured", "detail": detail, **numbers}


def fmt_interval(ci: list[float] | None, spec: str = ".2f") -> str:
    return "-" if ci is None else f"[{format(ci[0], spec)}, {format(ci[1], spec)}]"


# --- (a) -------------------------------------------------------------------------------------------------------
def judge_learning_vs_forgetting(rows: dict[str, dict[str, Any]], matched: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """(a) from the configured budget's rows (per recipe, means over seeds) and the frontier comparison with the
    control (:func:`lmmcl.tools.frontier.bootstrap_matched`)."""
    missing = [r for r in (CONTROL, *NARROW) if r not in rows]
    if missing:
        return not_measured(f"needs {', '.join(missing)} at the configured budget", rule=RULE_A)
    control = rows[CONTROL]
    if not control["learning"] or control["learning"] <= 0:
        return not_measured(f"{CONTROL} learned nothing ({control['learning']}): no learning to divide by", rule=RULE_A)
    per_recipe, reasons = {}, []
    for recipe in NARROW:
        m = matched.get(recipe) or {}
        ratio, ci = m.get("ratio"), (m.get("ci95") or {}).get("ratio")
        numbers = {"learning_ratio": rows[recipe]["learning"] / control["learning"],
                   "heldout_final": rows[recipe]["heldout_final"], "forgetting_ratio": ratio,
                   "forgetting_ratio_ci95": ci, "overlap": m.get("overlap")}
        learns = numbers["learning_ratio"] >= LEARN_RATIO
        if ratio is None or ci is None:  # unknown, unless the learning bar already fails
            reasons.append(f"{recipe}: no frontier overlap with {CONTROL}, or {CONTROL} does not forget there")
            numbers["ok"] = None if learns else False
        else:
            numbers["ok"] = learns and ratio <= FORGET_RATIO and ci[1] < 1
        per_recipe[recipe] = numbers
    budget = "; ".join(f"{r} {with_spread(rows[r]['learning'], rows[r].get('learning_std'))} / "
                       f"{with_spread(rows[r]['heldout_final'], rows[r].get('heldout_final_std'))}"
                       for r in (CONTROL, *NARROW))
    frontier = "; ".join(f"{r}: learns {v['learning_ratio']:.2f}x {CONTROL}, forgets "
                         + ("-" if v["forgetting_ratio"] is None else f"{v['forgetting_ratio']:.2f}x")
                         + f" at matched learning (95 % {fmt_interval(v['forgetting_ratio_ci95'])})"
                         for r, v in per_recipe.items())
    detail = f"configured budget, learning / held-out final: {budget}. {frontier}" + "".join(f"; {r}" for r in reasons)
    oks = [v["ok"] for v in per_recipe.values()]
    if False not in oks and None in oks:  # the verdict hangs on what was not measured
        return not_measured(detail, rule=RULE_A, per_recipe=per_recipe)
    return {"verdict": verdict(all(oks)), "detail": detail, "rule": RULE_A, "per_recipe": per_recipe}


# --- (b) -------------------------------------------------------------------------------------------------------
def heldout_means(report: dict[str, Any]) -> list[float]:
    """The mean held-out score after every accuracy-matrix row (row 0: the base)."""
    return [statistics.fmean(row["scores"][h] for h in report["heldout"]) for row in report["stages"]]


def judge_recovery(curves: dict[str, list[list[float]]]) -> dict[str, Any]:
    """(b) from each recipe's runs' :func:`heldout_means` (configured budget, one list per seed)."""
    from lmmcl.eval.transfer import RECOVERY_MIN_DROP, recovery_shares

    per_recipe = {}
    for recipe, runs in curves.items():
        shares = [v for held in runs for v in recovery_shares(held).values()]
        per_recipe[recipe] = {"drops": len(shares), "runs": len(runs), "shares": shares,
                              "median_share": statistics.median(shares) if shares else None}
    judged = {r: per_recipe[r] for r in NARROW if per_recipe.get(r, {}).get("drops")}
    detail = "; ".join(f"{r}: median {'-' if v['median_share'] is None else format(v['median_share'], '.2f')} over "
                       f"{v['drops']} drops of >= {RECOVERY_MIN_DROP:.0f} point in {v['runs']} runs"
                       for r, v in per_recipe.items())
    if not judged:
        return not_measured(f"no narrow recipe has a held-out drop of >= {RECOVERY_MIN_DROP:.0f} point before its last "
                            f"stage ({detail or 'no runs'})", rule=RULE_B, per_recipe=per_recipe)
    ok = all(v["median_share"] >= RECOVERY_MEDIAN for v in judged.values())
    return {"verdict": verdict(ok), "detail": detail, "rule": RULE_B, "per_recipe": per_recipe,
            "judged": list(judged)}


# --- (c) -------------------------------------------------------------------------------------------------------
def probe_observations(run: str, recipe: str, report: dict[str, Any]) -> list[Observation]:
    """One point per stage of a run: non-counting number-mass change and held-out mean change, both from the base
    (the probe's entries are one per accuracy-matrix row, in its order)."""
    probe = [e.get("heldout", {}).get("mass_mean") for e in report.get("counting_bias") or []]
    held = heldout_means(report)
    if len(probe) != len(held) or None in probe:
        return []
    return [Observation(run, k, recipe, probe[k] - probe[0], held[k] - held[0]) for k in range(1, len(held))]


def judge_counting_bias(points: list[Observation]) -> dict[str, Any]:
    """(c) from every run's :func:`probe_observations`."""
    stats = bootstrap_partial_correlation(points)
    n = f"{stats['runs']} runs ({stats['points']} run-stage points)"
    if stats["r"] is None or stats["ci95"] is None:
        return not_measured(f"{n}: too few, or nothing left once stage and recipe are taken out", rule=RULE_C, **stats)
    ok = stats["r"] < 0 and stats["ci95"][1] < 0
    return {"verdict": verdict(ok), "rule": RULE_C, **stats,
            "detail": f"partial r = {stats['r']:+.2f} (95 % {fmt_interval(stats['ci95'], '+.2f')}) between the "
                      f"non-counting number-mass change and the held-out change, net of stage and recipe; n = {n}"}


# --- (d) -------------------------------------------------------------------------------------------------------
def restore_numbers(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One recipe's restore analyses (one per seed): per group, the mean held-out and mass change and how many
    weight tensors the runs had changed."""
    groups = list(dict.fromkeys(g for r in results for g in r["groups"]))
    out: dict[str, Any] = {"runs": len(results)}
    for g in groups:
        values = [r["groups"][g] for r in results if g in r["groups"]]
        masses = [v["noncounting_mass_change"] for v in values if v.get("noncounting_mass_change") is not None]
        out[g] = {"heldout_mean_change": statistics.fmean(v["heldout_mean_change"] for v in values),
                  "heldout_mean_change_per_seed": [v["heldout_mean_change"] for v in values],
                  "noncounting_mass_change": statistics.fmean(masses) if masses else None,
                  "changed_tensors": sum(v["changed_tensors"] for v in values)}
    return out


def judge_restore(per_recipe_results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """(d) from each recipe's restore.json results (configured budget)."""
    per_recipe = {r: restore_numbers(v) for r, v in per_recipe_results.items() if v}
    per_recipe = {r: v for r, v in per_recipe.items() if all(g in v for g in RESTORE_GROUPS)}
    for v in per_recipe.values():
        v["trains_mlp"] = v["late_mlp"]["changed_tensors"] + v["early_mlp"]["changed_tensors"] > 0
        late = v["late_mlp"]["heldout_mean_change"]
        v["late_mlp_leads"] = late > max(v["late_attention"]["heldout_mean_change"],
                                         v["early_mlp"]["heldout_mean_change"])
    mlp_recipes = {r: v for r, v in per_recipe.items() if v["trains_mlp"]}
    control = per_recipe.get("sa_proj")
    detail = "; ".join(f"{r}: late MLP {v['late_mlp']['heldout_mean_change']:+.1f}, late attention "
                       f"{v['late_attention']['heldout_mean_change']:+.1f}, early MLP "
                       f"{v['early_mlp']['heldout_mean_change']:+.1f}" for r, v in per_recipe.items())
    if not mlp_recipes or control is None:
        lacking = "no recipe that trains MLP weights" if not mlp_recipes else "sa_proj (the control) was not restored"
        return not_measured(f"{lacking} ({detail or 'no restore analysis'})", rule=RULE_D, per_recipe=per_recipe)
    frozen = control["late_mlp"]["changed_tensors"] + control["early_mlp"]["changed_tensors"] == 0
    still = all(abs(control[g]["heldout_mean_change"]) <= NO_CHANGE for g in ("late_mlp", "early_mlp"))
    attention = control["late_attention"]["heldout_mean_change"] >= MATTERS
    control_ok = frozen and still and attention
    leading = [r for r, v in mlp_recipes.items() if v["late_mlp_leads"]]
    ok = len(leading) == len(mlp_recipes) and control_ok
    return {"verdict": verdict(ok), "rule": RULE_D, "per_recipe": per_recipe,
            "control": {"mlp_frozen": frozen, "mlp_restore_changes_nothing": still,
                        "late_attention_matters": attention},
            "detail": f"{detail} (points of held-out mean given back). Late MLPs lead in {len(leading)} of "
                      f"{len(mlp_recipes)} MLP-training recipes; sa_proj control: MLP weights "
                      f"{'frozen' if frozen else 'CHANGED'}, "
                      f"MLP restore {'changes nothing' if still else 'CHANGES scores'}, "
                      f"late attention {'matters' if attention else 'does not matter'}"}


# --- all four ----------------------------------------------------------------------------------------------------
def judge(rows: list[dict[str, Any]], runs: list[dict[str, Any]], matched: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every finding. ``rows``: the configured budget's per-recipe means; ``runs``: every run's row (with
    ``recipe``, ``configured``, ``run_dir`` and, where analysed, ``restore``); ``matched``: the frontier comparison
    with the control. Reads each run's report.json and restore.json."""
    reports = {r["run_dir"]: json.loads((Path(r["run_dir"]) / "report.json").read_text()) for r in runs}
    configured = [r for r in runs if r.get("configured", True)]
    curves: dict[str, list[list[float]]] = {}
    restores: dict[str, list[dict[str, Any]]] = {}
    for r in configured:
        curves.setdefault(r["recipe"], []).append(heldout_means(reports[r["run_dir"]]))
        path = Path(r["run_dir"]) / "restore.json"
        if path.exists():
            restores.setdefault(r["recipe"], []).append(json.loads(path.read_text()))
    points = [p for r in runs for p in probe_observations(r["run_dir"], r["recipe"], reports[r["run_dir"]])]
    by_recipe = {r["recipe"]: r for r in rows}
    return {"a_narrow_recipes_learn_without_forgetting": judge_learning_vs_forgetting(by_recipe, matched),
            "b_heldout_drops_recover": judge_recovery(curves),
            "c_counting_bias_tracks_forgetting": judge_counting_bias(points),
            "d_late_mlps_cause_forgetting": judge_restore(restores)}


def render_claims(claims: dict[str, dict[str, Any]], seeds: list[Any], budget: str) -> str:
    lines = ["# The paper's findings in this comparison", "",
             f"Seeds {', '.join(map(str, seeds))}; configured budget {budget}; means over seeds.", "",
             *markdown_table(["finding", "verdict", "measured"],
                             [[name, f"**{c['verdict']}**", c["detail"]] for name, c in claims.items()]), "",
             "## Rules", ""]
    lines += [f"- **{name}**: {c['rule']}." for name, c in claims.items()]
    restore = claims.get("d_late_mlps_cause_forgetting", {}).get("per_recipe") or {}
    if restore:
        lines += ["", "## (d) Held-out mean given back by restoring base weights (points; mass: non-counting number "
                      "mass change)", "",
                  *markdown_table(["recipe", "MLP weights trained", "late MLP", "late attention", "early MLP",
                                   "late MLP per seed", "mass change (late MLP / late attn / early MLP)"],
                                  [[r, "yes" if v["trains_mlp"] else "no (frozen)",
                                    *(f"{v[g]['heldout_mean_change']:+.2f}" for g in RESTORE_GROUPS),
                                    " / ".join(f"{x:+.1f}" for x in v["late_mlp"]["heldout_mean_change_per_seed"]),
                                    " / ".join("-" if v[g]["noncounting_mass_change"] is None else
                                               f"{v[g]['noncounting_mass_change']:+.4f}"
                                               for g in RESTORE_GROUPS)]
                                   for r, v in restore.items()])]
    return "\n".join(lines) + "\n"
