"""Data loading: the share of training time spent waiting for the next batch, num_workers 0 against 2.

One stage (one epoch) of ``lmmcl fit``'s loop per setting: ``LMMModule`` + ``SkillSequence`` + ``FreezeRecipe``
+ ``SequentialStages``, with ``lmmcl.train.perf.DataWaitTimer`` timing the gap between one step's end and the next
step's start (where Lightning fetches the next batch) against the steps themselves. With workers, pictures are
drawn and collated (processor, chat template, label mask) in the worker processes. A third row feeds the
same batches already collated in memory: its "wait" is the loop's own bookkeeping between steps, the floor
no loader can beat. Also printed: what one batch costs to produce in the main process (draw + collate).
Settings alternate per repetition; the repetition with the least waiting is kept.

    python -m benchmarks.data_wait [--workers 0 2] [--repeats 2] [--skill species]
"""

from __future__ import annotations

from benchmarks.common import format_table, load_module, parser, quiet, set_threads, timed, write_result

NAME = "data_wait"
MEMORY = "in memory"


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--skill", default="species")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--train-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    from lightning.pytorch import Trainer, seed_everything
    from torch.utils.data import DataLoader

    from lmmcl.data.datamodule import SkillDataModule, SkillSequence
    from lmmcl.train.perf import DataWaitTimer
    from lmmcl.train.recipes import FreezeRecipe
    from lmmcl.train.stages import SequentialStages

    module = load_module(args.preset)
    init = {k: v.clone() for k, v in module.model.state_dict().items()}

    dm = SkillDataModule(args.skill, train_size=args.train_size, batch_size=args.batch_size)
    dm.processor = module.processor
    produce_s, batches = timed(lambda: list(dm.train_dataloader()))
    n_batches = len(batches)

    class InMemory(SkillSequence):
        """The same skill, its batches already drawn and collated."""

        def train_dataloader(self) -> DataLoader:
            return DataLoader(batches, batch_size=None)

    def one_stage(workers: int | str) -> dict:
        module.model.load_state_dict(init)
        seed_everything(0, verbose=False)
        timer = DataWaitTimer()
        trainer = Trainer(accelerator="cpu", devices=1, max_epochs=1, reload_dataloaders_every_n_epochs=1,
                          num_sanity_val_steps=0, limit_val_batches=0, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False, logger=False,
                          callbacks=[FreezeRecipe(args.recipe), SequentialStages(save_checkpoints=False), timer])
        kind = InMemory if workers == MEMORY else SkillSequence
        data = kind(skills=[args.skill], heldout=[], train_size=args.train_size, batch_size=args.batch_size,
                    num_workers=0 if workers == MEMORY else workers)
        seconds, _ = timed(lambda: trainer.fit(module, datamodule=data))
        return {**timer.epochs[-1], "fit_s": seconds}

    settings = [*args.workers, MEMORY]
    runs: dict[int | str, list[dict]] = {w: [] for w in settings}
    for _ in range(args.repeats):
        for w in settings:
            runs[w].append(one_stage(w))
    best = {w: min(r, key=lambda e: e["wait_share"]) for w, r in runs.items()}

    print(f"\n== data wait: {args.preset}, skill {args.skill}, {n_batches} batches of {args.batch_size}, "
          f"{threads} torch thread(s) in the main process, OMP_NUM_THREADS={threads} in workers")
    print(f"producing one batch in the main process (draw + collate): {1000 * produce_s / n_batches:.1f} ms")
    rows = [[w, f"{100 * b['wait_share']:.1f}%", f"{1000 * b['wait_s'] / max(1, b['steps'] - 1):.1f}",
             f"{1000 * b['step_s'] / b['steps']:.1f}", f"{b['first_batch_s']:.2f}", f"{b['fit_s']:.2f}"]
            for w, b in best.items()]
    print(format_table(["num_workers", "wait share", "wait ms/step", "step ms", "first batch s", "fit s"], rows))
    write_result(args.out, NAME, threads, preset=args.preset, skill=args.skill, batch_size=args.batch_size,
                 batches=n_batches, produce_batch_ms=1000 * produce_s / n_batches,
                 runs={str(w): r for w, r in runs.items()}, best={str(w): b for w, b in best.items()})
    return best


if __name__ == "__main__":
    main()
