"""Layer contribution: which language-model blocks drive the output shift between a base and a tuned model.

    lmmcl layers BASE_CKPT TUNED_CKPT --skill count --n 32 [--out DIR]

Both models read the same teacher-forced batch (``n`` test samples of ``--skill``: prompt + answer). Hooks
record every language-model layer's self-attention output and MLP output (each block's write into the
residual stream). For each block the change ``tuned - base`` is projected through the LM head's weight
(``delta @ W_head.T``; a head bias would cancel in the difference) and the L2 norm of that logit-space change
is averaged over the positions that predict answer tokens. Those are the positions *before* each answer
token: the logits at position ``p`` predict token ``p + 1``, so the mask is ``labels[:, 1:] != -100`` placed
at ``[:, :-1]`` (the reference code used the unshifted mask, one position late).

The final RMSNorm is *not* applied: it rescales each position's whole residual vector to unit RMS, so applied
to a difference it would erase the magnitude being measured, and its scale belongs to the full residual, not
to one block's change. The projection is the same linear map for every layer, so layers compare fairly.

Checkpoints are Lightning ``.ckpt`` files from runs (``state_dict`` keys prefixed ``model.``, the architecture
from the checkpoint's ``hyper_parameters``: preset / model_path) or ``save_pretrained`` directories.
Writes ``layers.json``, ``layers.png`` and TensorBoard events into ``--out`` (default: ``logs/layers/<skill>``).
Where the shift shows is not what causes it: :mod:`lmmcl.eval.restore` tests that (``lmmcl compare`` runs it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from lmmcl.atomic import atomic_write
from lmmcl.data.collate import answer_positions
from lmmcl.errors import LmmclError

BLOCKS = ("self_attn", "mlp")
PROJECTION = "LM-head weight applied to the tuned-minus-base block output; final RMSNorm not applied"


# --- loading ---------------------------------------------------------------------------------------
def load_checkpoint(path: str | Path, preset: str | None = None, dtype: str | None = None) -> tuple[Any, Any]:
    """(model, processor) from a Lightning .ckpt of a run or a save_pretrained directory."""
    from lmmcl.models import load_model

    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise LmmclError(f"{path} has no config.json: give a save_pretrained directory or a run's .ckpt file.")
        from transformers import AutoModelForImageTextToText

        from lmmcl.models.processors import load_processor

        model = AutoModelForImageTextToText.from_pretrained(path, dtype=getattr(torch, dtype or "float32"))
        return model, load_processor(path)
    if not path.is_file():
        raise LmmclError(f"No checkpoint at {path}: give a run's checkpoints/<stage>.ckpt or a save_pretrained "
                         "directory.")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only
    hparams = ckpt.get("hyper_parameters", {})
    name = preset or hparams.get("preset")
    if name is None:
        raise LmmclError(f"{path} records no model preset: pass --preset.")
    model, processor, _ = load_model(name, hparams.get("model_path"), dtype or hparams.get("dtype"))
    weights = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(weights, strict=True)
    return model, processor


def decoder_layers(model: Any) -> list[torch.nn.Module]:
    """The language model's decoder layers (every family exposes them as ``get_decoder().layers``)."""
    layers = getattr(model.get_decoder(), "layers", None)
    if layers is None:
        raise LmmclError(f"{type(model).__name__}: cannot find the language model's layers (get_decoder().layers).")
    return list(layers)


