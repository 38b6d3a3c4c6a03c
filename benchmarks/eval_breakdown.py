"""Where an evaluation's time goes: drawing the synthetic samples, collating them, and the model.

One accuracy-matrix row evaluates every target and held-out test split (``configs/experiment/default.yaml``:
5 + 10 benchmarks x 64 samples, eval batch 64); a run evaluates 6 rows, and the training stages draw their
train splits once each. This benchmark times, per benchmark and in one process, the three parts of that work
exactly as validation runs them:

- ``draw``: ``skill.dataset("test", n, seed)[i]`` for every sample (the synthetic world's pictures, with the
  split's rejection sampling);
- ``collate``: the real ``Collator`` (chat template, image processor, left padding) on the drawn samples;
- ``model``: ``LMMModule.generate`` (batched greedy generation) under ``torch.inference_mode``;

and the same split for one training stage's data (``--train-size`` samples of one target skill: draw, collate
with labels, forward + backward). Then one whole evaluation as validation runs it (``SkillDataModule`` test
loaders + ``generate``), twice: with new data modules (the run's first evaluation: the test splits are drawn) and
with data modules that evaluated before (every later evaluation: the splits were drawn once and kept,
``lmmcl.data.synthetic.DrawnSplit``). Variants alternate and each keeps its fastest repetition (the machine is
shared). Printed: seconds and share of each part, and the first / later evaluation ratio.

    python -m benchmarks.eval_breakdown [--preset tiny] [--test-size 64] [--repeats 3]
"""

from __future__ import annotations

import time

from benchmarks.common import format_table, load_module, parser, quiet, set_threads, stats, write_result

NAME = "eval_breakdown"
TARGETS = ["species", "count", "pathology", "text", "clock"]
HELDOUT = ["background", "color", "exist", "shape", "position", "chart", "document", "arrow", "choice", "caption"]


def evaluation_parts(module, skills: list[str], test_size: int, batch_size: int, seed: int = 0) -> dict[str, float]:
    """Seconds spent drawing, collating and generating one evaluation of ``skills``."""
    import torch

    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill

    collate = Collator(module.processor, train=False)
    parts = {"draw": 0.0, "collate": 0.0, "model": 0.0}
    for name in skills:
        skill = get_skill(name)
        start = time.perf_counter()
        data = skill.dataset("test", test_size, seed)
        samples = [data[i] for i in range(len(data))]
        parts["draw"] += time.perf_counter() - start
        for b in range(0, len(samples), batch_size):
            start = time.perf_counter()
            batch = collate(samples[b:b + batch_size])
            parts["collate"] += time.perf_counter() - start
            start = time.perf_counter()
            with torch.inference_mode():
                module.generate(batch, skill.max_new_tokens)
            parts["model"] += time.perf_counter() - start
    return parts


def training_parts(module, skill_name: str, train_size: int, batch_size: int, seed: int = 0) -> dict[str, float]:
    """Seconds spent drawing, collating and in forward + backward for one stage's training data."""
    from lmmcl.data.collate import Collator
    from lmmcl.data.skill import get_skill

    collate = Collator(module.processor, train=True)
    parts = {"draw": 0.0, "collate": 0.0, "model": 0.0}
    start = time.perf_counter()
    data = get_skill(skill_name).dataset("train", train_size, seed)
    samples = [data[i] for i in range(len(data))]
    parts["draw"] += time.perf_counter() - start
    module.model.train()
    for b in range(0, len(samples), batch_size):
        start = time.perf_counter()
        batch = collate(samples[b:b + batch_size])
        parts["collate"] += time.perf_counter() - start
        start = time.perf_counter()
        loss = module.model(**module.model_inputs(batch)).loss
        loss.backward()
        module.model.zero_grad(set_to_none=True)
        parts["model"] += time.perf_counter() - start
    module.model.eval()
    return parts


def whole_evaluation(module, modules: list) -> float:
    """Seconds of one evaluation through ``modules``' test loaders (``SkillDataModule``), as validation runs it."""
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        for dm in modules:
            for batch in dm.test_dataloader():
                module.generate(batch, dm.skill.max_new_tokens)
    return time.perf_counter() - start


def data_modules(module, skills: list[str], test_size: int, batch_size: int) -> list:
    from lmmcl.data.datamodule import SkillDataModule

    modules = [SkillDataModule(name, test_size=test_size, eval_batch_size=batch_size) for name in skills]
    for dm in modules:
        dm.processor = module.processor
    return modules


def fastest(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per part, its fastest repetition."""
    return {k: min(r[k] for r in runs) for k in runs[0]}


def shares(parts: dict[str, float]) -> list[str]:
    total = sum(parts.values())
    return [f"{parts[k]:.2f} ({100 * parts[k] / total:.0f} %)" for k in ("draw", "collate", "model")] + [f"{total:.2f}"]


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--skills", nargs="+", default=TARGETS + HELDOUT,
                   help="evaluated benchmarks (default: the default config's 15)")
    p.add_argument("--test-size", type=int, default=64)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--train-skill", default="count", help="the target skill whose training data is timed")
    p.add_argument("--train-size", type=int, default=256,
                   help="training samples timed (a stage of the default has 2,000)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    module = load_module(args.preset)
    module.eval()
    evaluation_parts(module, args.skills[:1], 8, args.eval_batch_size)  # warm-up, not counted
    evals, trains, first, later = [], [], [], []
    kept = data_modules(module, args.skills, args.test_size, args.eval_batch_size)
    whole_evaluation(module, kept)  # their test splits drawn once, here
    for _ in range(args.repeats):  # alternate: load on the shared machine hits every variant alike
        evals.append(evaluation_parts(module, args.skills, args.test_size, args.eval_batch_size))
        trains.append(training_parts(module, args.train_skill, args.train_size, args.batch_size))
        first.append(whole_evaluation(module, data_modules(module, args.skills, args.test_size, args.eval_batch_size)))
        later.append(whole_evaluation(module, kept))
    ev, tr = fastest(evals), fastest(trains)

    print(f"\n== where the time goes: {args.preset}, {threads} torch thread(s), fastest of {args.repeats}")
    head = ["work", "draw s", "collate s", "model s", "total s"]
    print(format_table(head, [[f"evaluation: {len(args.skills)} benchmarks x {args.test_size}", *shares(ev)],
                              [f"training: {args.train_skill} x {args.train_size}, batch {args.batch_size}",
                               *shares(tr)]]))
    draw_share = ev["draw"] / sum(ev.values())
    print(f"drawing the samples is {100 * draw_share:.1f} % of an evaluation's time here (at most what caching the "
          f"drawn test splits could save per evaluation) and {100 * tr['draw'] / sum(tr.values()):.1f} % of a "
          f"training stage's")
    print(f"a whole evaluation: {min(first):.2f} s with its test splits drawn (a run's first), {min(later):.2f} s "
          f"with them drawn before and kept (every later one): {min(first) / min(later):.2f}x")
    write_result(args.out, NAME, threads, preset=args.preset, skills=args.skills, test_size=args.test_size,
                 eval_batch_size=args.eval_batch_size, train_skill=args.train_skill, train_size=args.train_size,
                 batch_size=args.batch_size, repeats=args.repeats, evaluation=ev, training=tr,
                 evaluation_runs=evals, training_runs=trains, draw_share_evaluation=draw_share,
                 whole_evaluation={"first": stats(first), "later": stats(later), "ratio": min(first) / min(later)})
    return {"evaluation": ev, "training": tr, "first_over_later": min(first) / min(later)}


if __name__ == "__main__":
    main()
