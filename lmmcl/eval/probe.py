"""The counting-bias probe: how much probability the model puts on number tokens, after every stage.

After each accuracy-matrix row (the base evaluation and every stage) :class:`CountingBiasProbe` generates
greedily on ``n`` counting prompts (test split of the ``counting`` skills) and ``n`` other prompts (the
``other`` skills, by default "Describe the image."). At every generated step it takes the softmax over the
vocabulary and records

- ``mass``: the total probability on number tokens,
- ``max_prob``: the largest number-token probability,
- ``max_logit``: the largest number-token logit (raw, before any logits processor);

per sample the mean and the max over its generated steps (up to and including its end-of-sequence token);
then the mean and the (population) std over samples. Counting prompts are reported as ``target``, the
others as ``heldout`` (docs/reference/metrics.md); e.g. ``target.mass_mean``, ``heldout.mass_std``,
``heldout.mass_max_mean``.
Mass rising on the other prompts after a counting stage is the bias that tracks forgetting.

The prompts are the probe's own pictures: test-split samples drawn at the probe's ``seed`` (``PROBE_SEED`` by
default, a seed no run's data uses), never an item the run scores: any prompt that is also a scored test item of the
run (same skill, picture and question) is replaced by the next one (:meth:`CountingBiasProbe.avoid`). A non-counting
number mass measured on the very items whose held-out scores it is compared with would share their noise.

Each entry is appended to report.json's ``counting_bias`` section by the stage loop (saved in checkpoints;
rendered and drawn as counting_bias.png by :mod:`lmmcl.eval.counting_bias_section`) and logged as
``probe/<group>/<stat>`` at step = row index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import move_data_to_device
from torch.utils.data import DataLoader

from lmmcl.contracts import StageData, StageLoopExtension
from lmmcl.data.collate import MAX_LENGTH, Collator
from lmmcl.errors import LmmclError
from lmmcl.eval.sharded import in_root_forward, synced_generation
from lmmcl.models.generation import greedy_kwargs

NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion".split())
ORDINAL_WORDS = frozenset(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())
# ASCII digits only ("²" or "٣" pass str.isdigit but are not what a counting answer looks like).
NUMERAL = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+|[0-9]+(?:st|nd|rd|th)")
SPACE_MARKERS = "Ġ▁"  # byte-level BPE and SentencePiece word-start markers
STATS = ("mass", "max_prob", "max_logit")
PROBE_SEED = 7919


def item_key(sample: Any) -> tuple[str, str] | None:
    """What makes a test item the same item: its question and its picture's pixels; None for a bad record (an
    undecodable picture, a missing row), which nothing scores or prompts with."""
    import hashlib

    if not sample:
        return None
    return sample.question, hashlib.sha1(sample.image.convert("RGB").tobytes()).hexdigest()


def is_number_text(text: str) -> bool:
    """Whether a token's text is a number: digits, a simple decimal, a number word (zero…twenty, thirty…ninety,
    hundred, thousand, million, billion) or an ordinal (first…twentieth, 1st, 2nd, 23rd, 4th, ...)."""
    word = text.strip().strip(SPACE_MARKERS).strip()
    return bool(NUMERAL.fullmatch(word)) or word.lower() in NUMBER_WORDS or word.lower() in ORDINAL_WORDS


def number_token_ids(tokenizer: Any) -> list[int]:
    """Ids of every vocabulary token whose decoded text is a number (special tokens excluded)."""
    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    texts = tokenizer.batch_decode([[i] for i in ids], skip_special_tokens=True,
                                   clean_up_tokenization_spaces=False)
    return [i for i, text in zip(ids, texts) if is_number_text(text)]


def step_stats(logits: torch.Tensor, number_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-row number-token statistics of one generated step: ``logits`` (batch, vocab) -> each (batch,)."""
    logits = logits.float()
    total = torch.logsumexp(logits, dim=-1)
    numbers = logits[:, number_mask]
    return {"mass": torch.exp(torch.logsumexp(numbers, dim=-1) - total),
            "max_prob": torch.exp(numbers.max(dim=-1).values - total),
            "max_logit": numbers.max(dim=-1).values}


def live_steps(new_tokens: torch.Tensor, eos_ids: Sequence[int]) -> torch.Tensor:
    """(batch, steps) bool: the steps a sample really generated (through its first end-of-sequence token;
    later steps are padding produced while other samples were still generating)."""
    is_eos = torch.isin(new_tokens, torch.tensor(list(eos_ids), device=new_tokens.device))
    return (torch.cumsum(is_eos.long(), dim=1) - is_eos.long()) == 0


