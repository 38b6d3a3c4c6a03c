"""object_count: the curriculum cap on objects per scene, and uncapped draws unchanged."""

import random

from lmmcl.data.skill import get_skill
from lmmcl.data.synthetic import object_count


def test_uncapped_draw_is_the_plain_randint():
    skill = get_skill("shape")
    a, b = random.Random(7), random.Random(7)
    assert [object_count(a, skill, 4) for _ in range(50)] == [b.randint(1, 4) for _ in range(50)]


def test_cap_limits_the_count():
    skill = get_skill("shape")
    skill.params["max_objects"] = 2
    rng = random.Random(0)
    counts = {object_count(rng, skill, 4) for _ in range(200)}
    assert counts == {1, 2}


def test_capped_scenes_differ_from_uncapped_ones():
    capped = get_skill("exist")
    capped.params["max_objects"] = 1
    plain = get_skill("exist")
    a, b = capped.dataset("train", 8, seed=0), plain.dataset("train", 8, seed=0)
    assert any(a[i].image.tobytes() != b[i].image.tobytes() for i in range(8))
