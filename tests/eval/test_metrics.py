"""Answer metrics: per-sample scores, torchmetrics accumulation and the registry."""

import warnings

import pytest
import torch

from lmmcl.errors import LmmclError
from lmmcl.eval.metrics import METRICS, AnswerMetric, build_metric


def score(name: str | dict, pred: str, refs, **kwargs) -> float:
    refs = [refs] if isinstance(refs, str) else refs
    return build_metric(name, **kwargs).score(pred, refs)


@pytest.mark.parametrize("pred, refs, expected", [
    ("The Red Circle.", "red circle", 1.0),
    ("three", "3", 1.0),
    ("red square", "red circle", 0.0),
    ("blue", ["red", "Blue"], 1.0),
])
def test_exact_match(pred, refs, expected):
    assert score("exact_match", pred, refs) == expected


@pytest.mark.parametrize("pred, refs, expected", [
    # leave-one-out: each subset without one reference, min(matches / k, 1) with k = min(3, n - 1), averaged
    ("Two", ["2", "two", "cat"], (1 / 2 + 1 / 2 + 2 / 2) / 3),   # k = 2: leaving out a "2" leaves 1 match
    ("2", ["2", "2", "2.", "3"], (2 / 3 * 3 + 1) / 4),          # k = 3 from 4 references on: the official rule
    ("dog", ["cat"], 0.0),
    ("dog", ["dog"], 1.0),                                       # one reference: an exact match
    ("Dogs!", ["dogs"], 1.0),                                    # ... after the VQA normalisation
    ("dog", ["dog", "dog"], 1.0),                                # every reference agrees: 1 with any count
    ("dog", ["dog", "cat"], (0 + 1) / 2),                        # k = 1: leaving out cat leaves one match
    ("dog", ["dog"] * 3, 1.0),
    ("stop", ["stop"] * 3 + ["go"] * 6, (3 * 2 / 3 + 6) / 9),     # 9 answers: same rule as 10
    ("dog", [], 0.0),
])
def test_vqa_accuracy_leave_one_out_for_any_count(pred, refs, expected):
    assert score("vqa_accuracy", pred, refs) == pytest.approx(expected)


# Hand-computed: every metric on one reference (own data usually has one) and on several (the best one counts,
# except vqa_accuracy's agreement rule above and mc_letter's [letter, option text]).
@pytest.mark.parametrize("name, pred, one, many, expected_one, expected_many", [
    ("exact_match", "Red circle", "red circle", ["blue", "red circle"], 1.0, 1.0),
    ("exact_match", "red", "blue", ["blue", "green"], 0.0, 0.0),
    ("anls", "invoice numbr", "invoice number", ["total", "invoice number"], 1 - 1 / 14, 1 - 1 / 14),
    ("relaxed_accuracy", "104", "100", ["50", "100"], 1.0, 1.0),
    ("mc_letter", "B", "B", ["B", "a dog"], 1.0, 1.0),
    ("mc_letter", "a dog", "B", ["B", "a dog"], 0.0, 1.0),  # the option's text needs the text reference
    ("count", "three", "3", ["4", "3"], 1.0, 1.0),
    ("clock", "3:59", "4:00", ["7:30", "4:00"], 1.0, 1.0),
    ("yes_no", "Yes, it is.", "yes", ["no", "yes"], 1.0, 1.0),
    ("token_f1", "red big circle", "red circle", ["blue", "red circle"], 0.8, 0.8),  # P 2/3, R 1
    ("bleu", "red circle", "red circle", ["blue square", "red circle"], 1.0, 1.0),
    ("vqa_accuracy", "red", "red", ["red", "red", "blue"], 1.0, (1 / 2 + 1 / 2 + 1) / 3),
])
def test_every_metric_with_one_and_with_several_references(name, pred, one, many, expected_one, expected_many):
    for refs, expected in (([one], expected_one), (many, expected_many)):
        metric = build_metric(name)
        metric.update([pred], [refs])
        assert float(metric.compute()) == pytest.approx(expected), (name, refs)
    single = build_metric(name)
    single.update([pred], [one])  # a bare reference, not in a list
    assert float(single.compute()) == pytest.approx(expected_one)


@pytest.mark.parametrize("name, pred, ref, expected", [
    ("count", "3", 3, 1.0),              # an integer count from a JSON file
    ("count", "three", [3, 4], 1.0),
    ("count", "2", 3, 0.0),
    ("exact_match", "3", 3.0, 1.0),      # a float that is a whole number reads as one
    ("relaxed_accuracy", "2.7", 2.5, 0.0),    # 8 % off
    ("relaxed_accuracy", "2.52", 2.5, 1.0),
    ("yes_no", "yes", True, 1.0),        # a JSON boolean states yes or no
    ("vqa_accuracy", "7", 7, 1.0),
])
def test_references_of_other_types_are_read_as_the_answer_they_state(name, pred, ref, expected):
    metric = build_metric(name)
    metric.update([pred], [ref])
    assert float(metric.compute()) == pytest.approx(expected)


