"""Drift monitor overhead: one stage of training with the drift monitor against the same stage without it.

Both variants run what ``lmmcl fit`` runs per stage (``LMMModule`` + ``SkillSequence`` + ``FreezeRecipe`` +
``SequentialStages``, checkpoints and validation off, no logger) on the same model, data, order and seed;
the monitored one adds ``DriftMonitor`` with the default config's settings (16 held-out prompts, 5
measurements per stage plus the stage-start forward). Variants alternate; the fastest repetition counts.
Printed: seconds, the ratio with / without (target <= 1.05), the share of the monitored runs' time spent in
the monitor's hooks (a figure that machine load distorts less than a ratio of two runs) and whether
both ended with the same weights (they must: the monitor only reads the model).

    python -m benchmarks.drift_overhead [--repeats 3] [--train-size 960] [--batch-size 32]
"""

from __future__ import annotations

import math
import time

from benchmarks.common import format_table, interleaved, load_module, parser, quiet, set_threads, stats, write_result

NAME = "drift_overhead"


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--skill", default="species")
    p.add_argument("--heldout", nargs="+", default=["color", "exist", "caption"], help="drift prompts' benchmarks")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--train-size", type=int, default=960)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n", type=int, default=16, help="drift prompts (default config: 16)")
    p.add_argument("--points", type=int, default=5, help="measurements per stage (default config: 5)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    import torch
    from lightning.pytorch import Trainer, seed_everything

    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.eval.drift import DriftMonitor
    from lmmcl.train.recipes import FreezeRecipe
    from lmmcl.train.stages import SequentialStages

    torch.use_deterministic_algorithms(True)
    module = load_module(args.preset)
    init = {k: v.clone() for k, v in module.model.state_dict().items()}
    final: dict[str, dict] = {}

    def fit(key: str) -> None:
        module.model.load_state_dict(init)
        module.model.zero_grad(set_to_none=True)
        seed_everything(0, verbose=False)
        monitor = [DriftMonitor(n=args.n, points_per_stage=args.points)] if key == "drift" else []
        for m in monitor:  # time spent inside the monitor's hooks: a share of its run, less sensitive to load
            for hook in ("setup", "on_train_epoch_start", "on_train_batch_end"):
                setattr(m, hook, clocked(getattr(m, hook)))
        trainer = Trainer(accelerator="cpu", devices=1, max_epochs=1, reload_dataloaders_every_n_epochs=1,
                          num_sanity_val_steps=0, limit_val_batches=0, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False, deterministic=True, logger=False,
                          callbacks=[FreezeRecipe(args.recipe), SequentialStages(save_checkpoints=False), *monitor])
        trainer.fit(module, datamodule=SkillSequence(skills=[args.skill], heldout=args.heldout,
                                                    train_size=args.train_size, batch_size=args.batch_size))
        final[key] = {k: v.clone() for k, v in module.model.state_dict().items()}

    monitor_seconds: list[float] = []

    def clocked(fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                monitor_seconds.append(time.perf_counter() - start)
        return wrapper

    variants = {"plain": lambda: fit("plain"), "drift": lambda: fit("drift")}
    variants["drift"]()  # warm-up: the prompts' first drawing, allocator
    monitor_seconds.clear()
    seconds = interleaved(variants, args.repeats)
    share = sum(monitor_seconds) / sum(seconds["drift"])  # of the monitored runs' wall time
    figures = {k: stats(v) for k, v in seconds.items()}
    ratio = figures["drift"]["min"] / figures["plain"]["min"]
    same = max((final["drift"][n] - final["plain"][n]).abs().max().item() for n in final["plain"])
    steps = math.ceil(args.train_size / args.batch_size)
    print(f"\n== drift monitor overhead: {args.preset}, recipe {args.recipe}, {steps} steps of batch "
          f"{args.batch_size}, {args.n} prompts x {args.points} points, {args.repeats} interleaved repetitions, "
          f"{threads} thread(s)")
    print(format_table(["variant", "fit s (min)", "fit s (med)", "ratio (min)"],
                       [[k, f"{figures[k]['min']:.2f}", f"{figures[k]['median']:.2f}",
                         f"{figures[k]['min'] / figures['plain']['min']:.3f}"] for k in variants]))
    print(f"ratio with/without drift monitor: {ratio:.3f} (target <= 1.05: {'met' if ratio <= 1.05 else 'NOT met'}); "
          f"time inside the monitor's hooks: {100 * share:.1f}% of the monitored runs "
          f"(ratio ~ {1 / (1 - share):.3f}); max |dW| between the variants: {same:.1e}")
    write_result(args.out, NAME, threads, preset=args.preset, recipe=args.recipe, steps=steps,
                 batch_size=args.batch_size, prompts=args.n, points_per_stage=args.points, repeats=args.repeats,
                 seconds=figures, ratio=ratio, monitor_share=share, max_weight_diff=same, target_ratio=1.05)
    return {"ratio": ratio, "max_weight_diff": same}


if __name__ == "__main__":
    main()
