"""Answer metrics: torchmetrics ``Metric`` classes that score generated answers against reference answers.

One base class, :class:`AnswerMetric`, accumulates per-sample scores; each metric is its ``score`` method (or its
``match`` against one reference). Benchmark rules are in docs/reference/datasets.md; where lmmcl departs from the
reference's scoring (and how to get the reference's rule back) is in docs/reference/metrics.md.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import Counter
from collections.abc import Sequence

import torch
import torchmetrics

from lmmcl.errors import LmmclError
from lmmcl.eval import normalize as norm


def _text(value: object, what: str, metric: str) -> str:
    if not isinstance(value, str):
        raise LmmclError(f"{metric} got {value!r} as {what}; predictions must be strings "
                         f"(an unanswered sample is the empty string \"\").")
    return value


def reference_text(value: object, metric: str = "a metric") -> str:
    """A reference as text: a string as it is; a number or a boolean read from JSON as the answer it states
    (``3`` and ``3.0`` -> ``"3"``, ``2.5`` -> ``"2.5"``, ``true`` -> ``"yes"``); anything else is an error naming it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise LmmclError(f"{metric} got {value!r} as reference; a reference is a string, a number or a boolean "
                     f"(an item without an answer is a bad record, skipped when the data is read).")


def as_refs(target: object, metric: str = "a metric") -> list[str]:
    """A target as a list of accepted references (one reference or a list of them; numbers and booleans read as
    text by :func:`reference_text`); anything else is an error naming the value."""
    if isinstance(target, (list, tuple)):
        return [reference_text(ref, metric) for ref in target]
    return [reference_text(target, metric)]


