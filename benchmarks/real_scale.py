"""A real-size architecture, random weights: a few training steps per recipe with step time, peak memory,
tokens/s and MFU. For a GPU (``run`` it on the device machine); at tiny size it runs on CPU in seconds.

The model is built from its config.json on the meta device (no host memory, no download), materialised on the
target device (``to_empty`` + the model's own ``init_weights``, which also recomputes non-persistent buffers
such as rotary frequencies) in ``--dtype``. Each recipe is applied exactly as training applies it
(``lmmcl.train.recipes.apply_recipe``), with a fresh AdamW over its trainable parameters (optimizer state in the
parameters' dtype: pure bf16, *no* fp32 master copy, so this measures less than ``benchmarks.memory``'s 14 B
per trainable parameter; 7B/8B ``full`` with fp32 master weights needs ZeRO-3 across GPUs).

A batch is ``--batch-size`` rows of ``--seq-len`` tokens: a few text tokens, one image (``--image-size`` pixels,
through the family's own image processor: anyres tiles for LLaVA-OneVision/NeXT, 14-pixel patches merged 2x2
for Qwen2.5-VL; as many image tokens as the model's vision path produces) and random text to the length, the
last quarter as answer tokens. FLOPs per step are counted once per recipe with ``torch.utils.flop_counter``
(matmuls, attention and convolutions actually run: frozen weights get no weight-gradient FLOPs); MFU = counted
FLOPs / step time / the device's peak dense bf16 FLOP/s (``--peak-tflops``; known: H100/H200 SXM 989).
Peak memory (``torch.cuda.max_memory_allocated``, GPU only) is printed beside ``lmmcl recipes``' prediction for the
same weights dtype (:mod:`lmmcl.tools.memory`: weights, gradients and Adam m, v; activations are the difference).
The 7B/8B numbers have not been measured yet (no GPU has run this script); docs/guide/real_models.md.

    python -m benchmarks.real_scale --preset llava --seq-len 2048 --steps 3            # on a GPU
    python -m benchmarks.real_scale --preset tiny_scratch --steps 2                    # on CPU, seconds
    python -m benchmarks.real_scale --preset qwen2_5_vl --recipes full mlp_gate_up sa_proj --grad-ckpt
"""

from __future__ import annotations

import gc
import inspect
import time
from typing import Any

from benchmarks.common import format_table, parser, quiet, set_threads, write_result

NAME = "real_scale"
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}


def image_processor(config: Any, image_size: int):
    """The family's image processor (PIL backend, no download), configured from the model's config."""
    import transformers as tf

    vision = config.vision_config
    pinpoints = getattr(config, "image_grid_pinpoints", None)
    square = {"height": image_size, "width": image_size}
    kind = config.model_type
    if kind == "llava":
        return tf.SiglipImageProcessorPil(size=square)
    if kind == "llava_onevision":
        return tf.LlavaOnevisionImageProcessorPil(size=square, crop_size=square, image_grid_pinpoints=pinpoints)
    if kind == "llava_next":
        return tf.LlavaNextImageProcessorPil(size={"shortest_edge": vision.image_size}, image_grid_pinpoints=pinpoints,
                                             crop_size={"height": vision.image_size, "width": vision.image_size})
    if kind == "qwen2_5_vl":
        return tf.Qwen2VLImageProcessorPil(patch_size=vision.patch_size, merge_size=vision.spatial_merge_size,
                                           temporal_patch_size=vision.temporal_patch_size,
                                           min_pixels=image_size * image_size, max_pixels=image_size * image_size)
    raise ValueError(f"No image processor recipe for model_type {kind!r} (known: llava, llava_onevision, "
                     f"llava_next, qwen2_5_vl)")


def _special_ids(config: Any) -> set[int]:
    ids = set()
    for cfg in (config, getattr(config, "text_config", None)):
        for key, value in (vars(cfg).items() if cfg is not None else ()):
            if key.endswith(("token_id", "token_index")) and isinstance(value, int):
                ids.add(value)
    return ids


