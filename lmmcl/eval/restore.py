"""What putting part of a tuned model back to its base weights gives back: the causal test of the late-MLP finding.

    lmmcl restore RUN_DIR [--groups late_mlp late_attention early_mlp] [--device cpu]

The paper reads the output shift off the late MLP blocks; whether they *cause* the forgetting is tested here. On a
finished run, one group of language-model blocks at a time gets its base weights back (the rest keeps the run's
final weights), and the held-out benchmarks and the counting-bias probe's non-counting number mass are evaluated
again:

- ``late_mlp``: the MLPs of the last half of the layers (the last floor(L/2) of L; an odd count's middle layer is
  in neither half),
- ``late_attention``: the self-attention of the same layers: a control of equal depth,
- ``early_mlp``: the MLPs of the first half: a control of equal kind.

The run's final model is evaluated the same way (``final``), so every change is measured by one code path:
``heldout_mean_change`` = held-out mean after restoring minus the final one (points; positive: score came back),
``noncounting_mass_change`` = the probe's non-counting number mass after restoring minus the final one (negative:
the counting bias went back down). Each group also says how many of its weight tensors the run had changed: a
recipe that leaves a block frozen (sa_proj and the MLPs) changes none, and restoring it must change nothing.

The evaluation is the run's own: its held-out benchmarks' test splits at its data seed, batch size and answer
length, greedy answers scored by each benchmark's metric (:mod:`lmmcl.eval.generate`, as in the stage loop), and its
probe's non-counting prompts (its ``CountingBiasProbe``; none: no mass). Writes ``restore.json`` into the run
directory. Runs with adapters (LoRA, MoE: weights the base has no counterpart for) are refused with the reason.
``lmmcl compare --train`` runs :func:`restore_analysis` after each run at the configured budget, in the process
that trained it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from lmmcl.atomic import atomic_write
from lmmcl.errors import LmmclError

GROUPS = {"late_mlp": ("mlp", "late"), "late_attention": ("self_attn", "late"), "early_mlp": ("mlp", "early")}


def group_layers(n_layers: int, half: str) -> list[int]:
    """The layers of ``half`` ("early" / "late"): the first or the last floor(L/2) of ``n_layers``."""
    k = n_layers // 2
    return list(range(n_layers - k, n_layers)) if half == "late" else list(range(k))


@contextmanager
def restored(tuned: Any, base: Any, block: str, layers: Sequence[int]) -> Iterator[dict[str, int]]:
    """``tuned``'s ``block`` weights in ``layers`` replaced by ``base``'s inside the block, put back after it.
    Yields ``{"tensors": n, "changed_tensors": k}``: how many tensors were restored, and how many of them the run
    had changed (differ from the base's)."""
    from lmmcl.eval.layers import decoder_layers

    tuned_layers, base_layers = decoder_layers(tuned), decoder_layers(base)
    if len(tuned_layers) != len(base_layers):
        raise LmmclError("The run's model and its base have different numbers of language-model layers.")
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    counts = {"tensors": 0, "changed_tensors": 0}
    try:
        with torch.no_grad():
            for i in layers:
                mine = dict(getattr(tuned_layers[i], block).named_parameters())
                theirs = dict(getattr(base_layers[i], block).named_parameters())
                if mine.keys() != theirs.keys() or any(mine[k].shape != theirs[k].shape for k in mine):
                    extra = sorted(set(mine) ^ set(theirs))[:3]
                    raise LmmclError(f"layer {i}'s {block} has parameters its base lacks ({', '.join(extra)}): "
                                     "an adapter (LoRA, MoE) changed the block, so there is no base weight to put "
                                     "back. The restore analysis needs a recipe that tunes the model's own weights.")
                for name, param in mine.items():
                    source = theirs[name].to(param.device, param.dtype)
                    saved.append((param, param.detach().clone()))
                    counts["tensors"] += 1
                    counts["changed_tensors"] += int(not torch.equal(param, source))
                    param.copy_(source)
        yield counts
    finally:
        with torch.no_grad():
            for param, value in saved:
                param.copy_(value)


@torch.no_grad()
def heldout_scores(answerer: Any, heldout: Sequence[Any]) -> dict[str, float]:
    """Each held-out benchmark's score (percent) of ``answerer``'s greedy answers on its data module's test split."""
    from lightning.pytorch.utilities import move_data_to_device

    from lmmcl.eval.metrics import build_metric

    scores = {}
    for dm in heldout:
        metric = build_metric(dm.skill.metric)
        for batch in dm.test_dataloader():
            if "input_ids" not in batch:  # every sample a bad record
                continue
            preds = answerer.generate(move_data_to_device(batch, answerer.device), dm.skill.max_new_tokens)
            metric.update(preds, batch["refs"])
        scores[dm.name] = 100.0 * float(metric.compute())
    return scores


def evaluate(answerer: Any, heldout: Sequence[Any], probe: Any | None) -> dict[str, Any]:
    """Held-out scores, their mean and (with ``probe``) the non-counting number mass of the current weights."""
    was = answerer.model.training
    answerer.model.eval()
    try:
        scores = heldout_scores(answerer, heldout)
        mass = probe.measure(answerer, groups=("heldout",))["heldout"]["mass_mean"] if probe is not None else None
    finally:
        answerer.model.train(was)
    return {"heldout": scores, "heldout_mean": sum(scores.values()) / len(scores), "noncounting_mass": mass}


def restore_analysis(answerer: Any, base: Any, heldout: Sequence[Any], probe: Any | None,
                     groups: Sequence[str] = tuple(GROUPS)) -> dict[str, Any]:
    """The analysis (module docstring) of ``answerer``'s model (its final weights) against ``base``, on the held-out
    data modules ``heldout`` (their processor set) and ``probe`` (a ``CountingBiasProbe`` that avoids the run's
    scored items, or None)."""
    from lmmcl.eval.layers import decoder_layers

    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise LmmclError(f"Unknown restore group(s) {', '.join(unknown)}. Known: {', '.join(GROUPS)}.")
    start = time.time()
    n_layers = len(decoder_layers(answerer.model))
    base = base.to(answerer.device)
    final = evaluate(answerer, heldout, probe)
    result: dict[str, Any] = {"layers": n_layers, "final": final, "groups": {}}
    for name in groups:
        block, half = GROUPS[name]
        layers = group_layers(n_layers, half)
        with restored(answerer.model, base, block, layers) as counts:
            after = evaluate(answerer, heldout, probe)
        mass = None if final["noncounting_mass"] is None else after["noncounting_mass"] - final["noncounting_mass"]
        result["groups"][name] = {"block": block, "layers": layers, **counts, **after,
                                  "heldout_mean_change": after["heldout_mean"] - final["heldout_mean"],
                                  "noncounting_mass_change": mass}
    result["seconds"] = round(time.time() - start, 2)
    return result


def write_restore(run_dir: str | Path, result: dict[str, Any]) -> Path:
    path = Path(run_dir) / "restore.json"
    atomic_write(path, json.dumps(result, indent=2) + "\n")
    return path


# --- a run directory -------------------------------------------------------------------------------------------
def probe_of(callbacks: Sequence[Any]) -> Any | None:
    """The run's ``CountingBiasProbe`` from its config's ``trainer.callbacks`` entries (None when it had none)."""
    from lmmcl.eval.probe import CountingBiasProbe

    for entry in callbacks or []:
        if isinstance(entry, dict) and str(entry.get("class_path", "")).endswith("CountingBiasProbe"):
            return CountingBiasProbe(**(entry.get("init_args") or {}))
    return None


def analyse_run(run_dir: str | Path, groups: Sequence[str] = tuple(GROUPS), device: str = "cpu") -> dict[str, Any]:
    """:func:`restore_analysis` of a finished run directory (its config.yaml and checkpoints/last.ckpt)."""
    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.eval.generate import Answerer
    from lmmcl.eval.layers import load_checkpoint
    from lmmcl.models import load_model
    from lmmcl.yamlfile import load_yaml

    run_dir = Path(run_dir)
    config_path, ckpt = run_dir / "config.yaml", run_dir / "checkpoints" / "last.ckpt"
    missing = [p.name for p in (config_path, ckpt) if not p.exists()]
    if missing:
        raise LmmclError(f"{run_dir} has no {' or '.join(missing)}: give a finished run's directory "
                         "(logs/<model>/<recipe>/version_<n>, trained with stages.save_checkpoints on).")
    config = load_yaml(config_path)
    model_cfg = config.get("model") or {}
    tuned, processor = load_checkpoint(ckpt, model_cfg.get("preset"), model_cfg.get("dtype"))
    base, _, _ = load_model(model_cfg["preset"], model_cfg.get("model_path"), model_cfg.get("dtype"))
    data = SkillSequence(**(config.get("data") or {}))
    for dm in data.heldout:
        dm.processor = processor
    probe = probe_of((config.get("trainer") or {}).get("callbacks"))
    if probe is not None:
        probe.avoid(data.eval_modules)
    return restore_analysis(Answerer(tuned.to(device), processor), base, data.heldout, probe, groups)


def render(result: dict[str, Any]) -> str:
    final = result["final"]
    mass = "" if final["noncounting_mass"] is None else f", non-counting number mass {final['noncounting_mass']:.4f}"
    lines = [f"final weights: held-out mean {final['heldout_mean']:.1f}{mass}"]
    for name, g in result["groups"].items():
        mass = "" if g["noncounting_mass_change"] is None else f", mass {g['noncounting_mass_change']:+.4f}"
        lines.append(f"  {name:<15} (layers {g['layers']}, {g['changed_tensors']}/{g['tensors']} tensors changed by "
                     f"the run): held-out {g['heldout_mean_change']:+.1f}{mass}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl restore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a finished run's directory (logs/<model>/<recipe>/version_<n>)")
    parser.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    result = analyse_run(args.run_dir, args.groups, args.device)
    path = write_restore(args.run_dir, result)
    print(render(result) + f"\n[lmmcl restore] {path}")
    return 0
