"""Does a base that learned to answer in the format its question asks for forget less in a narrow stage?

Hypothesis (docs/history/2026-12-06-format-varied-pretraining.md): the held-out skills are lost because a stage's answer
format (count: digits) takes over every question; a base whose pre-training asked the same content in several
answer formats (a word, an option's letter, an option's number, yes/no: what a 7B model's instruction tuning
teaches) would tie a format to its instruction and keep the others.

Control and treatment continue the shipped tiny base for the same number of steps on its own pre-training mixture
(configs/model/tiny.yaml: the ten held-out analogs and ``words``, its LR and warmup), the treatment with ``formats``
(below) in it; then one stage of ``--stage``
(``research/skill_probe.py``, the recipe and LR given) trains each, scoring the held-out skills as it goes.

    python -m research.format_probe --out /tmp/format_probe            # ~12 minutes on two idle cores

``formats`` lives here, not in the package: a new skill changes the world's fingerprint, and with it every
cached and shipped base. The probe reads skills from a copy of configs/skills with ``formats.yaml`` added, kept
in ``--out``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

from lmmcl.cpu import pin

pin()  # before torch starts: the code path lmmcl's own commands use (lmmcl/cpu.py)
import torch  # noqa: E402

FORMATS_YAML = "generator: formats\nmetric: exact_match\nkind: pretrain\nchance: 0.0\n"


def register_formats(configs: Path) -> None:
    """Register the ``formats`` generator and point the skill configs at ``configs``, a copy with
    ``formats.yaml``."""
    import lmmcl.data.skill as skill_module
    import lmmcl.data.skills  # noqa: F401  (the other generators)
    from lmmcl.data.synthetic import COLORS, SHAPES, Drawn, SyntheticSkill, generator

    @generator("formats")
    def formats(rng: random.Random, skill: SyntheticSkill) -> Drawn:
        """One question about an object's colour or shape, answered as its last line asks: a word, an option's
        letter, an option's number or yes/no. No counting, time, species, tissue or text: no target content."""
        n = rng.randint(1, 3)
        shapes, colours = rng.sample(SHAPES, n), rng.sample(tuple(COLORS), n)
        cells = rng.sample(range(skill.grid ** 2), n)
        objects = [skill.obj(rng, s, c, cell) for s, c, cell in zip(shapes, colours, cells)]
        asked = objects[0]
        if rng.random() < 0.5:
            question, gold, pool = f"What color is the {asked.shape}?", asked.color, tuple(COLORS)
            yes_no = f"Is the {asked.shape} {{}}? Answer yes or no."
        else:
            question, gold, pool = f"What shape is the {asked.color} object?", asked.shape, SHAPES
            yes_no = f"Is the {asked.color} object a {{}}? Answer yes or no."
        form = rng.choice(("word", "letter", "number", "yes_no"))
        if form == "word":
            return Drawn(skill.scene(rng, objects), f"{question} Answer with a word.", gold)
        if form == "yes_no":
            value = gold if rng.random() < 0.5 else rng.choice([v for v in pool if v != gold])
            return Drawn(skill.scene(rng, objects), yes_no.format(value), "yes" if value == gold else "no")
        options = rng.sample([v for v in pool if v != gold], 3) + [gold]
        rng.shuffle(options)
        marks = [chr(65 + i) if form == "letter" else str(i + 1) for i in range(4)]
        listed = "\n".join(f"{m}. {o}" for m, o in zip(marks, options))
        return Drawn(skill.scene(rng, objects), f"{question}\n{listed}\nAnswer with a {form}.",
                     marks[options.index(gold)])

    shutil.copytree(skill_module.SKILL_CONFIG_DIR, configs, dirs_exist_ok=True)
    (configs / "formats.yaml").write_text(FORMATS_YAML)
    skill_module.SKILL_CONFIG_DIR = configs


def main() -> None:
    from lmmcl.models.presets import get_preset
    from lmmcl.train.base import pretrain, shipped_path

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="a folder for the two continued bases, the logs and the curves")
    p.add_argument("--samples", type=int, default=33000, help="continued pre-training samples, the same for both")
    p.add_argument("--stage", default="count", help="the narrow stage's skill")
    p.add_argument("--recipe", default="mlp_gate_up")
    p.add_argument("--lr", default="3e-4")
    p.add_argument("--steps", default="1250")
    p.add_argument("--train-size", default="8000", help="the stage's training samples")
    p.add_argument("--test-size", default="64", help="test samples of the stage's skill (the held-out: 64 each)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--base", default="", help="the base to continue (default: the shipped tiny base)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out, tiny = Path(a.out), get_preset("tiny")
    register_formats(out / "skills")
    base, mixture = a.base or shipped_path(tiny), tiny.pretrain
    heldout, words = mixture["skills"], mixture["train_only"]
    arms = {"control": words, "formats": [*words, "formats"]}
    for arm, extra in arms.items():
        per_skill = a.samples // (len(heldout) + len(extra))  # the same number of steps for both arms
        pretrain(base, out / arm, preset="tiny", skills=heldout, train_only=extra, train_size=per_skill, epochs=1,
                 lr=mixture["lr"], warmup_ratio=mixture["warmup_ratio"])
    for arm in arms:
        subprocess.run([sys.executable, "-m", "research.skill_probe", "--skill", a.stage, "--model", str(out / arm),
                        "--recipe", a.recipe, "--lr", a.lr, "--clip", "1", "--steps", a.steps,
                        "--every", str(min(250, int(a.steps))),
                        "--train-size", a.train_size, "--test-size", a.test_size, "--threads", str(a.threads),
                        "--heldout", *heldout, "--log", str(out / "curves.jsonl"), "--tag", f"{a.stage}_{arm}"],
                       check=True)


if __name__ == "__main__":
    main()