def shares(n: int, parts: int) -> list[int]:
    """``n`` split into ``parts`` near-equal counts, the larger first: ``shares(5, 2) == [3, 2]``."""
    return [n // parts + (k < n % parts) for k in range(parts)]


def summarize_samples(per_sample: dict[str, list[float]]) -> dict[str, float]:
    """``<stat>_mean``/``<stat>_std`` over samples of each per-sample value (population std), and ``n``."""
    out: dict[str, float] = {}
    for key, values in per_sample.items():
        x = torch.tensor(values, dtype=torch.float64)
        out[f"{key}_mean"] = float(x.mean())
        out[f"{key}_std"] = float(x.std(correction=0))
    out["n"] = len(next(iter(per_sample.values()), []))
    return out


class CountingBiasProbe(Callback, StageLoopExtension):
    """Number-token probability on counting and on other prompts after every accuracy-matrix row.

    Args:
        n: prompts per group (counting / other), split evenly across the group's skills.
        counting: skills whose test questions are the counting prompts (any name in configs/skills/).
        other: skills whose test questions are the non-counting prompts ("Describe the image.").
        max_new_tokens: generated steps per prompt (default: each skill's own ``max_new_tokens``).
        batch_size: prompts per generation batch.
        seed: seed of the probe's test samples (its own pictures: not the run's ``data.seed``).
    """

    section = "counting_bias"  # its rendering: lmmcl.eval.counting_bias_section

    def __init__(self, n: int = 32, counting: Sequence[str] = ("count",), other: Sequence[str] = ("caption",),
                 max_new_tokens: int | None = None, batch_size: int = 16, seed: int = PROBE_SEED):
        self.n, self.max_new_tokens, self.batch_size, self.seed = n, max_new_tokens, batch_size, seed
        self.groups = {"target": list(counting), "heldout": list(other)}
        self._data: dict[str, list[tuple[Any, Any]]] | None = None
        self._scored: dict[str, set[tuple[str, str]]] = {}  # per skill: the run's scored test items (avoid)
        self._number_ids: list[int] | None = None
        self.max_length = MAX_LENGTH  # the run's data.max_length once set up

    # --- hooks -----------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.avoid(getattr(trainer.datamodule, "eval_modules", []))
        if isinstance(trainer.datamodule, StageData):
            self.max_length = trainer.datamodule.max_length  # prompts as long as the run's (real pictures)
        self._prompts()  # fail at start-up, not after the base evaluation, if a skill is unavailable

    def avoid(self, eval_modules: Sequence[Any]) -> None:
        """Never prompt with a test item these data modules score (each a
        :class:`~lmmcl.data.datamodule.SkillDataModule` of the run's evaluation)."""
        names = {name for names in self.groups.values() for name in names}
        self._scored = {dm.name: {key for s in dm.split_data("test") if (key := item_key(s))}
                        for dm in eval_modules if dm.name in names}
        self._data = None

    def collect(self, trainer: Trainer, pl_module: LightningModule, row: dict[str, Any], index: int) -> dict[str, Any]:
        """The entry of matrix row ``row`` (called by the stage loop after it adds it)."""
        entry = {"stage": row["name"], **self.measure(pl_module)}
        self.replay(trainer, pl_module, entry, index)
        return entry

    def replay(self, trainer: Trainer, pl_module: LightningModule, entry: dict[str, Any], index: int) -> None:
        """Log ``entry`` as ``probe/<group>/<stat>`` at step ``index`` (a measured one, or a reused base row's)."""
        from lmmcl.loggers import log_scalars

        log_scalars(trainer.loggers, {f"probe/{group}/{key}": value for group in self.groups
                                      for key, value in entry[group].items() if key != "n"}, step=index)

    def base_row_settings(self) -> dict[str, Any] | None:
        """The probe's options and its prompt skills' fingerprints (None when one is not synthetic: not reused)."""
        from lmmcl.data.skill import get_skill
        from lmmcl.data.synthetic import skill_fingerprint

        names = [name for group in self.groups.values() for name in group]
        prompts = {name: skill_fingerprint(get_skill(name), self.seed) for name in names}
        if any(p is None for p in prompts.values()):
            return None
        return {"n": self.n, "groups": self.groups, "max_new_tokens": self.max_new_tokens,
                "batch_size": self.batch_size, "seed": self.seed, "prompts": prompts}

    # --- measurement -----------------------------------------------------------------------------
    def number_ids(self, tokenizer: Any) -> list[int]:
        if self._number_ids is None:
            self._number_ids = number_token_ids(tokenizer)
            if not self._number_ids:
                raise LmmclError("The tokenizer has no number token (digits, number words, ordinals): the "
                                 "counting-bias probe has nothing to measure. Remove CountingBiasProbe from "
                                 "trainer.callbacks.")
        return self._number_ids

    def _prompts(self) -> dict[str, list[tuple[Any, Any]]]:
        """Per group: (skill, dataset) pairs holding ``n`` test samples in all."""
        from lmmcl.data.skill import get_skill

        if self._data is None:
            self._data = {}
            for group, names in self.groups.items():
                skills = [get_skill(name) for name in names]
                for skill in skills:
                    skill.check_available()
                self._data[group] = [(s, self._draw(s, size))  # drawn once per run
                                     for s, size in zip(skills, shares(self.n, len(skills))) if size]
        return self._data

    def _draw(self, skill: Any, size: int) -> Any:
        """``size`` test samples of ``skill`` at the probe's seed, none of them an item the run scores."""
        from torch.utils.data import Subset

        from lmmcl.data.synthetic import drawn_once

        scored = self._scored.get(skill.name, set())
        data = drawn_once(skill.dataset("test", size, self.seed))
        clash = [i for i in range(len(data)) if item_key(data[i]) in scored]
        if clash:  # rare (another seed's pictures): room to replace every scored item
            data = drawn_once(skill.dataset("test", size + len(scored), self.seed))
            clash = [i for i in range(len(data)) if item_key(data[i]) in scored]
        return Subset(data, [i for i in range(len(data)) if i not in clash][:size])

    @torch.no_grad()
    def measure(self, pl_module: LightningModule,
                groups: Sequence[str] = ("target", "heldout")) -> dict[str, dict[str, float]]:
        """``{"target": {stat: value}, "heldout": {...}}`` (the ``groups`` asked for) for the module's current
        weights."""
        model, was_training = pl_module.model, pl_module.model.training
        model.eval()
        try:
            return in_root_forward(pl_module, lambda: {group: self._measure_group(pl_module, parts)
                                                       for group, parts in self._prompts().items()
                                                       if group in groups})
        finally:
            model.train(was_training)

    def _measure_group(self, pl_module: LightningModule, parts: list[tuple[Any, Any]]) -> dict[str, float]:
        per_sample: dict[str, list[float]] = {f"{s}{agg}": [] for s in STATS for agg in ("", "_max")}
        # left padding: generation continues each prompt
        collate = Collator(pl_module.processor, train=False, max_length=self.max_length)
        batches = [(self.max_new_tokens or skill.max_new_tokens, batch) for skill, data in parts
                   for batch in DataLoader(data, batch_size=self.batch_size, collate_fn=collate)]
        names = ", ".join(skill.name for skill, _ in parts)
        collate.usable([batch for _, batch in batches], f"counting-bias probe prompts ({names})")  # none: an error
        for steps, batch in batches:
            if "input_ids" in batch:  # the same batches on every rank: skipping one keeps the ranks in step
                stats = self._generate_stats(pl_module, move_data_to_device(batch, pl_module.device), steps)
                for key, values in stats.items():
                    per_sample[key] += values
        return summarize_samples(per_sample)

    def _generate_stats(self, pl_module: LightningModule, batch: dict[str, Any], steps: int) -> dict[str, list[float]]:
        tokenizer = pl_module.processor.tokenizer
        inputs = pl_module.model_inputs(batch)
        out = pl_module.model.generate(**inputs, **greedy_kwargs(tokenizer, steps, synced_generation(pl_module)),
                                       output_logits=True, return_dict_in_generate=True)
        logits = torch.stack(out.logits, dim=1)  # (batch, steps, vocab): raw logits of every generated step
        mask = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        mask[[i for i in self.number_ids(tokenizer) if i < logits.shape[-1]]] = True
        per_step = [step_stats(logits[:, t], mask) for t in range(logits.shape[1])]
        live = live_steps(out.sequences[:, inputs["input_ids"].shape[1]:], [tokenizer.eos_token_id])
        result: dict[str, list[float]] = {}
        for stat in STATS:
            values = torch.stack([s[stat] for s in per_step], dim=1)  # (batch, steps)
            mean = (values * live).sum(1) / live.sum(1)
            peak = values.masked_fill(~live, -math.inf).max(1).values
            result[stat], result[f"{stat}_max"] = mean.tolist(), peak.tolist()
        return result
