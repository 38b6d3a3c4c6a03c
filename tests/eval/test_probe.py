"""Counting-bias probe: the number-token set, the per-step statistics, and the probe inside a staged run."""

import json
from pathlib import Path

import pytest
import torch

from lmmcl.eval.probe import CountingBiasProbe, is_number_text, live_steps, number_token_ids, step_stats


@pytest.mark.parametrize("text", ["0", "7", "Ġ12", " 42", "▁3", "3.5", ".5", "twenty", "Seven", " ninety",
                                  "hundred", "billion", "first", "Twentieth", "1st", "22nd", "3rd", "11th"])
def test_number_texts(text):
    assert is_number_text(text)


@pytest.mark.parametrize("text", ["", " ", "Ġ", "A", "none", "no", "tone", "often", "once", "3.", "1e5", "²",
                                  "٣", "3a", "firsts", "<eos>"])
def test_non_number_texts(text):
    assert not is_number_text(text)


def test_number_tokens_of_the_tiny_tokenizer():
    from lmmcl.models.presets import get_preset, resolve_checkpoint
    from lmmcl.models.processors import load_processor

    tokenizer = load_processor(resolve_checkpoint(get_preset("tiny_scratch"))).tokenizer
    ids = number_token_ids(tokenizer)
    texts = {tokenizer.decode([i]) for i in ids}
    digits = set("0123456789")
    assert digits <= texts  # its pre-tokenizer splits digits, so every digit is a token of its own
    # anything else is a number word the BPE merged from the corpus (e.g. "ten" from "often"), never a digit run
    assert all(t.strip().isalpha() for t in texts - digits), texts - digits
    everything = {i: tokenizer.decode([i]).strip() for i in range(len(tokenizer))}
    assert {i for i, t in everything.items() if t.isascii() and t.isdigit()} <= set(ids)


def test_step_stats_and_live_steps():
    number = torch.tensor([False, True, True, False])
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 1.0, -2.0], [30.0, -30.0, -30.0, 0.0]])
    stats = step_stats(logits, number)
    probs = logits.softmax(-1)
    torch.testing.assert_close(stats["mass"], probs[:, 1:3].sum(-1))
    torch.testing.assert_close(stats["max_prob"], probs[:, 1:3].max(-1).values)
    torch.testing.assert_close(stats["max_logit"], torch.tensor([0.0, 5.0, -30.0]))
    assert ((stats["mass"] >= 0) & (stats["mass"] <= 1)).all()
    # steps after a sample's end-of-sequence token (id 1) are padding, the step that produced it counts
    tokens = torch.tensor([[5, 1, 0, 0], [5, 6, 7, 8], [1, 0, 0, 0]])
    assert live_steps(tokens, [1]).tolist() == [[True, True, False, False], [True] * 4, [True, False, False, False]]


def test_probe_in_a_staged_run(make_trainer, tiny_data_kwargs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.report import report_from_tensorboard
    from lmmcl.train.module import LMMModule
    from lmmcl.train.recipes import FreezeRecipe
    from lmmcl.train.stages import SequentialStages, run_sequence

    probe = CountingBiasProbe(n=4, max_new_tokens=3, batch_size=4)
    # the probe before SequentialStages in the list: it still measures after each row is added
    trainer = make_trainer([probe, FreezeRecipe("mlp_gate_up"), SequentialStages(save_checkpoints=False)])
    data = SkillSequence(**{**tiny_data_kwargs, "train_size": 8, "test_size": 4})
    run_sequence(trainer, LMMModule("tiny_scratch", lr=1e-3), data)

    run = Path(trainer.log_dir)
    report = json.loads((run / "report.json").read_text())
    assert [e["stage"] for e in report["counting_bias"]] == ["base", "species", "count"]  # base + every stage
    for entry in report["counting_bias"]:
        for group in ("target", "heldout"):
            stats = entry[group]
            assert 0.0 <= stats["max_prob_mean"] <= stats["mass_mean"] <= stats["mass_max_mean"] <= 1.0
            assert stats["mass_std"] >= 0 and stats["n"] == 4
    assert (run / "accuracy_matrix.png").stat().st_size > 0 and (run / "counting_bias.png").stat().st_size > 0
    assert "## Counting bias" in (run / "report.md").read_text()

    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("probe/heldout/mass_mean")] == [0, 1, 2]
    assert {"report/accuracy_matrix", "report/counting_bias"} <= set(events.Tags()["images"])

    # the report is derivable from the logged metrics alone (names from the skills given here)
    rebuilt = report_from_tensorboard(run, skills=["species", "count"], heldout=["color", "exist"])
    assert [r["name"] for r in rebuilt["stages"]] == [r["name"] for r in report["stages"]]
    for got, want in zip(rebuilt["stages"], report["stages"]):
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-4)
    for got, want in zip(rebuilt["counting_bias"], report["counting_bias"]):
        assert got["heldout"]["mass_mean"] == pytest.approx(want["heldout"]["mass_mean"], rel=1e-5)
    assert rebuilt["summary"] == pytest.approx(report["summary"], abs=1e-4)
    assert rebuilt["trainable_params"] == report["trainable_params"]


