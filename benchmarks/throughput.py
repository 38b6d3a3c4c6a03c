"""Training throughput (tokens/s) of the tiny model against batch size and sequence length.

One training step = forward + backward on answer tokens + AdamW step, with the freezing recipe applied
(``--recipe``, default the CLI's mlp_gate_up). Batches are built at the exact shape asked for: the model's
image (its placeholder expanded to the image tokens), a prompt of random text tokens to the given length and
the last quarter of the row as answer tokens, so the sequence length is the one in the table, image tokens
included. Each cell: one warm-up step, then the fastest of ``--steps`` timed steps.

    python -m benchmarks.throughput [--batch-sizes 1 4 16 32] [--seq-lens 32 64 128 256] [--steps 3]
"""

from __future__ import annotations

import time

from benchmarks.common import format_table, load_module, parser, quiet, set_threads, write_result

NAME = "throughput"


def synthetic_batch(module, batch_size: int, seq_len: int, seed: int = 0) -> dict:
    """A training batch of exactly ``batch_size`` x ``seq_len`` tokens for an LMMModule's model and processor."""
    import torch
    from PIL import Image

    proc = module.processor
    enc = proc(text=["<image>"] * batch_size, images=[Image.new("RGB", (32, 32), (90, 40, 200))] * batch_size,
               return_tensors="pt")  # the processor expands the placeholder to the model's image tokens
    image_ids = enc["input_ids"]
    if image_ids.shape[1] >= seq_len:
        raise ValueError(f"seq_len {seq_len} leaves no room for text after {image_ids.shape[1]} image tokens")
    generator = torch.Generator().manual_seed(seed)
    low = max(proc.tokenizer.all_special_ids) + 1
    text = torch.randint(low, len(proc.tokenizer), (batch_size, seq_len - image_ids.shape[1]), generator=generator)
    input_ids = torch.cat([image_ids, text], dim=1)
    labels = torch.full_like(input_ids, -100)
    labels[:, -max(1, seq_len // 4):] = input_ids[:, -max(1, seq_len // 4):]
    return {**{k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}, "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids), "labels": labels}


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16, 32])
    p.add_argument("--seq-lens", type=int, nargs="+", default=[32, 64, 128, 256])
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    import torch

    from lmmcl.train.recipes import apply_recipe, get_recipe

    module = load_module(args.preset)
    model = module.model
    model.train()
    apply_recipe(model, get_recipe(args.recipe), module.preset.components)
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-5)

    def step(batch: dict) -> float:
        start = time.perf_counter()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    cells = {}
    for seq_len in args.seq_lens:
        for batch_size in args.batch_sizes:
            batch = synthetic_batch(module, batch_size, seq_len)
            step(batch)  # warm-up
            seconds = min(step(batch) for _ in range(args.steps))
            cells[(batch_size, seq_len)] = {"batch_size": batch_size, "seq_len": seq_len, "step_s": seconds,
                                            "tokens_per_s": batch_size * seq_len / seconds}

    print(f"\n== training throughput, tokens/s: {args.preset}, recipe {args.recipe}, fastest of {args.steps} steps, "
          f"{threads} torch thread(s); rows: sequence length (image tokens included), columns: batch size")
    rows = [[s, *(f"{cells[(b, s)]['tokens_per_s']:,.0f}" for b in args.batch_sizes)] for s in args.seq_lens]
    print(format_table(["seq_len \\ batch", *map(str, args.batch_sizes)], rows))
    best = max(cells.values(), key=lambda c: c["tokens_per_s"])
    base = cells[(args.batch_sizes[0], args.seq_lens[0])]
    print(f"best {best['tokens_per_s']:,.0f} tokens/s at batch {best['batch_size']} x {best['seq_len']} tokens "
          f"({best['tokens_per_s'] / base['tokens_per_s']:.1f}x batch {base['batch_size']} x {base['seq_len']})")
    write_result(args.out, NAME, threads, preset=args.preset, recipe=args.recipe, steps=args.steps,
                 cells=list(cells.values()))
    return cells


if __name__ == "__main__":
    main()
