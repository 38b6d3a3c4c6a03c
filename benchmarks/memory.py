"""Memory and parameters per recipe for each 7B/8B family, on the meta device (no weights, offline, seconds).

The per-recipe rows and the table are ``lmmcl recipes``' own (``lmmcl.tools.inspect``, memory model
``lmmcl.tools.memory`` for paper.yaml's precision: bf16-mixed over fp32 weights): trainable parameters, their share,
gradient and Adam m+v bytes, the training state they sum to, and that plus the weights of the whole model. Added
here: the same per GPU when a sharded strategy (FSDP) splits it over ``--gpus`` GPUs. Activations are not counted.

    python -m benchmarks.memory [--models llava llava_next qwen2_5_vl] [--gpus 8]
"""

from __future__ import annotations

from benchmarks.common import parser, write_result

NAME = "memory"
FAMILIES = ["llava", "llava_next", "qwen2_5_vl"]


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--models", nargs="+", default=FAMILIES)
    p.add_argument("--gpus", type=int, default=8, help="GPU count for the sharded per-GPU column (default 8)")
    args = p.parse_args(argv)

    from lmmcl.models.meta import meta_model
    from lmmcl.tools.inspect import PAPER_CONFIG, human_bytes, recipe_rows, table
    from lmmcl.tools.memory import from_config
    from lmmcl.train.plan import resolve_config

    results = {}
    for name in args.models:
        model, preset, _ = meta_model(name)
        rows = sorted(recipe_rows(model, preset.components), key=lambda r: (-r["trainable"], r["recipe"]))
        total = sum(q.numel() for q in model.parameters())
        memory = from_config(resolve_config([PAPER_CONFIG]), preset.dtype)
        BYTES, WEIGHT_BYTES, state_per_param = memory.columns(), memory.weight, memory.train_state
        print(f"\n== {name}: {preset.description} [{preset.hub_id}] - {total:,} parameters, "
              f"weights {human_bytes(WEIGHT_BYTES * total)} ({memory.assumption})")
        print(table(rows, total, memory))
        results[name] = {"hub_id": preset.hub_id, "total_params": total, "recipes": {}}
        per_gpu = []
        for row in rows:
            n = row["trainable"]
            bytes_ = {key: n * b for key, b in BYTES.items()}
            state = n * state_per_param
            with_weights = state + WEIGHT_BYTES * total
            results[name]["recipes"][row["recipe"]] = {
                "trainable": n, "share": row["share"], "bytes": bytes_, "train_state_bytes": state,
                "with_weights_bytes": with_weights, f"sharded_per_gpu_bytes_{args.gpus}gpus": with_weights / args.gpus}
            per_gpu.append(f"{row['recipe']} {human_bytes(with_weights / args.gpus)}")
        print(f"sharded (FSDP) on {args.gpus} GPUs, per GPU (state + weights, no activations): " + ", ".join(per_gpu))
    print(f"\nbytes per trainable parameter: {', '.join(f'{k} {b}' for k, b in BYTES.items())} = {state_per_param}; "
          f"weights {WEIGHT_BYTES} B per parameter of the whole model")
    write_result(args.out, NAME, 0, bytes_per_trainable_param=BYTES, weight_bytes_per_param=WEIGHT_BYTES,
                 sharded_gpus=args.gpus, models=results)
    return results


if __name__ == "__main__":
    main()
