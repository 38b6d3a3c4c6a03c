"""Per-sample answers of every evaluation (lmms-eval's ``--log_samples``), and a tool to read and diff them.

:class:`SampleLog` (always on in ``lmmcl fit``, ``--samples.*``) writes, after every accuracy-matrix row,
``samples/<row>/<benchmark>.jsonl`` in the run directory: row 0 is the base evaluation, row k the evaluation
after stage k. One JSON object per test sample, in test-set order: ``stage`` (the row's name), ``question``,
``references``, ``prediction`` and ``score`` (the benchmark's metric on that sample, in [0, 1]). The first
``tensorboard_n`` samples per benchmark also go to TensorBoard as text (``samples/<benchmark>``, step = row).
With several processes each writes its own shard, ``<benchmark>.rank<r>.jsonl``.

    lmmcl samples RUN_DIR --benchmark color --stage 3       # what the model answered after stage 3
    lmmcl samples RUN_DIR --diff 0 3 [--benchmark color]    # answers that changed, grouped by how

``--stage`` and ``--diff`` take row numbers or stage names (``base``, ``count``, ...). A diff groups the changed
answers by their formats (:func:`lmmcl.eval.formats.answer_format`), e.g. ``word -> number``, and counts how
many became right or wrong.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from lmmcl.atomic import atomic_write
from lmmcl.contracts import StageModule, stage_loop
from lmmcl.errors import LmmclError
from lmmcl.rundir import run_dir
from lmmcl.tables import markdown_table

SAMPLES_DIR = "samples"
SAMPLE_COLUMNS = ("score", "prediction", "references", "question")  # the samples table shown by the loggers


class SampleLog(Callback):
    """Write every evaluated sample's question, references, prediction and score (``samples/<row>/<benchmark>.jsonl``).

    Args:
        enabled: turn the per-sample files off with ``false``.
        tensorboard_n: samples per benchmark shown as text in TensorBoard (0: none).
    """

    idle_in_base_evaluation = True  # a reused base row's samples are written by lmmcl.train.base_row.replay

    def __init__(self, enabled: bool = True, tensorboard_n: int = 4):
        self.enabled, self.tensorboard_n = enabled, tensorboard_n
        self._records: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._records = defaultdict(list)

    def on_validation_batch_end(self, trainer: Trainer, pl_module: StageModule, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        from lmmcl.eval.metrics import as_refs

        if not self.enabled or trainer.sanity_checking or not isinstance(outputs, dict) or "preds" not in outputs:
            return
        skill = pl_module.benchmarks[dataloader_idx]
        metric = pl_module.val_metrics[skill.name]  # the benchmark's own metric; score() leaves its state alone
        for question, refs, pred in zip(batch["questions"], batch["refs"], outputs["preds"]):
            refs = as_refs(refs)
            self._records[skill.name].append({"question": question, "references": refs, "prediction": pred,
                                              "score": float(metric.score(pred, refs))})

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        loop = stage_loop(trainer)
        if not self.enabled or trainer.sanity_checking or loop is None:
            return
        run = run_dir(trainer)  # on every rank: reading it is a collective
        if run is None:
            return
        row = loop.evaluation_row(trainer)  # the row the stage loop is about to add
        if row is not None:
            self.write_row(trainer, run, loop.stage_name(trainer), row, self._records)

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Per benchmark, the records of the last evaluation (question, references, prediction, score)."""
        return dict(self._records)

    def write_row(self, trainer: Trainer, run: Path, name: str, row: int,
                  records: dict[str, list[dict[str, Any]]]) -> None:
        """``samples/<row>/<benchmark>.jsonl`` and the TensorBoard text of one evaluation's ``records`` (also a
        reused base row's: :mod:`lmmcl.train.base_row`)."""
        folder = run / SAMPLES_DIR / str(row)
        suffix = f".rank{trainer.global_rank}" if trainer.world_size > 1 else ""
        for benchmark, rows in records.items():
            atomic_write(folder / f"{benchmark}{suffix}.jsonl",
                         "".join(json.dumps({"stage": name, **r}) + "\n" for r in rows))
        if self.tensorboard_n and trainer.is_global_zero:
            from lmmcl.loggers import log_table

            for benchmark, rows in records.items():
                shown = rows[:self.tensorboard_n]
                log_table(trainer.loggers, f"samples/{benchmark}", list(SAMPLE_COLUMNS),
                          [[r["score"], r["prediction"], " / ".join(r["references"]), r["question"]] for r in shown],
                          samples_markdown(shown), step=row)


def samples_markdown(records: list[dict[str, Any]]) -> str:
    """A Markdown table of samples: score, prediction, references, question."""
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    return "\n".join(markdown_table(list(SAMPLE_COLUMNS),
                                     [[f"{r['score']:.2f}", cell(r["prediction"]), cell(" / ".join(r["references"])),
                                       cell(r["question"])] for r in records]))


# --- reading ---------------------------------------------------------------------------------------
def rows(run_dir: str | Path) -> dict[int, str]:
    """Row number -> stage name of the evaluations a run logged samples for."""
    found = {}
    for folder in sorted((Path(run_dir) / SAMPLES_DIR).glob("*")):
        files = sorted(folder.glob("*.jsonl"))
        if folder.name.isdigit() and files:
            first = files[0].read_text().splitlines()
            found[int(folder.name)] = json.loads(first[0])["stage"] if first else "?"
    return dict(sorted(found.items()))


