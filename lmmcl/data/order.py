"""Task orders as permutations of the configured skills, so one order config serves every skill set.

``data.order: [2, 0, 3, 4, 1]`` trains ``data.skills[2]`` first, then ``data.skills[0]``, ... The paper's
alternative orders are written once (configs/experiment/order_*.yaml) and reorder whatever five skills the
experiment names: the real benchmarks under paper.yaml, their synthetic analogs under the default.
"""

from __future__ import annotations

from collections.abc import Sequence

from lmmcl.errors import LmmclError


def apply_order(skills: Sequence[str], order: Sequence[int] | None) -> list[str]:
    """``skills`` in the stage order ``order`` (indices into ``skills``); ``None`` keeps the configured order."""
    skills = list(skills)
    if order is None:
        return skills
    if sorted(order) != list(range(len(skills))):
        raise LmmclError(f"data.order={list(order)} is not a permutation of 0..{len(skills) - 1} for the "
                         f"{len(skills)} skills {skills}: list every index exactly once (e.g. "
                         f"{list(range(len(skills)))[::-1]} reverses them).")
    return [skills[i] for i in order]