def test_vqa_accuracy_blank_annotator_does_not_change_the_rule():
    # A TextVQA item with one blank annotator answer: 10 references, 3 matches -> 0.9, as with any other 10th answer.
    assert score("vqa_accuracy", "stop", ["stop"] * 3 + ["go"] * 6 + [""]) == pytest.approx(0.9)
    assert score("vqa_accuracy", "stop", ["stop"] * 3 + ["go"] * 6 + ["go"]) == pytest.approx(0.9)


def test_vqa_accuracy_leave_one_out_with_ten_answers():
    # 3 of 10 match: the 3 subsets without a match see 2 (2/3), the 7 others see 3 (1) -> (3*2/3 + 7) / 10 = 0.9
    refs = ["stop"] * 3 + ["go"] * 7
    assert score("vqa_accuracy", "Stop!", refs) == pytest.approx(0.9)
    assert score("vqa_accuracy", "go", refs) == 1.0


@pytest.mark.parametrize("pred, expected", [
    ("Invoice  NUMBER", 1.0),        # case and whitespace are normalised
    ("invoice numbr", 1 - 1 / 14),   # one edit over the longer raw length
    ("invoice", 0.5),                # similarity exactly at the threshold is kept
    ("invoic", 0.0),                 # 6/14 < 0.5 -> 0
])
def test_anls_threshold(pred, expected):
    assert score("anls", pred, ["invoice number", "something else"]) == pytest.approx(expected)


def test_anls_threshold_is_configurable():
    assert score("anls", "invoic", "invoice number", threshold=0.4) == pytest.approx(6 / 14)


@pytest.mark.parametrize("pred, ref, expected", [
    ("105", "100", 1.0),      # exactly 5% off
    ("105.1", "100", 0.0),    # just over
    ("95", "100", 1.0),
    ("42%", "0.42", 1.0),     # "x%" is x / 100
    ("0", "0", 1.0),          # a zero target falls back to string equality
    ("Yes", "yes", 1.0),
    ("yes.", "yes", 0.0),
    ("1,050", "1000", 1.0),   # thousands separators are read (the reference compared strings)
    ("-1,000", "-1000", 1.0),
])
def test_relaxed_accuracy_boundary(pred, ref, expected):
    assert score("relaxed_accuracy", pred, ref) == expected


@pytest.mark.parametrize("pred, expected", [
    ("B", 1.0), ("(B)", 1.0), ("B.", 1.0), ("b)", 1.0), ("B. Indigo Bunting", 1.0), ("The answer is B", 1.0),
    ("Answer: B", 1.0), ("option B", 1.0), ("indigo bunting.", 1.0),
    ("A", 0.0), ("A. Indigo Bunting", 0.0), ("Scarlet Tanager", 0.0), ("The", 0.0), ("", 0.0),
])
def test_mc_letter(pred, expected):
    assert score("mc_letter", pred, ["B", "Indigo Bunting"]) == expected


def test_mc_letter_without_option_text():
    assert score("mc_letter", "(C)", "C") == 1.0
    assert score("mc_letter", "Indigo Bunting", "C") == 0.0


@pytest.mark.parametrize("pred, expected", [
    ("B", 1.0), ("b20000", 1.0), ("B. Scarlet Tanager", 1.0), ("(b)", 1.0), ("option B", 1.0),
    ("The answer is B", 1.0), ("  B\n", 1.0),
    ("A", 0.0), ("Answer: B", 0.0), ("indigo bunting", 0.0), ("", 0.0), ("(", 0.0),
])
def test_mc_letter_reference_parity_takes_the_first_character_as_lmms_eval_s_mmstar_does(pred, expected):
    assert score({"name": "mc_letter", "reference_parity": True}, pred, ["B", "Indigo Bunting"]) == expected


def test_mc_letter_counts_a_letter_followed_by_digits_wrong_unless_asked_for_parity():
    assert score("mc_letter", "B20000", "B") == 0.0
    assert score({"name": "mc_letter", "reference_parity": True}, "B20000", "B") == 1.0


@pytest.mark.parametrize("pred, ref, expected", [
    ("none", "0", 1.0),       # the reference maps "none" to 1 by substring replacement
    ("none", "1", 0.0),
    ("seventeen", "17", 1.0),
    ("seventeen", "7", 0.0),
    ("There are 3 dogs in this image.", "three", 1.0),
    ("often", "10", 0.0),
    ("I cannot tell", "0", 0.0),
    ("1,000", "1000", 1.0),   # thousands separators (the reference read 1)
    ("1,000", "1", 0.0),
    ("-3", "3", 0.0),         # a sign (the reference read 3)
    ("one hundred", "100", 1.0),
    ("one hundred", "1", 0.0),
    ("two hundred and five", "205", 1.0),
])
def test_count(pred, ref, expected):
    assert score("count", pred, ref) == expected