class AnswerMetric(torchmetrics.Metric):
    """Mean per-sample score of generated answers against references.

    States ``total`` (sum of scores) and ``count`` are summed across processes. Subclasses implement :meth:`score`;
    one with more per-sample values adds states and returns them from :meth:`sample_scores`.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_sum_state("total")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def add_sum_state(self, name: str) -> None:
        self.add_state(name, torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: Sequence[str], targets: Sequence[object]) -> None:
        """Score a batch; a target is one reference or a list of accepted references (strings, or numbers and
        booleans read from JSON: :func:`reference_text`)."""
        if len(preds) != len(targets):
            raise ValueError(f"{type(self).__name__}.update got {len(preds)} predictions for {len(targets)} targets.")
        sums: Counter = Counter()
        name = type(self).__name__
        for pred, target in zip(preds, targets):
            sums.update(self.sample_scores(_text(pred, "prediction", name), as_refs(target, name)))
        for name, value in sums.items():
            setattr(self, name, getattr(self, name) + value)
        self.count = self.count + len(preds)

    def sample_scores(self, pred: str, refs: list[str]) -> dict[str, float]:
        """Per-sample values, each added to the state of the same name; ``total`` takes the score."""
        return {"total": self.score(pred, refs)}

    def mean(self, state: torch.Tensor) -> torch.Tensor:
        return (state / self.count.clamp(min=1)).float()  # 0, not NaN, before any update

    def compute(self) -> torch.Tensor:
        """Mean score in [0, 1]."""
        return self.mean(self.total)

    @abstractmethod
    def score(self, pred: str, refs: list[str]) -> float:
        """Score in [0, 1] of one reply against its accepted references."""


class BestReferenceMetric(AnswerMetric):
    """A metric that compares the reply with each reference alone; the best reference counts."""

    def score(self, pred: str, refs: list[str]) -> float:
        return max((self.match(pred, ref) for ref in refs), default=0.0)

    @abstractmethod
    def match(self, pred: str, ref: str) -> float:
        """Score in [0, 1] of one reply against one reference."""


class ExactMatch(BestReferenceMetric):
    """1 if the normalised reply equals a normalised reference (case, punctuation, articles, number words)."""

    def match(self, pred: str, ref: str) -> float:
        return float(norm.normalize_answer(pred) == norm.normalize_answer(ref))


class VQAAccuracy(AnswerMetric):
    """VQA accuracy after the official VQA normalisation: the mean, over leaving out each reference in turn, of
    min(#remaining references equal to the reply / k, 1) with k = min(3, #references - 1). With 4 or more
    references k is the official 3 (10 annotators give the official rule, as lmms-eval computes it); with fewer, a
    reply every reference agrees with still scores 1 (two references: 1 remains, k = 1); one reference is an exact
    match after the VQA normalisation (leaving it out would leave nothing to match).
    """

    def score(self, pred: str, refs: list[str]) -> float:
        if not refs:
            return 0.0
        reply = norm.normalize_vqa(pred)
        hits = [norm.normalize_vqa(ref) == reply for ref in refs]
        if len(hits) == 1:
            return float(hits[0])
        needed = min(3, len(hits) - 1)
        return sum(min((sum(hits) - hit) / needed, 1.0) for hit in hits) / len(hits)


class ANLS(BestReferenceMetric):
    """Average normalised Levenshtein similarity: 1 - distance / length, set to 0 below ``threshold``.

    Strings are stripped, lowercased and whitespace-collapsed; the denominator uses the raw lengths (reference parity).
    """

    def __init__(self, threshold: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold

    def match(self, pred: str, ref: str) -> float:
        length = max(len(ref), len(pred))
        distance = norm.levenshtein(norm.normalize_text(ref), norm.normalize_text(pred))
        similarity = 1.0 - (distance / length if length else 0.0)
        return similarity if similarity >= self.threshold else 0.0


class RelaxedAccuracy(BestReferenceMetric):
    """ChartQA relaxed accuracy: numbers within ``tolerance`` relative error ("x%" is x/100), else equal strings."""

    def __init__(self, tolerance: float = 0.05, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tolerance = tolerance

    def match(self, pred: str, ref: str) -> float:
        value, target = norm.parse_number(pred), norm.parse_number(ref)
        if value is not None and target:  # a zero target falls back to string equality, as in the reference
            return float(abs(value - target) / abs(target) <= self.tolerance)
        return float(pred.strip().lower() == ref.strip().lower())


class MultipleChoiceAccuracy(AnswerMetric):
    """Multiple choice: the reply's letter is the gold letter, or, naming no letter, the reply is the gold text.

    References are ``[gold_letter]`` or ``[gold_letter, gold_option_text]``; see :func:`normalize.extract_letter`.
    ``reference_parity=True`` scores as lmms-eval's MMStar does (:func:`normalize.reference_letter_match`): the
    reply's first character decides, so ``B20000`` and ``A cat`` count as B and A.
    """

    def __init__(self, reference_parity: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reference_parity = reference_parity

    def score(self, pred: str, refs: list[str]) -> float:
        if not refs:
            return 0.0
        if self.reference_parity:
            return float(norm.reference_letter_match(pred, refs[0]))
        letter = norm.extract_letter(pred)
        if letter is not None:  # a reply that names a letter is judged by it: "A. <gold text>" picked option A
            return float(letter == refs[0].strip().upper())
        text = norm.normalize_answer(pred)  # a lone article normalises to "": never let "" match the letter "A"
        return float(bool(text) and any(text == norm.normalize_answer(ref) for ref in refs))


class CountAccuracy(BestReferenceMetric):
    """1 if reply and reference state the same count (digits or whole number words; "none"/"no" is 0)."""

    def match(self, pred: str, ref: str) -> float:
        count = norm.parse_count(pred)
        return float(count is not None and count == norm.parse_count(ref))


class ClockAccuracy(AnswerMetric):
    """Clock reading within one minute: the score is ``both``; :meth:`compute_all` also gives ``hour`` and ``minute``.

    Default: times are read on the 12-hour dial; ``both`` holds when the circular distance between the two times
    is at most one minute (3:59 vs 4:00 right, 4:00 vs 4:59 wrong), ``hour`` when the hours agree modulo 12,
    ``minute`` when the minutes are within one, wrapping at 60. A time out of range ("12:60") is unreadable.
    ``reference_parity=True`` reproduces the reference: hour exact (12 != 0), minute difference 0, 1 or 59 with no
    carry into the hour, ``both`` = hour and minute, no range check. An unparsable side scores 0 on all three.
    """

    DIAL = 12 * 60

    def __init__(self, reference_parity: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reference_parity = reference_parity
        for name in ("hour", "minute", "both"):
            self.add_sum_state(name)

    def parts(self, pred: str, ref: str) -> tuple[bool, bool, bool]:
        """(hour, minute, both) of one reply against one reference."""
        got = norm.parse_clock(pred, check_range=not self.reference_parity)
        want = norm.parse_clock(ref, check_range=not self.reference_parity)
        if got is None or want is None:
            return False, False, False
        if self.reference_parity:
            hour, minute = got[0] == want[0], abs(got[1] - want[1]) in (0, 1, 59)
            return hour, minute, hour and minute
        gap = abs((got[0] % 12 * 60 + got[1]) - (want[0] % 12 * 60 + want[1]))
        minutes = abs(got[1] - want[1])
        return got[0] % 12 == want[0] % 12, min(minutes, 60 - minutes) <= 1, min(gap, self.DIAL - gap) <= 1

    def sample_scores(self, pred: str, refs: list[str]) -> dict[str, float]:
        hour, minute, both = max((self.parts(pred, ref) for ref in refs), key=lambda p: (p[2], sum(p)),
                                 default=(False, False, False))
        return {"hour": float(hour), "minute": float(minute), "both": float(both), "total": float(both)}

    def score(self, pred: str, refs: list[str]) -> float:
        return self.sample_scores(pred, refs)["both"]

    def compute_all(self) -> dict[str, torch.Tensor]:
        """Mean hour, minute and both accuracies."""
        with self.sync_context():
            return {name: self.mean(getattr(self, name)) for name in ("hour", "minute", "both")}


class YesNoAccuracy(BestReferenceMetric):
    """1 if the reply's first "yes"/"no" word equals the reference's."""

    def match(self, pred: str, ref: str) -> float:
        answer = norm.parse_yes_no(pred)
        return float(answer is not None and answer == norm.parse_yes_no(ref))


class TokenF1(BestReferenceMetric):
    """Token F1 of the PathVQA script (letters-only tokens; a reply word counts as often as the reply says it)."""

    def match(self, pred: str, ref: str) -> float:
        reply, gold = Counter(norm.word_tokens(pred)), Counter(norm.word_tokens(ref))
        tp = sum(n for word, n in reply.items() if word in gold)
        if tp == 0:
            return 0.0
        precision = tp / reply.total()
        recall = tp / (tp + sum(n for word, n in gold.items() if word not in reply))
        return 2 * precision * recall / (precision + recall)


class Bleu1(BestReferenceMetric):
    """BLEU-1 on PathVQA tokens: clipped unigram precision times the brevity penalty exp(1 - r/c) when c <= r.

    Lengths are token counts (the PathVQA script used character lengths); with several references the best counts.
    """

    def match(self, pred: str, ref: str) -> float:
        reply, gold = norm.word_tokens(pred), norm.word_tokens(ref)
        if not reply or not gold:
            return 0.0
        clipped = sum((Counter(reply) & Counter(gold)).values())
        brevity = 1.0 if len(reply) > len(gold) else math.exp(1 - len(gold) / len(reply))
        return brevity * clipped / len(reply)


METRICS: dict[str, type[AnswerMetric]] = {
    "exact_match": ExactMatch,
    "vqa_accuracy": VQAAccuracy,
    "anls": ANLS,
    "relaxed_accuracy": RelaxedAccuracy,
    "mc_letter": MultipleChoiceAccuracy,
    "count": CountAccuracy,
    "clock": ClockAccuracy,
    "yes_no": YesNoAccuracy,
    "token_f1": TokenF1,
    "bleu": Bleu1,
}


def build_metric(spec: str | dict, **kwargs) -> AnswerMetric:
    """A fresh metric by registry name, or by ``{name: ..., <option>: ...}`` as a skill YAML writes it
    (``metric: {name: clock, reference_parity: true}``); keyword arguments go to its constructor."""
    if isinstance(spec, dict):
        spec = dict(spec)
        kwargs = {**spec, **kwargs}
        spec = kwargs.pop("name", None)
    if spec not in METRICS:
        raise LmmclError(f"Unknown metric {spec!r}. Known: {', '.join(sorted(METRICS))}; a metric with options is "
                         f"written {{name: <metric>, <option>: <value>}}.")
    try:
        return METRICS[spec](**kwargs)
    except (TypeError, ValueError) as err:  # torchmetrics raises ValueError for unknown keyword arguments
        raise LmmclError(f"Metric {spec!r} does not take options {sorted(kwargs)}: {err}.") from None