def resolve_row(run_dir: str | Path, stage: str) -> int:
    """A row number from a number or a stage name (its last evaluation if the name repeats)."""
    known = rows(run_dir)
    if not known:
        raise LmmclError(f"{run_dir} has no {SAMPLES_DIR}/<row>/*.jsonl: is it a run directory of lmmcl fit "
                         f"(logs/<model>/<recipe>/version_<n>) with samples enabled?")
    if stage.isdigit() and int(stage) in known:
        return int(stage)
    named = [k for k, name in known.items() if name == stage]
    if not named:
        listing = ", ".join(f"{k} ({name})" for k, name in known.items())
        raise LmmclError(f"No evaluation {stage!r} in {run_dir}: choose a row or stage name among {listing}.")
    return named[-1]


def load_samples(run_dir: str | Path, row: int, benchmark: str) -> list[dict[str, Any]]:
    """The samples of ``benchmark`` at ``row`` (rank shards concatenated)."""
    folder = Path(run_dir) / SAMPLES_DIR / str(row)
    files = sorted(folder.glob(f"{benchmark}.jsonl")) + sorted(folder.glob(f"{benchmark}.rank*.jsonl"))
    if not files:
        have = sorted({p.name.split(".")[0] for p in folder.glob("*.jsonl")})
        raise LmmclError(f"No samples of benchmark {benchmark!r} at row {row}: choose among {', '.join(have)}.")
    return [json.loads(line) for path in files for line in path.read_text().splitlines() if line]


def diff_samples(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """Changed answers grouped by ``"<format before> -> <format after>"``, and counts of fixed / broken ones."""
    from lmmcl.eval.formats import answer_format

    if [r["question"] for r in before] != [r["question"] for r in after]:
        raise LmmclError("The two evaluations asked different questions (another test set or seed): cannot pair them.")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    fixed = broken = 0
    for a, b in zip(before, after):
        if a["prediction"] == b["prediction"]:
            continue
        key = f"{answer_format(a['prediction'])} -> {answer_format(b['prediction'])}"
        groups[key].append({"question": a["question"], "references": a["references"], "before": a["prediction"],
                            "after": b["prediction"], "score_before": a["score"], "score_after": b["score"]})
        fixed += b["score"] > a["score"]
        broken += b["score"] < a["score"]
    ordered = dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))
    return {"total": len(before), "changed": sum(map(len, groups.values())), "became_better": fixed,
            "became_worse": broken, "groups": ordered}


def render_diff(benchmark: str, names: tuple[str, str], diff: dict[str, Any], examples: int) -> str:
    lines = [f"## {benchmark}: {names[0]} -> {names[1]}: {diff['changed']} of {diff['total']} answers changed "
             f"({diff['became_better']} scored higher, {diff['became_worse']} lower)"]
    for key, changes in diff["groups"].items():
        lines.append(f"  {key}: {len(changes)}")
        lines += [f"    {c['before']!r} -> {c['after']!r}  (refs {' / '.join(c['references'])}; "
                  f"{c['score_before']:.2f} -> {c['score_after']:.2f})  {c['question']!r}" for c in changes[:examples]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run directory: logs/<model>/<recipe>/version_<n>")
    parser.add_argument("--benchmark", help="benchmark name (required without --diff; default with --diff: all)")
    parser.add_argument("--stage", default=None, help="row number or stage name to print (default: the last)")
    parser.add_argument("--diff", nargs=2, metavar=("FROM", "TO"), help="rows or stage names to compare")
    parser.add_argument("--limit", type=int, default=20, help="samples (or examples per change group) to print")
    args = parser.parse_args(argv)
    try:
        known = rows(args.run_dir)
        if args.diff:
            a, b = (resolve_row(args.run_dir, s) for s in args.diff)
            folder = Path(args.run_dir) / SAMPLES_DIR / str(a)
            logged = sorted({p.name.split(".")[0] for p in folder.glob("*.jsonl")})
            benchmarks = [args.benchmark] if args.benchmark else logged
            for benchmark in benchmarks:
                diff = diff_samples(load_samples(args.run_dir, a, benchmark), load_samples(args.run_dir, b, benchmark))
                print(render_diff(benchmark, (f"{a} ({known[a]})", f"{b} ({known[b]})"), diff, args.limit))
            return 0
        if not args.benchmark:
            raise LmmclError("Name a benchmark: --benchmark <name> (or use --diff FROM TO for every benchmark).")
        row = resolve_row(args.run_dir, args.stage if args.stage is not None else str(max(known, default=0)))
        records = load_samples(args.run_dir, row, args.benchmark)
    except LmmclError as err:
        print(f"lmmcl samples: error: {err}")
        return 2
    mean = sum(r["score"] for r in records) / max(1, len(records))
    print(f"# {args.benchmark} after row {row} ({known[row]}): {len(records)} samples, mean score {100 * mean:.1f}\n")
    print(samples_markdown(records[:args.limit]))
    return 0