def make_batch(model: Any, config: Any, batch_size: int, seq_len: int, image_size: int, device: Any,
               seed: int = 0) -> dict:
    """``batch_size`` x ``seq_len`` training tokens with one image per row (see the module docstring)."""
    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(seed)
    picture = Image.fromarray(rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8))
    pixels = {k: v.to(device) for k, v in image_processor(config, image_size)([picture] * batch_size,
                                                                             return_tensors="pt").items()}
    pixels["pixel_values"] = pixels["pixel_values"].to(model.dtype)
    with torch.no_grad():
        one = {k: v[:1] if k != "pixel_values" or v.dim() > 2 else v[: len(v) // batch_size] for k, v in pixels.items()}
        features = model.model.get_image_features(**one).pooler_output
    n_image = sum(f.shape[0] for f in features) if isinstance(features, (list, tuple)) else (
        features.shape[0] * features.shape[1] if features.dim() == 3 else features.shape[0])
    if n_image + 8 > seq_len:
        raise SystemExit(f"--seq-len {seq_len} is too short: one {image_size}px image takes {n_image} tokens on "
                         f"{config.model_type}; use --seq-len {n_image + 64} or more, or a smaller --image-size.")
    vocab = config.text_config.vocab_size
    low = 100 if vocab > 1000 else 16
    text = torch.as_tensor(rng.integers(low, vocab, (batch_size, seq_len - n_image)))
    for special in _special_ids(config):
        text[text == special] = low
    image_id = getattr(config, "image_token_id", None) or config.image_token_index
    input_ids = torch.cat([text[:, :4], torch.full((batch_size, n_image), image_id), text[:, 4:]], dim=1).to(device)
    labels = torch.full_like(input_ids, -100)
    labels[:, -seq_len // 4:] = input_ids[:, -seq_len // 4:]
    batch = {**pixels, "input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}
    if "mm_token_type_ids" in inspect.signature(model.forward).parameters:  # Qwen2.5-VL's 3-D positions
        batch["mm_token_type_ids"] = (input_ids == image_id).int()
    return batch, n_image


def peak_tflops(device: Any, dtype: str, override: float | None) -> float | None:
    import torch

    if override:
        return override
    if device.type != "cuda" or dtype not in ("bfloat16", "float16"):
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.set_defaults(preset="llava")
    p.add_argument("--recipes", nargs="+", help="default: every recipe in configs/recipe/ without an adapter")
    p.add_argument("--steps", type=int, default=3, help="timed steps per recipe (after one warm-up step)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seq-len", type=int,
                   help="tokens per row, image tokens included (default: 2048; tiny presets 128)")
    p.add_argument("--image-size", type=int, help="pixels of the square image (default: the vision tower's own size)")
    p.add_argument("--dtype", default=None,
                   help="weights and optimizer state (default: bfloat16 on GPU, float32 on CPU)")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--grad-ckpt", action="store_true", help="activation checkpointing (lmmcl.train.perf)")
    p.add_argument("--peak-tflops", type=float, help="the device's peak dense FLOP/s in TFLOP/s, for MFU")
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModelForImageTextToText

    from lmmcl.models.meta import config_path, load_config
    from lmmcl.models.presets import get_preset
    from lmmcl.tools.memory import memory_model
    from lmmcl.train.perf import enable_activation_checkpointing
    from lmmcl.train.recipes import apply_recipe, count_parameters, get_recipe, known_recipes

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = args.dtype or ("bfloat16" if device.type == "cuda" else "float32")
    preset = get_preset(args.preset)
    config = load_config(config_path(preset))
    recipes = args.recipes or [r for r in known_recipes() if "adapter" not in get_recipe(r).extra]
    seq_len = args.seq_len or (128 if preset.builder else 2048)
    # Qwen2.5-VL takes any size (448 px: 32 x 32 patches of 14, merged to 256 tokens); the others their tower's.
    image_size = args.image_size or preset.build.get("image_size") or getattr(config.vision_config, "image_size", 448)

    start = time.perf_counter()
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config, dtype=getattr(torch, dtype))
    model.to_empty(device=device)
    with torch.no_grad():
        model.init_weights()
    model.train()
    if args.grad_ckpt:
        enable_activation_checkpointing(model)
    build_s = time.perf_counter() - start
    batch, n_image = make_batch(model, config, args.batch_size, seq_len, image_size, device)
    tokens = args.batch_size * seq_len
    peak = peak_tflops(device, dtype, args.peak_tflops)
    total = count_parameters(model)[1]
    # lmmcl recipes' memory model for what this script trains: weights and AdamW state in ``dtype``, no master copy
    predicted = memory_model("bf16-true" if dtype == "bfloat16" else "32-true", dtype)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({threads} thread(s))"
    print(f"\n== {args.preset} ({config.model_type}, {total:,} parameters, {dtype}) on {where}: "
          f"built in {build_s:.1f} s; "
          f"batch {args.batch_size} x {seq_len} tokens ({n_image} image tokens of a {image_size}px image)"
          f"{', activation checkpointing' if args.grad_ckpt else ''}")

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    results = []
    for name in recipes:
        apply_recipe(model, get_recipe(name), preset.components)
        trainable = count_parameters(model)[0]
        row: dict[str, Any] = {"recipe": name, "trainable": trainable,
                               "predicted_memory_bytes": total * predicted.weight + trainable * predicted.train_state}
        optimizer = None
        try:
            optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-7)

            def step(optimizer: torch.optim.Optimizer = optimizer) -> None:
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            counter = FlopCounterMode(display=False)
            with counter:
                step()  # counts FLOPs and warms up (allocates the optimizer state)
            sync()
            seconds = []
            for _ in range(args.steps):
                t0 = time.perf_counter()
                step()
                sync()
                seconds.append(time.perf_counter() - t0)
            step_s = min(seconds)
            flops = counter.get_total_flops()
            row.update(step_s=step_s, step_s_all=seconds, tokens_per_s=tokens / step_s, flops_per_step=flops,
                       achieved_tflops=flops / step_s / 1e12,
                       mfu=flops / step_s / (peak * 1e12) if peak else None,
                       peak_memory_bytes=torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None)
        except torch.OutOfMemoryError as err:
            row["error"] = f"OOM: {str(err).splitlines()[0]}"
        finally:
            del optimizer
            model.zero_grad(set_to_none=True)
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
        results.append(row)
        print(f"  {name}: " + (row["error"] if "error" in row else
                                f"{row['step_s']:.3f} s/step, {row['tokens_per_s']:,.0f} tokens/s"), flush=True)

    def gib(b: int | None) -> str:
        return f"{b / 2**30:.1f}" if b is not None else "n/a"

    rows = [[r["recipe"], f"{r['trainable']:,}", gib(r["predicted_memory_bytes"]),
             *(["-"] * 5 + [r["error"]] if "error" in r else [
                 f"{r['step_s']:.3f}", f"{r['tokens_per_s']:,.0f}", gib(r["peak_memory_bytes"]),
                 f"{r['achieved_tflops']:.2f}", f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a", ""])]
            for r in results]
    header = ["recipe", "trainable", "predicted GiB", "step s", "tokens/s", "peak GiB", "TFLOP/s", "MFU", ""]
    print(format_table(header, rows))
    print(f"predicted: lmmcl recipes' memory model ({predicted.assumption}); peak: torch.cuda.max_memory_allocated, "
          f"activations and workspace included")
    if peak is None:
        print("MFU: n/a (no known peak FLOP/s for this device and dtype; pass --peak-tflops)")
    write_result(args.out, NAME, threads, preset=args.preset, model_type=config.model_type, dtype=dtype,
                 device=where, total_params=total, batch_size=args.batch_size, seq_len=seq_len, image_tokens=n_image,
                 image_size=image_size, grad_ckpt=args.grad_ckpt, peak_tflops=peak, build_s=build_s, recipes=results)
    return {r["recipe"]: r for r in results}


if __name__ == "__main__":
    main()
