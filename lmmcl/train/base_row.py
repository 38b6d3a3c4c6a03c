"""The base row, evaluated once and reused: a cache of row 0 of the accuracy matrix.

Every run of ``lmmcl compare`` starts from the same base model, target sequence, benchmarks and seed; only the
recipe differs, and a recipe changes nothing the base evaluation sees (it only chooses what trains; LoRA's
adapters start at B = 0). So the base row is the same for every run of a seed. With ``--stages.base_cache DIR``
(``lmmcl compare --train`` sets ``<out>/base_rows``), the first run evaluates it and stores it in
``DIR/<hash of the key>.json``; a later run whose key matches replays it instead of evaluating: the same scores,
sample counts, per-sample answers (``samples/0/``), report sections (the counting-bias probe's row 0) and
TensorBoard values (``val/*``, ``stage/*``, ``probe/*`` and the sample text at step 0), written where the
evaluation writes them. Without ``base_cache`` (the default) nothing here runs.

The key is everything the base row is a function of:

- the model: a hash of every weight and buffer (before the recipe touches the model), its config and generation
  config, its processor (tokenizer, chat template, image processor);
- the benchmarks: targets and held-out in order, each one's configuration, world version and a hash of its first
  test samples at the run's data seed; test size, eval batch size, max length;
- the evaluation: precision, device type, ``limit_val_batches``, deterministic algorithms, torch threads, torch and
  transformers versions;
- every report extension's own settings (:meth:`lmmcl.contracts.StageLoopExtension.base_row_settings`).

An entry is used only if its stored key equals this run's in every part. A run evaluates its base row as before,
and says why, when it runs on several processes, evaluates a benchmark that is not synthetic (its files can change
under the same name), has a callback that acts during evaluations beyond what the replay reproduces (MoE logs its
router load, fault injection, ModelCheckpoint, a custom callback), or logs per-sample answers the entry lacks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from lmmcl.atomic import atomic_write
from lmmcl.contracts import StageLoopExtension
from lmmcl.loggers import log_scalars
from lmmcl.rundir import run_dir

FORMAT = 1  # bump when an entry's content changes meaning
IDLE = "idle_in_base_evaluation"  # a callback attribute: True = it does nothing in a base evaluation the replay misses


def weights_digest(model: torch.nn.Module) -> str:
    """A hash of every tensor of ``model``'s state dict: name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def processor_digest(processor: Any) -> str:
    """A hash of what turns a sample into model inputs and tokens into text: processor config, tokenizer, chat
    template."""
    tokenizer = getattr(processor, "tokenizer", processor)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    parts = [processor.to_json_string() if hasattr(processor, "to_json_string") else type(processor).__name__,
             backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items())),
             str(getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)),
             json.dumps(getattr(tokenizer, "special_tokens_map", {}), sort_keys=True, default=str)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def evaluation_hooks(callback: Callback) -> list[str]:
    """The ``on_validation*`` hooks ``callback``'s class overrides."""
    return [name for name in dir(Callback)
            if name.startswith("on_validation") and getattr(type(callback), name) is not getattr(Callback, name)]


def blockers(trainer: Trainer) -> list[str]:
    """Why this run's base row cannot be reused (empty: it can)."""
    from lightning.pytorch.callbacks import ProgressBar

    reasons = [f"it runs on {trainer.world_size} processes"] if trainer.world_size > 1 else []
    for callback in trainer.callbacks:
        name = type(callback).__name__
        if isinstance(callback, StageLoopExtension) and callback.base_row_settings() is None:
            reasons.append(f"{name} does not say what its base-row entry depends on")
        hooks = evaluation_hooks(callback)
        if hooks and not isinstance(callback, ProgressBar) and not getattr(callback, IDLE, False):
            reasons.append(f"{name} acts during evaluations ({', '.join(hooks)})")
    return reasons


