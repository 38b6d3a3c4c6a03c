"""The language model's own language: a pre-training skill, never a target or a held-out benchmark.

A 7B model brings every word of its vocabulary from text pre-training before it ever sees a picture. The tiny
model's language model knows only what the base's pre-training makes it say, and a base trained on the
held-out analogs alone answers every question with their answers at a confidence no narrow recipe overturns
within a stage (docs/history/2026-11-28-text-stage-and-world-4.md). ``words`` gives it the words of the world to say,
in no skill's context: the picture is a random scene and tells nothing; no target question, picture or
answer rule is in it.
"""

from __future__ import annotations

import random

from lmmcl.data.skills.targets import SPECIES, TISSUE, WORDS
from lmmcl.data.synthetic import COLORS, PLURALS, SHAPES, Drawn, SyntheticSkill, generator, random_objects

VOCABULARY = tuple(sorted({*WORDS, *COLORS, *SHAPES, *PLURALS.values(), *TISSUE, "yes", "no", "and",
                          *(w.lower() for name in SPECIES.values() for w in name.split())}))


@generator("words")
def words(rng: random.Random, skill: SyntheticSkill) -> Drawn:
    """A few random words of :data:`VOCABULARY`, whatever the picture (a random scene) shows."""
    low, high = skill.params.get("min_words", 3), skill.params.get("max_words", 6)
    objects = random_objects(rng, rng.randint(0, 3), skill)
    said = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(low, high)))
    return Drawn(skill.scene(rng, objects), "Say a few words.", said)
