"""The paper's four findings, judged on a comparison's runs: reproduced / not reproduced, with the numbers.

(a) narrow recipes (sa_proj, mlp_gate_up) learn >= 0.8x what full learns while their held-out final stays
    within 5 points of the base, where full and llm lose >= 15;
(b) held-out drops after a stage partly recover at later stages (recovery per recipe);
(c) the counting-bias probe co-varies with held-out drops (correlation over stages x recipes x seeds, with n);
(d) late MLP blocks drive the output shift (layer contribution by depth, from each run's ``layers.json``, which
    ``lmmcl compare --train`` writes after every run; rule: :data:`LATE_MLP_RULE`), per recipe over seeds.

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
# Finding (d). The per-run test is the earlier one (largest MLP change late, MLP > attention in the late half) with
# three corrections: "late" was layer >= L // 2, which for an odd L put the middle layer in the late half (2 of 3
# layers); every run of every recipe was pooled into one share, so entries with more runs weighed more and sa_proj,
# whose MLP weights never change, counted as evidence that MLPs drive the shift; and a run with no change at all
# counted against the finding instead of saying nothing. Now: per recipe over its seeds, and the verdict over the
# recipes that train language-model MLPs, each weighing the same.
LATE_MLP_RULE = ("a run follows it when its largest MLP change lies in the last half of the language-model layers "
                 "(the last floor(L/2) of L: the middle layer of an odd count is not late) and, summed over those "
                 "layers, its MLP change exceeds its self-attention change; a recipe follows it when more than half "
                 "of its measured runs (seeds) do; reproduced when more than half of the recipes that train "
                 "language-model MLP weights follow it (recipes that leave them frozen are listed, not counted)")
LATE_MLP_MEASURE = (
    "Each run's layers.json (lmmcl.eval.layers: written by lmmcl compare --train after every run, or by lmmcl layers): "
    "for every language-model layer, the change of its self-attention and MLP outputs between the base model and "
    "the run's final weights, read through the LM head and averaged over the positions that predict answer tokens "
    "of the counting-bias probe's counting prompts. A block's output change includes what changed before it (its "
    "input moved), so this says where the shift is largest, not which weights caused it: in a recipe that leaves the "
    "MLP weights frozen (sa_proj) every MLP change is carried from the trained attention, so such a recipe says "
    "whether the MLPs pass the shift on, not whether they drive it.")


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


def late_mlp_numbers(result: dict[str, Any]) -> dict[str, Any] | None:
    """What :data:`LATE_MLP_RULE` reads from one ``layers.json``; None when it cannot say where the shift is (fewer
    than two layers, or no change at all)."""
    layers = result["layers"]
    first_late = len(layers) - len(layers) // 2
    late = [r for r in layers if r["layer"] >= first_late]
    late_mlp, late_attn = sum(r["mlp"] for r in late), sum(r["self_attn"] for r in late)
    all_mlp = sum(r["mlp"] for r in layers)
    if len(layers) < 2 or all_mlp == 0 or late_mlp + late_attn == 0:
        return None
    top = max(layers, key=lambda r: r["mlp"])["layer"]
    trained = result.get("trained")  # which blocks the run trained (lmmcl compare; not in lmmcl layers' files)
    return {"layers": len(layers), "first_late": first_late, "top_mlp_layer": top,
            "mlp_share_late": late_mlp / (late_mlp + late_attn),  # > 0.5: MLP outweighs attention in the late half
            "late_share_mlp": late_mlp / all_mlp,  # the share of all MLP change that lies in the late half
            "follows": top >= first_late and late_mlp > late_attn,
            "mlp_trained": None if trained is None else bool(trained.get("mlp"))}


def late_mlp_recipe(row: dict[str, Any]) -> dict[str, Any]:
    """One recipe's runs under :data:`LATE_MLP_RULE`: per-seed values, means with spread, n, and whether it follows."""
    run_dirs = row.get("run_dirs") or []
    paths = [Path(d) / "layers.json" if d else None for d in run_dirs]
    files = [json.loads(p.read_text()) if p is not None and p.exists() else None for p in paths]
    per_run = [late_mlp_numbers(f) if f is not None else None for f in files]  # in the order of the seeds
    measured = [v for v in per_run if v is not None]
    out: dict[str, Any] = {"seeds": row.get("seeds") or [None] * len(run_dirs), "runs": len(run_dirs),
                           "with_layers": sum(f is not None for f in files), "n": len(measured),
                           "follows": sum(v["follows"] for v in measured)}
    for key in ("mlp_share_late", "late_share_mlp"):
        out[key], out[f"{key}_std"] = mean_std([v[key] for v in measured])
        out[f"{key}_per_seed"] = [None if v is None else v[key] for v in per_run]
    out["top_mlp_layer_per_seed"] = [None if v is None else v["top_mlp_layer"] for v in per_run]
    out["layers"] = measured[0]["layers"] if measured else None
    out["first_late"] = measured[0]["first_late"] if measured else None
    trained = {v["mlp_trained"] for v in measured}
    out["mlp_trained"] = trained.pop() if len(trained) == 1 else None  # None: unknown (or runs disagree)
    out["verdict"] = ("not measured" if not measured else
                      "follows" if out["follows"] > len(measured) / 2 else "does not follow")
    return out