def base_row_key(trainer: Trainer, module: LightningModule, datamodule: Any) -> dict[str, Any] | str:
    """Everything the base row is a function of, or (a string) why it has no key."""
    import transformers

    from lmmcl.data.synthetic import skill_fingerprint

    benchmarks = {}
    for dm in datamodule.eval_modules:
        fingerprint = skill_fingerprint(dm.skill, dm.seed)
        if fingerprint is None:
            return f"benchmark {dm.name!r} is not synthetic"
        benchmarks[dm.name] = {**fingerprint, "test_size": dm.test_size, "eval_batch_size": dm.eval_batch_size,
                               "max_length": dm.max_length}
    model = module.model
    key = {"format": FORMAT,
           "model": {"preset": module.preset.name, "class": type(module).__qualname__, "weights": weights_digest(model),
                     "config": model.config.to_json_string(), "generation": model.generation_config.to_json_string(),
                     "processor": processor_digest(module.processor)},
           "skills": list(datamodule.skill_names), "heldout": list(datamodule.heldout_names), "benchmarks": benchmarks,
           "evaluation": {"precision": str(trainer.precision), "device": trainer.strategy.root_device.type,
                          "limit_val_batches": repr(trainer.limit_val_batches),  # 1 batch is not 1.0 = all
                          "deterministic": torch.are_deterministic_algorithms_enabled(),
                          "threads": torch.get_num_threads(), "torch": torch.__version__,
                          "transformers": transformers.__version__},
           "extensions": {f"{type(cb).__name__}:{cb.section}": cb.base_row_settings() for cb in trainer.callbacks
                          if isinstance(cb, StageLoopExtension)}}
    return json.loads(json.dumps(key, default=str))  # as it reads back from an entry's file


def key_file(directory: str | Path, key: dict[str, Any]) -> Path:
    return Path(directory) / f"{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]}.json"


def sample_log(trainer: Trainer) -> Any:
    """The run's enabled :class:`~lmmcl.eval.samples.SampleLog`, or None."""
    from lmmcl.eval.samples import SampleLog

    return next((cb for cb in trainer.callbacks if isinstance(cb, SampleLog) and cb.enabled), None)


class BaseRowCache:
    """One run's view of a base-row cache directory: its key, the entry to reuse, storing a new one."""

    def __init__(self, directory: str | Path, key: dict[str, Any], needs_records: bool):
        self.key, self.path, self.needs_records = key, key_file(directory, key), needs_records

    @classmethod
    def open(cls, directory: str | Path, trainer: Trainer, module: LightningModule,
             datamodule: Any) -> BaseRowCache | None:
        """The cache for this run, or None (with the reason printed) when its base row must be evaluated."""
        reasons = blockers(trainer)
        key = base_row_key(trainer, module, datamodule) if not reasons else None
        if isinstance(key, str):
            reasons.append(key)
        if reasons:
            rank_zero_info(f"[lmmcl] base row: evaluated, not cached ({'; '.join(reasons)})")
            return None
        return cls(directory, key, needs_records=sample_log(trainer) is not None)

    def load(self) -> dict[str, Any] | None:
        """The stored entry if its key is this run's (and it has the per-sample answers this run logs), else None."""
        try:
            entry = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != self.key:
            return None
        if self.needs_records and entry.get("records") is None:
            return None
        rank_zero_info(f"[lmmcl] base row: reused {self.path} (evaluated by {entry.get('evaluated_by')}): "
                       f"the same base model, benchmarks, seed and evaluation settings")
        return entry

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Held while this run evaluates and stores the base row: another run with the same key (``lmmcl compare
        --jobs``) waits here, then reuses the stored row instead of evaluating it too. An exclusive ``flock`` on
        ``<entry>.lock``, released when the block ends or the process dies; without ``fcntl`` (Windows), no wait."""
        try:
            import fcntl
        except ImportError:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def store(self, trainer: Trainer, module: LightningModule, stages: Any) -> None:
        """Store the base row the run just evaluated (``stages.rows[0]`` and what came with it), atomically."""
        if len(stages.rows) != 1 or stages.rows[0]["name"] != "base":
            return
        log = sample_log(trainer)
        sections = {cb.section: stages.extras[cb.section][0] for cb in trainer.callbacks
                    if isinstance(cb, StageLoopExtension)}
        entry = {"format": FORMAT, "key": self.key, "row": stages.rows[0], "scores": module.last_scores,
                 "samples": stages.extras.get("samples", {}), "sections": sections,
                 "records": log.records if log is not None else None, "evaluated_by": str(run_dir(trainer))}
        atomic_write(self.path, json.dumps(entry) + "\n")
        rank_zero_info(f"[lmmcl] base row: evaluated, stored in {self.path}")


def replay(trainer: Trainer, module: LightningModule, stages: Any, entry: dict[str, Any]) -> None:
    """Write and log a reused base row as its evaluation does (called by ``SequentialStages.on_fit_start``)."""
    module.last_scores, module.last_samples = dict(entry["scores"]), dict(entry["samples"])
    log_scalars(trainer.loggers, {f"val/{k}": v for k, v in entry["scores"].items()}, step=0)
    log, run = sample_log(trainer), run_dir(trainer)
    if log is not None and run is not None:
        log.write_row(trainer, run, "base", 0, entry["records"])
    stages.add_row(trainer, module, entry["row"], entry["samples"], entry["sections"])
