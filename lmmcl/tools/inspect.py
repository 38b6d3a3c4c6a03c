"""``lmmcl recipes MODEL``: what every recipe trains on a model, and the training memory it implies.

Offline and in seconds, for 7B models too: the architecture is built from its config.json on the meta
device (real presets ship theirs in configs/model/real/; tiny ones use their built checkpoint's), and
each recipe in configs/recipe/ is applied to it exactly as training applies it.

Memory per trainable parameter (grads, AdamW m and v, a master copy where one is kept) and per model parameter
(the stored weights) follow the precision, weight dtype and strategy of the experiment config given
(default: configs/experiment/paper.yaml, bf16-mixed autocast over fp32 weights: 4 + 8 B per trainable, 4 B per
parameter); FSDP and DeepSpeed divide it by the number of GPUs (:mod:`lmmcl.tools.memory`). Activations are not
counted (they depend on batch and sequence length).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmmcl.errors import LmmclError
from lmmcl.registry import config_dir
from lmmcl.tables import text_table
from lmmcl.tools.memory import MemoryModel, from_config

PAPER_CONFIG = "configs/experiment/paper.yaml"  # as shown; read from config_dir("experiment")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def recipe_rows(model, components: dict[str, list[str]]) -> list[dict]:
    """One row per recipe in configs/recipe/: name, trainable count, share of the total, tensors.

    An adapter recipe (LoRA) trains r·(in + out) adapter weights per selected matrix, not the matrix.
    """
    from lmmcl.train.recipes import build_adapter, get_recipe, known_recipes, select_parameters

    sizes = dict(model.named_parameters())  # tied weights appear once
    total = sum(p.numel() for p in sizes.values())
    rows = []
    for name in known_recipes():
        recipe = get_recipe(name)
        names = select_parameters(model, recipe, components)
        adapter = build_adapter(recipe, {})  # e.g. the LoRA of configs/recipe/lora.yaml, with its defaults
        if adapter is None:
            trainable = sum(sizes[n].numel() for n in names)
        else:
            trainable = sum(adapter.r * sum(sizes[n].shape) for n in names if sizes[n].dim() == 2)
        rows.append({"recipe": name, "trainable": trainable, "share": trainable / total, "names": names})
    return rows


def table(rows: list[dict], total: int, memory: MemoryModel) -> str:
    """Trainable counts and per-GPU training memory under ``memory`` (see :mod:`lmmcl.tools.memory`)."""
    per_gpu = 1 / memory.shards
    head = ["recipe", "trainable", "share", *memory.columns(), "train state", "+ weights"]
    body = []
    for row in rows:
        n = row["trainable"]
        state = n * memory.train_state * per_gpu
        body.append([row["recipe"], f"{n:,}", f"{100 * row['share']:.2f}%",
                     *(human_bytes(n * b * per_gpu) for b in memory.columns().values()), human_bytes(state),
                     human_bytes(state + memory.weight * total * per_gpu)])
    return text_table(head, body, right=True)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="lmmcl recipes", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Trainable parameters of every recipe in configs/recipe/ on MODEL, their share of the\n"
                    "total and the training memory they imply. Offline: real models are built from their\n"
                    "config.json on the meta device, without weights.",
        epilog="memory columns: per GPU, for the precision, weight dtype and strategy of --config (default\n"
               f"{PAPER_CONFIG}); the assumption is printed under the table. Activations are not counted.\n"
               "Example: lmmcl recipes llava --config configs/trainer/fsdp.yaml --gpus 8")
    parser.add_argument("model", nargs="?", default="tiny", metavar="MODEL",
                        help="a model preset in configs/model/ (tiny, llava, llava_next, qwen2_5_vl, ...; "
                             "default tiny)")
    parser.add_argument("--model-path", metavar="DIR",
                        help="a save_pretrained directory whose config.json to use instead")
    parser.add_argument("--names", metavar="RECIPE", help="also list the parameter tensors RECIPE trains")
    parser.add_argument("--config", action="append", metavar="YAML",
                        help=f"experiment/trainer configs, merged in order (default: {PAPER_CONFIG})")
    parser.add_argument("--gpus", type=int, help="GPUs a sharded strategy splits over (default: trainer.devices or 1)")
    args = parser.parse_args(argv)

    from lmmcl.models.meta import meta_model

    try:
        model, preset, path = meta_model(args.model, args.model_path)
        rows = recipe_rows(model, preset.components)
    except LmmclError as err:
        parser.exit(2, f"lmmcl recipes: error: {err}\n")
    from lmmcl.train.plan import resolve_config

    total = sum(p.numel() for p in model.parameters())
    memory = from_config(resolve_config(args.config or [str(config_dir("experiment") / "paper.yaml")]),
                         preset.dtype, args.gpus)
    print(f"{args.model}: {preset.description} [{preset.hub_id or 'built locally'}]")
    print(f"architecture: {_shown(path)} on the meta device (no weights)")
    print(f"parameters: {total:,}\n")
    print(table(sorted(rows, key=lambda r: (-r["trainable"], r["recipe"])), total, memory))
    parts = " + ".join(f"{k} {v} B" for k, v in memory.columns().items())
    print(f"\nmemory per GPU, config {' + '.join(args.config or [PAPER_CONFIG])}: {memory.assumption}.\n"
          f"  per trainable parameter: {parts} = {memory.train_state} B ('train state'); '+ weights' adds "
          f"{memory.weight} B per model parameter;\n  activations not counted.")
    if args.names:
        match = [r for r in rows if r["recipe"] == args.names]
        if not match:
            parser.exit(2, f"lmmcl recipes: error: unknown recipe {args.names!r}. Known: "
                           f"{', '.join(r['recipe'] for r in rows)}\n")
        print(f"\n{args.names}: {len(match[0]['names'])} tensors")
        print("\n".join(f"  {n}" for n in match[0]["names"]))
    return 0