def test_the_probes_prompts_are_never_items_the_run_scores():
    from types import SimpleNamespace

    from lmmcl.data.datamodule import SkillDataModule
    from lmmcl.eval.probe import PROBE_SEED, item_key

    def prompts(probe):
        return {item_key(data[i]) for _, data in probe._prompts()["heldout"] for i in range(len(data))}

    scored_seeds = [0, 1, 2, 100]  # the default config's, the reported seeds' and the calibration seed's test items
    scored = {item_key(s) for seed in scored_seeds
              for s in SkillDataModule("caption", test_size=64, seed=seed).split_data("test")}
    probe = CountingBiasProbe(n=32)
    assert probe.seed == PROBE_SEED not in scored_seeds
    assert len(prompts(probe)) == 32 and not prompts(probe) & scored  # its own pictures: no item in common

    # a probe told to draw at the run's own data seed would prompt with exactly the scored items: it replaces them
    run = SkillDataModule("caption", test_size=8, seed=0)
    same = CountingBiasProbe(n=8, seed=0)
    run_items = {item_key(s) for s in run.split_data("test")}
    assert prompts(same) == run_items
    same.setup(SimpleNamespace(datamodule=SimpleNamespace(eval_modules=[run])), None, "fit")
    assert len(prompts(same)) == 8 and not prompts(same) & run_items


def test_a_bad_record_is_no_item_to_avoid():
    """A test split's undecodable picture (a BadRecord, read lazily) neither counts as scored nor stops the probe."""
    from types import SimpleNamespace

    from lmmcl.data.bad import BadRecord
    from lmmcl.eval.probe import item_key

    assert item_key(BadRecord("undecodable_image", 2)) is None and item_key(None) is None
    run = SimpleNamespace(name="caption", split_data=lambda split: [BadRecord("undecodable_image", 0)])
    probe = CountingBiasProbe(n=4)
    probe.avoid([run])
    assert probe._scored == {"caption": set()}
    assert sum(len(data) for _, data in probe._prompts()["heldout"]) == 4


def test_prompts_are_built_with_the_runs_max_length_and_none_left_is_an_error():
    """The probe's prompts are cut at the run's data.max_length (count prompts are 40 tokens here, color 32)."""
    from types import SimpleNamespace

    from lmmcl.data.datamodule import SkillSequence
    from lmmcl.errors import LmmclError
    from lmmcl.train.module import LMMModule

    module = LMMModule("tiny_scratch").eval()
    run = SimpleNamespace(datamodule=SkillSequence(skills=["species"], heldout=["color"], max_length=35))
    probe = CountingBiasProbe(n=4, counting=["count", "color"], other=["color"], max_new_tokens=2, batch_size=4)
    probe.setup(run, module, "fit")
    assert probe.measure(module)["target"]["n"] == 2  # the two color prompts; the count ones are too long
    alone = CountingBiasProbe(n=4, counting=["count"], other=["color"], max_new_tokens=2)
    alone.setup(run, module, "fit")
    with pytest.raises(LmmclError, match=r"counting-bias probe prompts \(count\): every sample was dropped "
                                         r"\(too_long: 4\) at max_length=35"):
        alone.measure(module)
