"""The clock rule: how many clock test answers the circular one-minute rule scores differently from the
reference's rule (``reference_parity: true``), on a model's real replies.

Generates greedy answers on the ``clock`` skill's test split (as validation does), scores each with both rules
and prints both accuracies and every sample on which they disagree. ``--ckpt`` scores a stage checkpoint
(``logs/.../checkpoints/stage5-clock.ckpt``) instead of the preset's base weights. Also scores, on the same
references, replies shifted by a known number of minutes (-1, +1: a one-minute misreading; +59), which shows
where the two rules part independently of how well the model reads clocks.

    python -m research.clock_rule [--preset tiny] [--test-size 256] [--ckpt PATH]
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import load_module, parser, quiet, set_threads, write_result

NAME = "clock_rule"


def replies(module, skill: str, test_size: int) -> tuple[list[str], list[list[str]]]:
    """(greedy replies, references) on ``skill``'s test split."""
    import torch

    from lmmcl.data.datamodule import SkillDataModule

    dm = SkillDataModule(skill, test_size=test_size)
    dm.processor = module.processor
    preds, refs = [], []
    with torch.inference_mode():
        for batch in dm.test_dataloader():
            preds += module.generate(batch, dm.skill.max_new_tokens)
            refs += batch["refs"]
    return preds, refs


def shifted(ref: str, minutes: int) -> str:
    """``ref`` moved by ``minutes`` on the 12-hour dial, written H:MM with hours 1..12."""
    from lmmcl.eval.normalize import parse_clock

    hour, minute = parse_clock(ref)
    total = (hour % 12 * 60 + minute + minutes) % 720
    return f"{total // 60 or 12}:{total % 60:02d}"


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], NAME)
    p.prog = f"python -m research.{NAME}"  # benchmarks.common's parser, for a research probe
    p.set_defaults(preset="tiny", out=Path("research/results") / f"{NAME}.json")
    p.add_argument("--skill", default="clock")
    p.add_argument("--test-size", type=int, default=256)
    p.add_argument("--ckpt", type=Path, help="a stage checkpoint whose weights to score")
    args = p.parse_args(argv)
    threads = set_threads(args.threads)
    quiet()
    import torch

    from lmmcl.eval.metrics import ClockAccuracy

    module = load_module(args.preset)
    if args.ckpt:
        module.load_state_dict(torch.load(args.ckpt, map_location="cpu", weights_only=False)["state_dict"])
    module.eval()
    preds, refs = replies(module, args.skill, args.test_size)
    rules = {"circular": ClockAccuracy(), "reference_parity": ClockAccuracy(reference_parity=True)}
    scores = {name: [rule.score(p, r) for p, r in zip(preds, refs)] for name, rule in rules.items()}
    differ = [(p, r[0], scores["circular"][i], scores["reference_parity"][i])
              for i, (p, r) in enumerate(zip(preds, refs)) if scores["circular"][i] != scores["reference_parity"][i]]
    accuracy = {name: 100 * sum(s) / len(s) for name, s in scores.items()}
    shifts = {shift: {name: 100 * sum(rule.score(shifted(r[0], shift), r) for r in refs) / len(refs)
                      for name, rule in rules.items()} for shift in (-1, 1, 59)}
    print(f"\n== clock rule: {args.preset}{f' + {args.ckpt}' if args.ckpt else ''}, {args.skill} test x {len(preds)}")
    for name, value in accuracy.items():
        print(f"  {name:17s} both_accuracy {value:.2f}")
    print(f"  samples scored differently: {len(differ)} of {len(preds)}")
    for shift, by_rule in shifts.items():
        print(f"  replies shifted {shift:+d} min: " + ", ".join(f"{k} {v:.2f}" for k, v in by_rule.items()))
    for pred, ref, circular, parity in differ[:10]:
        print(f"    reply {pred!r} vs {ref!r}: circular {circular:.0f}, reference {parity:.0f}")
    return write_result(args.out, NAME, threads, preset=args.preset, ckpt=str(args.ckpt or ""), skill=args.skill,
                        test_size=len(preds), accuracy=accuracy, differ=len(differ), shifted=shifts,
                        examples=differ[:20])


if __name__ == "__main__":
    main()
