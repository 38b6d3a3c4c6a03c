"""The base-row cache: a run that reuses the base row reports, logs and trains exactly as one that evaluated it;
an entry is reused only when every part of its key is this run's."""

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, Trainer

from lmmcl.baselines import LwF, MoE, WiSEFT
from lmmcl.baselines.lora import LoRA
from lmmcl.contracts import StageLoopExtension
from lmmcl.data.datamodule import SkillSequence
from lmmcl.eval.probe import CountingBiasProbe
from lmmcl.eval.samples import SampleLog
from lmmcl.train import base_row
from lmmcl.train.base_row import BaseRowCache, base_row_key, blockers
from lmmcl.train.cli import run
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import FreezeRecipe
from lmmcl.train.stages import SequentialStages

PROBE = "[{class_path: lmmcl.eval.probe.CountingBiasProbe, init_args: {n: 4, batch_size: 4}}]"


def scalars_and_texts(run: Path) -> tuple[dict, dict]:
    """Every scalar (tag -> sorted (step, value)) and text tag (-> steps) of a run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars, texts = {}, {}
    for path in sorted(run.glob("events.out.tfevents.*")):
        events = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
        events.Reload()
        for tag in events.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend((e.step, e.value) for e in events.Scalars(tag))
        for tag in events.Tags()["tensors"]:
            texts.setdefault(tag, []).extend((e.step, e.tensor_proto.string_val[0]) for e in events.Tensors(tag))
    return {k: sorted(v) for k, v in scalars.items()}, {k: sorted(v) for k, v in texts.items()}


def test_a_run_that_reuses_the_base_row_reports_what_one_that_evaluated_it_reports(tmp_path, cli_fit_args, monkeypatch):
    validations = []
    validate = Trainer.validate
    monkeypatch.setattr(Trainer, "validate", lambda self, *a, **k: validations.append(1) or validate(self, *a, **k))
    args = [*cli_fit_args, "--data.heldout", "[color, caption]", "--trainer.callbacks", PROBE,
            "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")]
    cache = ["--stages.base_cache", str(tmp_path / "base_rows")]

    def fit(*extra: str) -> tuple[Path, int]:
        before = len(validations)
        return Path(run([*args, *extra]).trainer.log_dir), len(validations) - before

    evaluated, n_evaluated = fit(*cache)           # no entry yet: evaluates and stores it
    reused, n_reused = fit(*cache)                 # the same base, data and settings: replays it
    plain, n_plain = fit()                         # lmmcl fit as before
    assert (n_evaluated, n_reused, n_plain) == (1, 0, 1)
    assert len(list((tmp_path / "base_rows").glob("*.json"))) == 1

    reports = [json.loads((r / "report.json").read_text()) for r in (evaluated, reused, plain)]
    assert reports[0] == reports[1] == reports[2]  # base row, learning / forgetting, counting bias, drift, samples
    assert reports[1]["stages"][0]["name"] == "base" and reports[1]["counting_bias"][0]["stage"] == "base"
    for name in ("species", "count", "color", "caption"):
        assert (evaluated / f"samples/0/{name}.jsonl").read_text() == (reused / f"samples/0/{name}.jsonl").read_text()
    (s_eval, t_eval), (s_reused, t_reused) = scalars_and_texts(evaluated), scalars_and_texts(reused)
    ours = ("val/", "stage/", "probe/", "drift/", "train/")  # not Lightning's own epoch / hp_metric bookkeeping
    assert {k: v for k, v in s_reused.items() if k.startswith(ours)} == \
        {k: v for k, v in s_eval.items() if k.startswith(ours)}
    assert any(step == 0 for step, _ in s_reused["val/color"]) and t_reused == t_eval
    weights = [torch.load(r / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
               for r in (evaluated, reused)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])

    other_seed, n_other = fit(*cache, "--data.seed", "1")  # one key part changed: evaluated again, a second entry
    assert n_other == 1 and len(list((tmp_path / "base_rows").glob("*.json"))) == 2


@pytest.fixture
def key_of(make_trainer, tiny_data_kwargs):
    """``key_of(**changes)``: the base-row key of a tiny run with ``changes`` to its data, probe, trainer or model."""
    module = LMMModule("tiny_scratch")

    def key(probe_n=4, trainer=None, model=None, **data):
        trainer = make_trainer([FreezeRecipe("mlp_gate_up"), SequentialStages(), CountingBiasProbe(n=probe_n)],
                               **(trainer or {}))
        return base_row_key(trainer, model or module, SkillSequence(**{**tiny_data_kwargs, **data}))

    key.module = module
    return key


def test_changing_any_part_of_the_key_makes_the_entry_unusable(key_of, tmp_path, monkeypatch):
    base = key_of()
    assert isinstance(base, dict) and key_of() == base  # the same run: the same key
    entry = {"format": base_row.FORMAT, "key": base, "records": {}}
    (tmp_path / base_row.key_file(tmp_path, base).name).write_text(json.dumps(entry))
    assert BaseRowCache(tmp_path, base, needs_records=True).load() is not None

    perturbed = LMMModule("tiny_scratch")
    with torch.no_grad():
        next(perturbed.model.parameters()).view(-1)[0] += 1e-6
    changed = {"data seed": key_of(seed=1), "test size": key_of(test_size=4), "eval batch": key_of(eval_batch_size=4),
               "held-out list": key_of(heldout=["color"]), "target order": key_of(skills=["count", "species"]),
               "max length": key_of(max_length=256), "probe": key_of(probe_n=8),
               "limit_val_batches": key_of(trainer={"limit_val_batches": 1}), "weights": key_of(model=perturbed)}
    with monkeypatch.context() as m:
        m.setattr("lmmcl.data.synthetic.WORLD_VERSION", 999)
        changed["world version"] = key_of()
    with monkeypatch.context() as m:
        m.setattr(key_of.module.processor, "chat_template", "{{ messages }}")
        changed["chat template"] = key_of()
    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        changed["torch threads"] = key_of()
    finally:
        torch.set_num_threads(threads)
    from lmmcl.data.skill import get_skill
    from lmmcl.data.synthetic import GENERATORS

    with monkeypatch.context() as m:  # a generator's output changed without a WORLD_VERSION bump
        m.setitem(GENERATORS, get_skill("color").generator, GENERATORS[get_skill("exist").generator])
        changed["samples"] = key_of()
    for part, key in changed.items():
        assert key != base, part
        assert BaseRowCache(tmp_path, key, needs_records=False).load() is None, part

    # a file under the right name whose stored key differs in one part is not used either
    (tmp_path / base_row.key_file(tmp_path, base).name).write_text(json.dumps({**entry, "key": changed["data seed"]}))
    assert BaseRowCache(tmp_path, base, needs_records=False).load() is None
    # an entry without per-sample answers is not used by a run that logs them
    (tmp_path / base_row.key_file(tmp_path, base).name).write_text(json.dumps({**entry, "records": None}))
    assert BaseRowCache(tmp_path, base, needs_records=True).load() is None
    assert BaseRowCache(tmp_path, base, needs_records=False).load() is not None


class Peeker(Callback):
    def on_validation_batch_end(self, *args):
        pass


class SilentProbe(Callback, StageLoopExtension):
    section = "silent"

    def collect(self, trainer, pl_module, row, index):
        return {}


def test_a_run_whose_callbacks_act_in_evaluations_evaluates_its_base_row(make_trainer):
    def reasons(*callbacks, recipe="mlp"):
        return blockers(make_trainer([FreezeRecipe(recipe), SequentialStages(), SampleLog(), *callbacks]))

    assert reasons(CountingBiasProbe(n=4), LwF(), WiSEFT(), LoRA()) == []  # their hooks do nothing at the base
    assert reasons(recipe="lora") == []                                    # the recipe's own adapter alike
    assert any("MoE" in r for r in reasons(MoE()))                         # logs its router load at every evaluation
    assert any("Peeker" in r for r in reasons(Peeker()))                   # an unknown callback: not replayed
    assert any("SilentProbe" in r for r in reasons(SilentProbe()))         # an extension that names no settings


def test_a_run_waits_for_another_evaluating_the_same_base_row_then_reuses_it(tmp_path):
    import threading
    import time

    key = {"format": base_row.FORMAT, "part": 1}
    first, second = BaseRowCache(tmp_path, key, False), BaseRowCache(tmp_path, key, False)
    events = []

    def other_run():
        with second.evaluating():
            events.append(("second finds", second.load() is not None))

    with first.evaluating():
        thread = threading.Thread(target=other_run)
        thread.start()
        time.sleep(0.3)  # the other run is blocked meanwhile
        events.append(("first stores", True))
        first.path.write_text(json.dumps({"format": base_row.FORMAT, "key": key, "records": None}))
    thread.join(10)
    assert events == [("first stores", True), ("second finds", True)]
