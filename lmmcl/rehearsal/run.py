"""``lmmcl rehearse``: the paper's protocol (``configs/experiment/paper.yaml``) run through ``lmmcl fit`` on a
machine without weights, data or GPUs, changed only where such a machine must.

What changes, and why:
- model: the real preset (``llava``, ``llava_next``, ``qwen2_5_vl``) loaded from a local ``save_pretrained``
  directory (``--model.model_path``) of the same family's architecture at tiny size (the real model and processor
  classes, random weights), not the 7B/8B hub weights. ``--lengths real``: that tiny model with the real
  processor's image settings (:data:`REAL_IMAGES`), so that a picture becomes as many image tokens as on the 7B;
  ``--lengths tiny`` (default): 32-pixel tiles, seconds per evaluation;
- data: local copies of the five target and eight held-out benchmarks in their real on-disk format
  (:mod:`lmmcl.rehearsal.benchmarks`: ``--rows`` good records per split, locally drawn pictures, and bad records
  of every kind), read through ``LMMCL_DATA_DIR``; with ``--lengths real`` DocVQA, InfoVQA, ChartQA and TextVQA
  pictures have their real datasets' sizes, and the counting-bias probe asks CountBench (photos of that size) and
  OCRBench questions, benchmarks the run does not score;
- devices: ``--trainer.accelerator cpu`` and two processes over gloo, DDP (configs/trainer/ddp.yaml) or with
  ``--strategy fsdp`` FSDP (configs/trainer/fsdp.yaml + bf16.yaml: what a GPU node runs), not GPUs
  (``--accelerator gpu`` on a GPU node);
- ``data.num_workers 0``: DataLoader workers of two processes would only compete for the same cores;
- a sixth target stage after the five (``--no-conversations`` leaves it out): a skill read from conversation files,
  the formats users bring their own data in (:mod:`lmmcl.rehearsal.conversations`: LLaVA-JSON training rows,
  chat-JSONL test rows, multi-turn rows and bad rows).
Everything else is paper.yaml's: the five stages in its order (or ``--order``), the eight held-out benchmarks
after every stage, bf16-mixed precision, LRs, schedule, batch size and accumulation, the report.

    lmmcl rehearse [--family llava] [--order order_alt] [--lengths real] [--strategy fsdp] [--rows 24]
                   [--no-conversations] [--out logs/rehearsal] [any lmmcl fit option, e.g. --data.skills "[cub200]"]

Prints where the report is (with ``--lengths real`` also ``rehearsal.md`` beside it: how long the prompts were)
and keeps ``lmmcl fit``'s whole output in ``<out>/fit.log``; exits with ``lmmcl fit``'s status.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from lmmcl.registry import config_dir

DIST_ENV = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")
TINY = {"llava": "tiny_onevision", "llava_next": "tiny_next", "qwen2_5_vl": "tiny_qwen2_5_vl"}
ORDERS = ("order_alt", "order_clock_first")
STRATEGIES = {"ddp": ["ddp.yaml"], "fsdp": ["fsdp.yaml", "bf16.yaml"]}  # configs/trainer/
LENGTHS = ("tiny", "real")
POSITIONS = 32768  # paper.yaml's data.max_length: the tiny language models take prompts that long
# The real processors' image settings (configs/model/real/*.json and the checkpoints' preprocessor configs):
# LLaVA-OneVision 384-pixel SigLIP tiles (patch 14: 729 tokens each), anyres_max_9 over grids up to 6 x 6 tiles;
# llama3-llava-next 336-pixel CLIP tiles (576 tokens each) over its five grids; Qwen2.5-VL 14-pixel patches
# merged 2 x 2, pictures resized to between 56 x 56 and 12,845,056 pixels, 112-pixel attention windows.
REAL_IMAGES: dict[str, dict[str, Any]] = {
    "llava": {"image_size": 384, "patch_size": 14, "positions": POSITIONS,
              "pinpoints": [[384 * i, 384 * j] for i in range(1, 7) for j in range(1, 7)]},
    "llava_next": {"image_size": 336, "patch_size": 14, "positions": POSITIONS,
                   "pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]},
    "qwen2_5_vl": {"patch_size": 14, "min_pixels": 56 * 56, "max_pixels": 12_845_056, "window_size": 112,
                   "positions": POSITIONS},
}
# --lengths real: the probe's prompts from local copies of benchmarks the run does not score (PROBE_SKILLS: the probe
# never prompts with a scored item), CountBench's photos as large as the real ones (the default probe reads the
# synthetic world's 32-pixel pictures)
REAL_PROBE = """trainer:
  callbacks:
    - class_path: lmmcl.eval.probe.CountingBiasProbe
      init_args: {{n: 4, counting: [{counting}], other: [{other}]}}
    - class_path: lmmcl.data.show.SkillGallery
