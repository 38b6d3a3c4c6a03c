"""``lmmcl export RUN_DIR [--stage K|last] --out DIR``: a run's tuned model as a ``save_pretrained`` folder.

    lmmcl export logs/tiny/mlp_gate_up/version_0 --out exported/tiny-mlp_gate_up
    lmmcl export logs/tiny/lora/version_2 --stage 1 --out exported/after-species

The folder holds safetensors weights in the base model's dtype, the processor (tokenizer, image processor, chat
template) and the generation config, so ``transformers`` (``AutoModelForImageTextToText`` + ``AutoProcessor``),
``vllm serve`` or ``lmms-eval --model llava_hf`` load it like the base checkpoint; and a model card, README.md, from
the run's report.json. The model is rebuilt as the run built it (base weights, recipe, adapters from its
config.yaml), the stage checkpoint's weights are loaded into it, and then:

- LoRA adapters are merged into the weights they adapt (W + alpha / r * B A) and removed;
- MoE layers (a router choosing between the frozen MLP and a tuned copy per token) have no counterpart in the
  family's architecture: exported as the plain model only while every router still sends every token to the
  original MLP (an untrained router: exact), refused otherwise, with the reason;
- LwF and WiSE-FT change how weights train, not the model: exported as they are.

Any other structural change is refused: the folder's weights must be exactly the run's model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lmmcl.errors import LmmclError


def stage_checkpoint(run_dir: Path, stage: str) -> Path:
    """``checkpoints/stage<K>-<skill>.ckpt`` for ``stage`` K (1-based), or ``last.ckpt`` for ``last``."""
    folder = run_dir / "checkpoints"
    found = sorted(folder.glob("stage*-*.ckpt"), key=lambda p: int(p.name[5:].split("-")[0]))
    if not found:
        raise LmmclError(f"{run_dir} has no stage checkpoint (checkpoints/stage<k>-<skill>.ckpt): export needs a run "
                         f"that finished a stage with --stages.save_checkpoints true.")
    if stage == "last":
        return found[-1]
    by_number = {int(p.name[5:].split("-")[0]): p for p in found}
    if not stage.isdigit() or int(stage) not in by_number:
        raise LmmclError(f"--stage {stage!r}: {run_dir} has stage checkpoints {sorted(by_number)}; give one of them or "
                         f"'last'.")
    return by_number[int(stage)]


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's resolved config (config.yaml, written by ``lmmcl fit``)."""
    import yaml

    path = run_dir / "config.yaml"
    if not path.exists():
        raise LmmclError(f"{run_dir} has no config.yaml: is it a run directory of lmmcl fit "
                         f"(logs/<model>/<recipe>/version_<n>)?")
    return yaml.safe_load(path.read_text()) or {}


