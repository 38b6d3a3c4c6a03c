"""Evaluation: a held-out suite with batched greedy generation against batch size 1 (how the reference code
evaluates), and whether both give the same answers.

The suite is the test splits of several synthetic held-out skills, each with its own ``max_new_tokens``, run
exactly as validation runs them: ``SkillDataModule.test_dataloader()`` (left-padded prompts through the real
``Collator``) and ``LMMModule.generate`` under ``torch.inference_mode``. Timed: loading + collating + generating
the whole suite. Printed: seconds per mode and per skill, the speed-up, and the number of answers that differ
between the two modes (must be 0: left padding with correct attention masks and positions changes nothing).
Target: speed-up >= 8x.

    python -m benchmarks.eval_batching [--skills color exist shape chart caption] [--test-size 64] [--batch-size 64]
"""

from __future__ import annotations

from benchmarks.common import format_table, load_module, parser, quiet, set_threads, timed, write_result

NAME = "eval_batching"
HELDOUT_SUITE = ["color", "exist", "shape", "chart", "caption"]


def run_suite(module, skills: list[str], test_size: int,
              batch_size: int) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(seconds per skill, answers per skill) for the whole suite at ``batch_size``."""
    import torch

    from lmmcl.data.datamodule import SkillDataModule

    seconds, answers = {}, {}
    for name in skills:
        dm = SkillDataModule(name, test_size=test_size, eval_batch_size=batch_size)
        dm.processor = module.processor

        def evaluate(dm: SkillDataModule = dm) -> list[str]:
            out = []
            with torch.inference_mode():
                for batch in dm.test_dataloader():
                    out += module.generate(batch, dm.skill.max_new_tokens)
            return out

        seconds[name], answers[name] = timed(evaluate)
    return seconds, answers


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--skills", nargs="+", default=HELDOUT_SUITE)
    p.add_argument("--test-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64, help="batched mode's eval batch size (default: the CLI's 64)")
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()

    module = load_module(args.preset)
    module.eval()
    run_suite(module, args.skills[:1], 8, args.batch_size)  # warm-up, not counted
    batched_s, batched = run_suite(module, args.skills, args.test_size, args.batch_size)
    single_s, single = run_suite(module, args.skills, args.test_size, 1)

    mismatches = {s: sum(a != b for a, b in zip(batched[s], single[s])) for s in args.skills}
    examples = [(s, i, batched[s][i], single[s][i]) for s in args.skills for i in range(len(batched[s]))
                if batched[s][i] != single[s][i]][:5]
    total_b, total_1 = sum(batched_s.values()), sum(single_s.values())
    speedup = total_1 / total_b
    n = args.test_size * len(args.skills)

    print(f"\n== evaluation: {args.preset}, {len(args.skills)} held-out skills x {args.test_size} test samples, "
          f"batch {args.batch_size} vs 1, {threads} torch thread(s)")
    from lmmcl.data.skill import get_skill

    rows = [[s, get_skill(s).max_new_tokens, f"{batched_s[s]:.2f}", f"{single_s[s]:.2f}",
             f"{single_s[s] / batched_s[s]:.1f}x", mismatches[s]] for s in args.skills]
    rows.append(["suite", "", f"{total_b:.2f}", f"{total_1:.2f}", f"{speedup:.1f}x", sum(mismatches.values())])
    print(format_table(["skill", "max_new_tokens", f"batch {args.batch_size} s", "batch 1 s", "speed-up",
                        "mismatches"], rows))
    for skill, i, a, b in examples:
        print(f"  mismatch {skill}[{i}]: batched {a!r} vs batch-1 {b!r}")
    print(f"speed-up batched/batch-1: {speedup:.1f}x (target >= 8x: {'met' if speedup >= 8 else 'NOT met'}); "
          f"{n / total_b:.0f} vs {n / total_1:.0f} samples/s; mismatched answers: {sum(mismatches.values())} of {n}")
    write_result(args.out, NAME, threads, preset=args.preset, skills=args.skills, test_size=args.test_size,
                 batch_size=args.batch_size, seconds={"batched": batched_s, "batch_1": single_s},
                 speedup=speedup, target_speedup=8, mismatches=mismatches, mismatch_examples=examples, samples=n)
    return {"speedup": speedup, "mismatches": sum(mismatches.values())}


if __name__ == "__main__":
    main()