"""


def model_dir(family: str, lengths: str = "tiny") -> Path:
    """The tiny model of ``family`` (its preset's build; with ``lengths="real"`` at the real image settings),
    built once into the cache."""
    from lmmcl.models.presets import built_checkpoint, get_preset

    preset = get_preset(TINY[family])
    if lengths == "real":
        preset = dataclasses.replace(preset, name=f"{preset.name}_real_images",
                                     build={**preset.build, **REAL_IMAGES[family]})
    return built_checkpoint(preset)


def fit_command(family: str, model: Path, logs: Path, name: str, devices: int, order: str | None,
                configs: list[Path] = (), strategy: str = "ddp", accelerator: str = "cpu") -> list[str]:
    """``lmmcl fit`` on paper.yaml with the rehearsal's changes (module docstring); ``configs``: more config files."""
    exe = Path(sys.executable).with_name("lmmcl")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "lmmcl.cli"]
    files = [config_dir("experiment") / "paper.yaml", *(config_dir("trainer") / f for f in STRATEGIES[strategy])]
    files += [config_dir("experiment") / f"{order}.yaml"] if order else []
    return [*cli, "fit", *(a for c in [*files, *configs] for a in ("--config", str(c))),
            "--model.preset", family, "--model.model_path", str(model),
            "--trainer.accelerator", accelerator, "--trainer.devices", str(devices), "--data.num_workers", "0",
            "--trainer.logger.init_args.save_dir", str(logs), "--trainer.logger.init_args.name", name]


def conversation_stage(skill: Path, order: str | None) -> list[str]:
    """``lmmcl fit`` options that append the skill file ``skill`` to paper.yaml's stages: last, in the paper's order
    and in an alternative ``order`` alike."""
    from lmmcl.yamlfile import load_yaml

    skills = load_yaml(config_dir("experiment") / "paper.yaml")["data"]["skills"]
    flags = ["--data.skills", "[" + ", ".join([*skills, str(skill)]) + "]"]
    if order:
        positions = load_yaml(config_dir("experiment") / f"{order}.yaml")["data"]["order"]
        flags += ["--data.order", str([*positions, len(skills)])]
    return flags


def rehearse(family: str = "llava", order: str | None = None, rows: int = 24, out: str | Path = "logs/rehearsal",
             devices: int = 2, extra: list[str] = (), lengths: str = "tiny", strategy: str = "ddp",
             accelerator: str = "cpu", conversations: bool = True) -> tuple[int, Path | None]:
    """Run the rehearsal; returns (exit status of ``lmmcl fit``, report.md or None)."""
    from lmmcl.rehearsal.benchmarks import PAPER_SKILLS, PROBE_SKILLS, write_benchmarks
    from lmmcl.rehearsal.conversations import write_conversation_skill

    out = Path(out).resolve()
    real = lengths == "real"
    data = write_benchmarks(out / "data", PAPER_SKILLS + (list(PROBE_SKILLS.values()) if real else []), rows=rows,
                            page_sizes=real)
    if conversations:
        extra = conversation_stage(write_conversation_skill(out / "data", rows=rows), order) + list(extra)
    model = model_dir(family, lengths)
    configs = []
    if real:
        configs.append(out / "real_probe.yaml")
        configs[0].write_text(REAL_PROBE.format(**PROBE_SKILLS))
    name = (family + (f"-{order}" if order else "") + ("-real" if real else "")
            + (f"-{strategy}" if strategy != "ddp" else ""))
    # A process-group rendezvous of the caller (an earlier DDP test in the same pytest process sets MASTER_PORT and
    # keeps that port bound) must not leak into the rehearsal's own two processes: they pick a free port.
    inherited = {k: v for k, v in os.environ.items() if k not in DIST_ENV}
    env = {**inherited, "LMMCL_DATA_DIR": str(data), "HF_HOME": str(out / "hf_home"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [*fit_command(family, model, out / "logs", name, devices, order, configs, strategy, accelerator),
               *extra]
    print("[rehearsal] " + " ".join(command), flush=True)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (out / "fit.log").write_text(done.stdout)  # the whole output; the tail here
    print(done.stdout[-4000:], flush=True)
    found = re.search(r"\[lmmcl\] done\. Report: (\S+report\.md)", done.stdout)
    report = Path(found.group(1)) if found else None
    if real and report is not None:
        from lmmcl.rehearsal.lengths import write_lengths

        print(f"[rehearsal] prompt lengths: {write_lengths(report, model, data)}", flush=True)
    print(f"[rehearsal] {family}{' ' + order if order else ''}: exit {done.returncode}; report: {report}", flush=True)
    return done.returncode, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmmcl rehearse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(TINY), default="llava", help="the real preset rehearsed")
    parser.add_argument("--order", choices=ORDERS, help="one of the paper's alternative task orders")
    parser.add_argument("--lengths", choices=LENGTHS, default="tiny",
                        help="tiny: 32-pixel tiles (default); real: the real processors' image settings and page-"
                             "sized pictures, prompts of thousands of tokens (minutes)")
    parser.add_argument("--rows", type=int, default=24, help="good records per benchmark split (default 24)")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="ddp",
                        help="ddp (default) or fsdp: configs/trainer/fsdp.yaml + bf16.yaml, as on a GPU node")
    parser.add_argument("--accelerator", default="cpu", help="cpu (default, gloo) or gpu on a GPU node")
    parser.add_argument("--devices", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", default="logs/rehearsal", help="data, logs and report (default logs/rehearsal)")
    parser.add_argument("--conversations", action=argparse.BooleanOptionalAction, default=True,
                        help="a sixth target stage read from conversation files (LLaVA-JSON, chat JSONL); "
                             "--no-conversations: paper.yaml's five stages only")
    args, extra = parser.parse_known_args(argv)
    return rehearse(args.family, args.order, args.rows, args.out, args.devices, extra, args.lengths, args.strategy,
                    args.accelerator, args.conversations)[0]