def adapters_of(config: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The run's freezing recipe and the model adapters it applied (the recipe's own, then baseline callbacks)."""
    from lmmcl.contracts import ModelAdapter
    from lmmcl.train.baseline_registry import baseline_class, class_paths
    from lmmcl.train.recipes import FreezeRecipe

    freeze = FreezeRecipe(**(config.get("recipe") or {}))
    adapters = [freeze.adapter] if freeze.adapter is not None else []
    by_class = {path.rpartition(".")[2]: name for name, path in class_paths().items()}
    for callback in (config.get("trainer") or {}).get("callbacks") or []:
        name = by_class.get(str(callback.get("class_path", "")).rpartition(".")[2])
        cls = baseline_class(name) if name else None
        if cls is not None and issubclass(cls, ModelAdapter):
            adapters.append(cls(**(callback.get("init_args") or {})))
    return freeze, adapters


def rebuilt_model(run_dir: Path, checkpoint_path: Path) -> tuple[Any, Any, Any, dict[str, Any], set[str]]:
    """(model, processor, preset, checkpoint, the base architecture's state-dict keys) of the run at
    ``checkpoint_path``: the base rebuilt as the run built it, the checkpoint's weights loaded into it."""
    import torch

    from lmmcl.models import load_model
    from lmmcl.train.recipes import apply_recipe

    config = run_config(run_dir)
    checkpoint = torch.load(checkpoint_path, map_location="cpu", mmap=True, weights_only=False)
    hparams = checkpoint.get("hyper_parameters") or config.get("model") or {}
    model, processor, preset = load_model(hparams["preset"], hparams.get("model_path"), hparams.get("dtype"))
    base_keys = set(model.state_dict())
    freeze, adapters = adapters_of(config)
    names = apply_recipe(model, freeze.recipe, preset.components)
    holder = SimpleNamespace(model=model, preset=preset)  # what an adapter reads of the LightningModule
    for adapter in adapters:
        names = adapter.adapt_model(holder, names)
    state = {k[len("model."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state, strict=True)
    return model, processor, preset, checkpoint, base_keys


def merge_lora(model: Any) -> int:
    """Fold every LoRA adapter into its base layer and put the plain layer back; returns how many were merged."""
    from lmmcl.baselines.lora import ADAPTER, lora_layers

    names = {id(m): n for n, m in model.named_modules()}
    layers = lora_layers(model)
    for layer in layers:
        layer.merge(adapter_names=[ADAPTER])
        parent, _, attr = names[id(layer)].rpartition(".")
        setattr(model.get_submodule(parent), attr, layer.get_base_layer())
    return len(layers)


def unwrap_moe(model: Any) -> int:
    """Put the original MLP back where every MoE router still routes every token to it; refuse otherwise."""
    from lmmcl.baselines.moe import moe_layers

    names = {id(m): n for n, m in model.named_modules()}
    layers = moe_layers(model)
    trained = [names[id(m)] for m in layers if bool(m.router.weight.detach().abs().sum() > 0)]
    if trained:
        raise LmmclError(f"This run's MoE layers route tokens between the frozen MLP and a tuned copy ({len(trained)} "
                         f"trained routers, e.g. {trained[0]}): the family's architecture has one MLP per layer, so no "
                         f"save_pretrained folder holds this model exactly, and lmmcl refuses to export an "
                         f"approximation. Evaluate it with lmmcl itself (its stage checkpoints).")
    for layer in layers:
        parent, _, attr = names[id(layer)].rpartition(".")
        setattr(model.get_submodule(parent), attr, layer.experts[0])
    return len(layers)


def plain_model(model: Any, base_keys: set[str]) -> list[str]:
    """Turn the run's model into the family's own architecture, in place; returns what was done."""
    done = []
    if (n := merge_lora(model)):
        done.append(f"merged {n} LoRA adapters into their weights")
    if (n := unwrap_moe(model)):
        done.append(f"{n} MoE layers with untrained routers exported as their original MLP (exact)")
    extra = sorted(set(model.state_dict()) - base_keys)
    missing = sorted(base_keys - set(model.state_dict()))
    if extra or missing:
        raise LmmclError(f"This run changed the model's structure in a way lmmcl cannot export exactly (weights "
                         f"{(extra or missing)[:3]} {'not in' if extra else 'missing from'} the base architecture).")
    return done


def base_dtype(preset: Any, model_path: str | None) -> Any:
    """The dtype the base checkpoint stores its weights in (its config.json), as a torch dtype."""
    import torch

    from lmmcl.models.presets import resolve_checkpoint

    config = json.loads((Path(resolve_checkpoint(preset, model_path)) / "config.json").read_text())
    name = config.get("dtype") or config.get("torch_dtype") or "float32"
    return getattr(torch, str(name))


def export(run_dir: str | Path, out: str | Path, stage: str = "last") -> Path:
    """Write the run's model after ``stage`` into ``out`` (a new or empty folder); returns ``out``."""
    from lmmcl.tools.model_card import model_card

    run_dir, out = Path(run_dir), Path(out)
    if not run_dir.is_dir():
        raise LmmclError(f"{run_dir} is not a directory: give a run directory (logs/<model>/<recipe>/version_<n>).")
    if out.exists() and any(out.iterdir()):
        raise LmmclError(f"--out {out} is not empty: export into a new folder, so nothing of another model is "
                         "mixed in.")
    path = stage_checkpoint(run_dir, stage)
    model, processor, preset, checkpoint, base_keys = rebuilt_model(run_dir, path)
    hparams = checkpoint.get("hyper_parameters") or {}
    done = plain_model(model, base_keys)
    dtype = base_dtype(preset, hparams.get("model_path"))
    model = model.to(dtype).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    report = json.loads((run_dir / "report.json").read_text()) if (run_dir / "report.json").exists() else None
    stage_name = path.stem.split("-", 1)[1] if path.stem.startswith("stage") else path.stem
    card = model_card(report, run_config(run_dir), run_dir, path, stage_name, str(dtype)[6:], done)
    (out / "README.md").write_text(card)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory: logs/<model>/<recipe>/version_<n>")
    parser.add_argument("--stage", default="last", help="the stage number K (1-based) or 'last' (default)")
    parser.add_argument("--out", required=True, help="the folder to write (new or empty)")
    args = parser.parse_args(argv)
    out = export(args.run_dir, args.out, args.stage)
    print(f"[lmmcl export] {out}: load it with AutoModelForImageTextToText.from_pretrained({str(out)!r}) and "
          f"AutoProcessor; model card: {out / 'README.md'}")
    return 0
