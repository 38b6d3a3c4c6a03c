"""Memory and parameters per recipe for each 7B/8B family, on the meta device (no weights, offline, seconds).

The per-recipe rows and the table are ``lmmcl recipes``' own (``lmmcl.inspect``): trainable parameters, their
share, gradient (bf16), Adam m+v (fp32) and fp32 master-weight bytes, the training state they sum to, and that
plus the bf16 weights of the whole model. Added here: the same per GPU under ZeRO-3 on ``--gpus`` GPUs
(everything sharded: state and weights divided by the GPU count). Activations are not counted.

    python -m benchmarks.memory [--models llava llava_next qwen2_5_vl] [--gpus 8]
"""

from __future__ import annotations

from benchmarks.common import parser, write_result

NAME = "memory"
FAMILIES = ["llava", "llava_next", "qwen2_5_vl"]


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--models", nargs="+", default=FAMILIES)
    p.add_argument("--gpus", type=int, default=8, help="GPU count for the ZeRO-3 per-GPU column (default 8)")
    args = p.parse_args(argv)

    from lmmcl.inspect import BYTES, WEIGHT_BYTES, human_bytes, recipe_rows, table
    from lmmcl.models.meta import meta_model

    state_per_param = sum(BYTES.values())
    results = {}
    for name in args.models:
        model, preset, _ = meta_model(name)
        rows = sorted(recipe_rows(model, preset.components), key=lambda r: (-r["trainable"], r["recipe"]))
        total = sum(q.numel() for q in model.parameters())
        print(f"\n== {name}: {preset.description} [{preset.hub_id}] - {total:,} parameters, "
              f"bf16 weights {human_bytes(WEIGHT_BYTES * total)}")
        print(table(rows, total))
        results[name] = {"hub_id": preset.hub_id, "total_params": total, "recipes": {}}
        per_gpu = []
        for row in rows:
            n = row["trainable"]
            bytes_ = {key: n * b for key, b in BYTES.items()}
            state = n * state_per_param
            with_weights = state + WEIGHT_BYTES * total
            results[name]["recipes"][row["recipe"]] = {
                "trainable": n, "share": row["share"], "bytes": bytes_, "train_state_bytes": state,
                "with_weights_bytes": with_weights, f"zero3_per_gpu_bytes_{args.gpus}gpus": with_weights / args.gpus}
            per_gpu.append(f"{row['recipe']} {human_bytes(with_weights / args.gpus)}")
        print(f"ZeRO-3 on {args.gpus} GPUs, per GPU (state + weights, no activations): " + ", ".join(per_gpu))
    print(f"\nbytes per trainable parameter: {', '.join(f'{k} {b}' for k, b in BYTES.items())} = {state_per_param}; "
          f"weights {WEIGHT_BYTES} B per parameter of the whole model")
    write_result(args.out, NAME, 0, bytes_per_trainable_param=BYTES, weight_bytes_per_param=WEIGHT_BYTES,
                 zero3_gpus=args.gpus, models=results)
    return results


if __name__ == "__main__":
    main()