def judge_late_mlp(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Finding (d) per recipe, over its seeds (:func:`late_mlp_recipe`), then over the recipes that train
    language-model MLP weights (unknown counts as trained: a hand-made ``lmmcl layers`` file does not say)."""
    per_recipe = {r["recipe"]: late_mlp_recipe(r) for r in rows}
    result: dict[str, Any] = {"per_recipe": per_recipe, "rule": LATE_MLP_RULE}
    if not any(v["with_layers"] for v in per_recipe.values()):
        return {**result, "verdict": "not measured",
                "detail": "no layers.json in the run directories (lmmcl compare --train writes them unless "
                          "--no-layers; or lmmcl layers by hand)"}
    judged = {name: v for name, v in per_recipe.items() if v["n"] and v["mlp_trained"] is not False}
    frozen = [name for name, v in per_recipe.items() if v["n"] and v["mlp_trained"] is False]
    runs = ", ".join(f"{name} {v['follows']}/{v['n']}" for name, v in judged.items())
    aside = f" (MLP weights frozen, not counted: {', '.join(frozen)})" if frozen else ""
    if not judged:
        return {**result, "verdict": "not measured",
                "detail": f"no measured recipe trains language-model MLP weights{aside}"}
    following = [name for name, v in judged.items() if v["verdict"] == "follows"]
    return {**result, "verdict": "reproduced" if len(following) > len(judged) / 2 else "not reproduced",
            "recipes": len(judged), "following": following,
            "detail": f"{len(following)} of {len(judged)} recipes that train language-model MLPs follow the rule "
                      f"(largest MLP change in the late half, MLP > attention there; runs that do / measured: "
                      f"{runs}){aside}; numbers per recipe below"}


def fmt_share(mean: float | None, std: float | None) -> str:
    """``0.71 ± 0.05`` (``-`` for none)."""
    return "-" if mean is None else f"{mean:.2f}" + (f" ± {std:.2f}" if std else "")


def judge(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every finding from aggregated rows (with ``run_dirs``); reads each run's report.json."""
    by_recipe = {r["recipe"]: r for r in rows}
    reports = {r["recipe"]: [json.loads((Path(d) / "report.json").read_text()) for d in r.get("run_dirs") or [] if d]
               for r in rows}
    return {"a_narrow_recipes_learn_without_forgetting": judge_learning_vs_forgetting(by_recipe),
            "b_heldout_drops_recover": judge_recovery(reports),
            "c_counting_bias_tracks_forgetting": judge_counting_bias(reports),
            "d_late_mlp_drives_output_shift": judge_late_mlp(rows)}


def render_claims(claims: dict[str, dict[str, Any]], seeds: list[Any]) -> str:
    lines = [f"# The paper's findings in this comparison (seeds: {', '.join(map(str, seeds))}; means over seeds)", "",
             *markdown_table(["finding", "verdict", "measured"],
                             [[name, c["verdict"], c["detail"]] for name, c in claims.items()])]
    late = claims.get("d_late_mlp_drives_output_shift") or {}
    if any(v["with_layers"] for v in (late.get("per_recipe") or {}).values()):
        lines += ["", *render_late_mlp(late)]
    return "\n".join(lines) + "\n"


def render_late_mlp(late: dict[str, Any]) -> list[str]:
    """Finding (d)'s section: what is measured, the rule, and the numbers per recipe (mean ± std over seeds, n)."""
    def trained(v: dict[str, Any]) -> str:
        return {True: "yes", False: "no (frozen)", None: "unknown"}[v["mlp_trained"]]

    def depth(v: dict[str, Any]) -> str:
        return "-" if v["layers"] is None else f"{v['first_late']}-{v['layers'] - 1} of 0-{v['layers'] - 1}"

    body = [[name, trained(v), f"{v['n']} of {v['runs']}", depth(v),
             " / ".join("-" if t is None else str(t) for t in v["top_mlp_layer_per_seed"]),
             fmt_share(v["mlp_share_late"], v["mlp_share_late_std"]),
             fmt_share(v["late_share_mlp"], v["late_share_mlp_std"]), f"{v['follows']} of {v['n']}", v["verdict"]]
            for name, v in late["per_recipe"].items()]
    return ["## (d) Late MLP blocks drive the output shift: layer contribution by depth", "", LATE_MLP_MEASURE, "",
            f"Rule: {late['rule']}.", "",
            *markdown_table(["recipe", "LM MLP trained", "runs measured (n)", "late half (layers)",
                             "largest MLP change at layer, per seed", "MLP share of the late-half change",
                             "late-half share of the MLP change", "runs that follow", "recipe"], body),
            "", "Shares are means ± std over the measured seeds; MLP share of the late-half change = late MLP / "
                "(late MLP + late self-attention), above 0.5 when the MLPs outweigh attention there."]


__all__ = ["judge", "render_claims", "recovery", "heldout_curve", "pearson", "mean_std", "late_mlp_numbers"]