# --- measurement -----------------------------------------------------------------------------------
class BlockOutputs:
    """Forward hooks that keep each layer's self-attention and MLP outputs of the last forward pass, at the
    positions selected by ``mask`` (batch, seq) only, so long image sequences of 7B models fit in memory."""

    def __init__(self, model: Any):
        self.mask: torch.Tensor | None = None
        self.outputs: dict[tuple[str, int], torch.Tensor] = {}
        self.handles = [getattr(layer, block).register_forward_hook(self._keep(block, i))
                        for i, layer in enumerate(decoder_layers(model)) for block in BLOCKS]

    def _keep(self, block: str, index: int):
        def hook(module, args, output):
            out = output[0] if isinstance(output, tuple) else output
            self.outputs[(block, index)] = out[self.mask] if self.mask is not None else out
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@torch.no_grad()
def layer_contributions(base: Any, tuned: Any, batches: list[dict[str, Any]],
                        own_heads: bool = False) -> dict[str, Any]:
    """Per layer and block, the mean over answer-predicting positions of ||W_head (tuned - base)||_2; with
    ``own_heads`` of ||W_tuned tuned - W_base base||_2, each block output through its own model's LM head
    (as the reference code does; the same when the recipe leaves the head frozen)."""
    n_layers = len(decoder_layers(base))
    if len(decoder_layers(tuned)) != n_layers:
        raise LmmclError("Base and tuned models have different numbers of language-model layers.")
    head = tuned.get_output_embeddings().weight
    base_head = base.get_output_embeddings().weight.to(head.device) if own_heads else head
    sums = {b: torch.zeros(n_layers, dtype=torch.float64) for b in BLOCKS}
    positions = 0
    for model in (base, tuned):
        model.eval()
    hooks = [BlockOutputs(base), BlockOutputs(tuned)]
    try:
        for batch in batches:
            inputs = {k: v.to(head.device) for k, v in batch.items() if isinstance(v, torch.Tensor) and k != "labels"}
            mask = answer_positions(batch["labels"]).to(head.device)
            for h in hooks:
                h.mask = mask
            for model in (base, tuned):  # only the hooks matter: skip the full (batch, seq, vocab) logits
                model(**inputs, use_cache=False, logits_to_keep=1)
            positions += int(mask.sum())
            for (block, i), out in hooks[1].outputs.items():
                before = hooks[0].outputs[(block, i)]  # (answer-predicting positions, hidden)
                if own_heads:
                    logits = out.to(head.dtype) @ head.T - before.to(base_head.dtype) @ base_head.T
                else:
                    logits = (out - before).to(head.dtype) @ head.T
                sums[block][i] += logits.float().norm(dim=-1).double().sum().cpu()
    finally:
        for h in hooks:
            h.remove()
    if positions == 0:
        raise LmmclError("The batch has no answer tokens to measure.")
    return {"answer_positions": positions,
            "layers": [{"layer": i, **{b: float(sums[b][i] / positions) for b in BLOCKS}} for i in range(n_layers)]}


def answer_batches(processor: Any, skill: str, n: int, batch_size: int, seed: int = 0) -> list[dict[str, Any]]:
    """Teacher-forced batches (prompt + answer, labels on answer tokens) of ``n`` test samples of ``skill``."""
    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill

    data = get_skill(skill).dataset("test", n, seed)
    collate = Collator(processor, train=True)
    return collate.usable(list(DataLoader(data, batch_size=batch_size, collate_fn=collate)),
                          f"layer-contribution samples ({skill})")


# --- output ------------------------------------------------------------------------------------------
def layers_figure(result: dict[str, Any]):
    from matplotlib.figure import Figure

    rows = result["layers"]
    fig = Figure(figsize=(3 + 0.35 * len(rows), 3.2), dpi=120, layout="constrained")
    ax = fig.subplots()
    x = [r["layer"] for r in rows]
    width = 0.4
    for k, block in enumerate(BLOCKS):
        ax.bar([i + (k - 0.5) * width for i in x], [r[block] for r in rows], width=width, label=block)
    ax.set_xlabel("language-model layer")
    ax.set_ylabel("||W_head (tuned - base)|| on answer tokens")
    ax.set_title(f"layer contribution: {result['skill']}")
    ax.set_xticks(x)
    ax.legend()
    return fig


def write_outputs(out_dir: str | Path, result: dict[str, Any]) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    out_dir = Path(out_dir)
    atomic_write(out_dir / "layers.json", json.dumps(result, indent=2) + "\n")
    fig = layers_figure(result)
    fig.savefig(out_dir / "layers.png")
    with SummaryWriter(str(out_dir)) as writer:
        for row in result["layers"]:
            for block in BLOCKS:
                writer.add_scalar(f"layers/{block}", row[block], global_step=row["layer"])
        writer.add_figure("layers/contribution", fig)
    return out_dir / "layers.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl layers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="base checkpoint: a run's .ckpt or a save_pretrained directory")
    parser.add_argument("tuned", help="tuned checkpoint: a run's .ckpt or a save_pretrained directory")
    parser.add_argument("--skill", default="count", help="skill whose test samples are measured")
    parser.add_argument("--n", type=int, default=32, help="number of test samples")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", help="model preset for .ckpt files that record none")
    parser.add_argument("--dtype", help="load dtype (default: the checkpoint's preset's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", help="output directory (default: logs/layers/<skill>)")
    args = parser.parse_args(argv)
    base, processor = load_checkpoint(args.base, args.preset, args.dtype)  # errors: lmmcl.failures, exit 2
    tuned, _ = load_checkpoint(args.tuned, args.preset, args.dtype)
    batches = answer_batches(processor, args.skill, args.n, args.batch_size, args.seed)
    result = layer_contributions(base.to(args.device), tuned.to(args.device), batches)
    result = {"base": str(args.base), "tuned": str(args.tuned), "skill": args.skill, "n": args.n,
              "projection": PROJECTION, **result}
    path = write_outputs(args.out or Path("logs") / "layers" / args.skill, result)
    top = max(result["layers"], key=lambda r: max(r[b] for b in BLOCKS))
    print(f"[lmmcl layers] largest change at layer {top['layer']} "
          f"(self_attn {top['self_attn']:.3g}, mlp {top['mlp']:.3g}); {path}")
    return 0