@pytest.mark.parametrize("pred, ref, parts, parity", [
    # (hour, minute, both) with the circular rule, then with reference_parity=True
    ("3:45", "03:46", (1, 1, 1), (1, 1, 1)),
    ("3:45", "03:47", (1, 0, 0), (1, 0, 0)),
    ("03:59", "04:00", (0, 1, 1), (0, 1, 0)),   # one minute apart across the hour: right; the reference: wrong
    ("4:00", "04:59", (1, 1, 0), (1, 1, 1)),    # 59 minutes apart: wrong; the reference wraps the minute alone
    ("12:00", "11:59", (0, 1, 1), (0, 1, 0)),   # across the top of the dial
    ("12:30", "00:30", (1, 1, 1), (0, 1, 0)),   # the same dial position; the reference: 12 != 0
    ("1:60", "01:59", (0, 0, 0), (1, 1, 1)),    # out of range: unreadable; the reference reads minute 60
    ("25:99", "01:39", (0, 0, 0), (0, 0, 0)),
    ("quarter past", "03:15", (0, 0, 0), (0, 0, 0)),
])
def test_clock_parts(pred, ref, parts, parity):
    for expected, kwargs in ((parts, {}), (parity, {"reference_parity": True})):
        metric = build_metric("clock", **kwargs)
        metric.update([pred], [ref])
        got = metric.compute_all()
        assert tuple(got[k].item() for k in ("hour", "minute", "both")) == expected, kwargs
        assert metric.compute().item() == expected[2] == metric.score(pred, [ref])


def test_clock_parity_from_a_skill_yaml_spec():
    assert build_metric({"name": "clock", "reference_parity": True}).score("4:00", ["4:59"]) == 1.0
    assert build_metric({"name": "clock"}).score("4:00", ["4:59"]) == 0.0
    with pytest.raises(LmmclError, match="does not take options"):
        build_metric({"name": "exact_match", "reference_parity": True})


def test_clock_compute_all_means():
    metric = build_metric("clock")
    metric.update(["03:59", "12:30", "5:10"], ["03:00", "00:30", "05:20"])
    parts = metric.compute_all()
    assert {k: round(v.item(), 4) for k, v in parts.items()} == {"hour": 1.0, "minute": 0.6667, "both": 0.3333}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_none_is_a_clear_error(name):
    metric = build_metric(name)
    with pytest.raises(LmmclError, match="got None as prediction"):
        metric.update([None], ["a"])
    with pytest.raises(LmmclError, match="got None as reference"):
        metric.update(["a"], [None])
    with pytest.raises(LmmclError, match="got None as reference"):
        metric.update(["a"], [["a", None]])


@pytest.mark.parametrize("pred, ref, expected", [
    ("Yes, it is.", "yes", 1.0), ("No.", "yes", 0.0), ("no", "No", 1.0), ("I don't know", "no", 0.0),
])
def test_yes_no(pred, ref, expected):
    assert score("yes_no", pred, ref) == expected


def test_token_f1():
    assert score("token_f1", "red circle", "red circle and blue square") == pytest.approx(2 * 1 * 0.4 / 1.4)
    assert score("token_f1", "green", "red circle") == 0.0
    assert score("token_f1", "Red, Circle!", "red circle") == 1.0


def test_bleu1_with_brevity_penalty():
    assert score("bleu", "red circle and blue square", "red circle and blue square") == 1.0
    # 2 of 2 unigrams match, but 2 tokens against 5: penalty exp(1 - 5/2)
    assert score("bleu", "red circle", "red circle and blue square") == pytest.approx(torch.tensor(-1.5).exp().item())
    assert score("bleu", "red red red", "red circle") == pytest.approx(1 / 3)  # clipped counts


def test_accumulates_over_updates_and_resets():
    metric = build_metric("exact_match")
    metric.update(["a", "b"], ["a", "x"])
    metric.update(["c"], [["c", "d"]])
    assert metric.compute().item() == pytest.approx(2 / 3)
    metric.reset()
    metric.update(["x"], ["y"])
    assert metric.compute().item() == 0.0


def test_compute_without_updates_is_zero_not_nan():
    for name in METRICS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchmetrics warns about compute before update
            value = build_metric(name).compute()
        assert value.item() == 0.0, name


def test_update_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        build_metric("exact_match").update(["a", "b"], ["a"])


def test_registry_and_unknown_name():
    assert all(issubclass(cls, AnswerMetric) for cls in METRICS.values())
    with pytest.raises(ValueError, match=r"Unknown metric 'bogus'\. Known: anls, bleu, clock, count, exact_match"):
        build_metric("bogus")


def test_scores_stay_in_unit_interval():
    preds = ["", "B", "none", "03:00", "yes", "105", "red circle red", "The answer is C"]
    refs = ["", "B", "0", "12:00", "no", "100", "red", "a"]
    for name in METRICS:
        metric = build_metric(name)
        for pred in preds:
            for ref in refs:
                assert 0.0 <= metric.score(pred, [ref]) <= 1.0, (name, pred, ref)
