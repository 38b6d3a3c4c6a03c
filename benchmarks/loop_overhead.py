"""Loop overhead: one epoch through lmmcl's Trainer against a plain PyTorch loop doing the same work.

Both variants train the same tiny model (same initial weights, same freezing recipe) on the same skill's
train split, batch, seed and shuffled order, through the real ``Collator``, with AdamW and the same warmup +
cosine schedule. The lmmcl variant is what ``lmmcl fit`` runs per stage: ``LMMModule`` +
``SkillSequence`` + ``FreezeRecipe`` + ``SequentialStages`` (checkpoints off), validation off; once without a
logger and once with the CLI's TensorBoard logger. The plain loop is the strict floor (no logging at all).

Printed: seconds per variant (fastest of the interleaved repetitions, and the median), the ratio to the
plain loop for the whole ``fit`` call and for the epoch alone, and whether both variants ended with the same
weights (they should: same computation). Target: ratio <= 1.05.

    python -m benchmarks.loop_overhead [--repeats 3] [--train-size 256] [--batch-size 16]
"""

from __future__ import annotations

import math
import tempfile
import time

from benchmarks.common import format_table, interleaved, load_module, parser, quiet, set_threads, stats, write_result

NAME = "loop_overhead"


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--skill", default="species")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--train-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    import torch
    from lightning.pytorch import Callback, Trainer, seed_everything
    from lightning.pytorch.loggers import TensorBoardLogger
    from transformers import get_cosine_schedule_with_warmup

    from lmmcl.data.datamodule import SkillDataModule, SkillSequence
    from lmmcl.train.module import BATCH_META
    from lmmcl.train.recipes import FreezeRecipe, apply_recipe, get_recipe
    from lmmcl.train.stages import SequentialStages

    torch.use_deterministic_algorithms(True)  # what the default config's `deterministic: true` sets, for both
    module = load_module(args.preset)
    init = {k: v.clone() for k, v in module.model.state_dict().items()}
    data = dict(train_size=args.train_size, batch_size=args.batch_size, seed=args.seed)
    epoch_seconds: dict[str, list[float]] = {"plain": [], "lmmcl": [], "lmmcl+tensorboard": []}
    final: dict[str, dict] = {}

    class EpochClock(Callback):
        def __init__(self, key):
            self.key = key

        def on_train_epoch_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            epoch_seconds[self.key].append(time.perf_counter() - self.start)

    def plain() -> None:
        model = module.model
        model.load_state_dict(init)
        model.zero_grad(set_to_none=True)  # Lightning leaves the last step's gradients behind
        model.train()
        apply_recipe(model, get_recipe(args.recipe), module.preset.components)
        seed_everything(args.seed, verbose=False)
        dm = SkillDataModule(args.skill, **data)
        dm.processor = module.processor
        loader = dm.train_dataloader()
        optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=module.hparams.lr,
                                      weight_decay=module.hparams.weight_decay)
        steps = len(loader)
        scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(module.hparams.warmup_ratio * steps), steps)
        start = time.perf_counter()
        for batch in loader:
            loss = model(**{k: v for k, v in batch.items() if k not in BATCH_META}).loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        epoch_seconds["plain"].append(time.perf_counter() - start)
        final["plain"] = {k: v.clone() for k, v in model.state_dict().items()}

    def lmmcl(key: str, logger) -> None:
        module.model.load_state_dict(init)
        module.model.zero_grad(set_to_none=True)
        seed_everything(args.seed, verbose=False)
        trainer = Trainer(accelerator="cpu", devices=1, max_epochs=1, reload_dataloaders_every_n_epochs=1,
                          num_sanity_val_steps=0, limit_val_batches=0, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False, deterministic=True,
                          logger=logger, log_every_n_steps=5,
                          callbacks=[FreezeRecipe(args.recipe), SequentialStages(save_checkpoints=False),
                                     EpochClock(key)])
        trainer.fit(module, datamodule=SkillSequence(skills=[args.skill], heldout=[], **data))
        final[key] = {k: v.clone() for k, v in module.model.state_dict().items()}

    with tempfile.TemporaryDirectory() as logs:
        variants = {"plain": plain,
                    "lmmcl": lambda: lmmcl("lmmcl", False),
                    "lmmcl+tensorboard": lambda: lmmcl("lmmcl+tensorboard", TensorBoardLogger(logs, name="bench"))}
        variants["plain"]()  # warm-up (first-call costs: tokenizer caches, allocator), not counted
        epoch_seconds["plain"].clear()
        fit_seconds = interleaved(variants, args.repeats)

    steps = math.ceil(args.train_size / args.batch_size)
    same = {k: max((final[k][n] - final["plain"][n]).abs().max().item() for n in final["plain"]) for k in final}
    figures = {"fit": {k: stats(v) for k, v in fit_seconds.items()},
               "epoch": {k: stats(v) for k, v in epoch_seconds.items()}}
    ratios = {k: {"fit_min": figures["fit"][k]["min"] / figures["fit"]["plain"]["min"],
                  "fit_median": figures["fit"][k]["median"] / figures["fit"]["plain"]["median"],
                  "epoch_min": figures["epoch"][k]["min"] / figures["epoch"]["plain"]["min"],
                  "epoch_median": figures["epoch"][k]["median"] / figures["epoch"]["plain"]["median"]}
              for k in variants if k != "plain"}

    print(f"\n== loop overhead: {args.preset}, recipe {args.recipe}, skill {args.skill}, {steps} steps of batch "
          f"{args.batch_size}, {args.repeats} interleaved repetitions, {threads} torch thread(s)")
    rows = [[k, f"{figures['fit'][k]['min']:.2f}", f"{figures['fit'][k]['median']:.2f}",
             f"{figures['epoch'][k]['min']:.2f}", f"{figures['epoch'][k]['median']:.2f}",
             f"{1000 * figures['epoch'][k]['min'] / steps:.1f}",
             "1.000" if k == "plain" else f"{ratios[k]['fit_min']:.3f}",
             "1.000" if k == "plain" else f"{ratios[k]['epoch_min']:.3f}", f"{same[k]:.1e}"] for k in variants]
    print(format_table(["variant", "fit s (min)", "fit s (med)", "epoch s (min)", "epoch s (med)", "ms/step",
                        "ratio fit", "ratio epoch", "max |dW| vs plain"], rows))
    headline = ratios["lmmcl"]["fit_min"]
    print(f"ratio lmmcl/plain (whole fit, fastest runs): {headline:.3f}  (target <= 1.05: "
          f"{'met' if headline <= 1.05 else 'NOT met'}); with TensorBoard: "
          f"{ratios['lmmcl+tensorboard']['fit_min']:.3f}")
    write_result(args.out, NAME, threads, preset=args.preset, recipe=args.recipe, skill=args.skill, steps=steps,
                 batch_size=args.batch_size, repeats=args.repeats, seconds=figures, ratios=ratios,
                 max_weight_diff_vs_plain=same, target_ratio=1.05, headline_ratio=headline)
    return ratios


if __name__ == "__main__":
    main()
