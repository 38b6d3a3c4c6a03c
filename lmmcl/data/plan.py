"""What data an experiment would read, resolved without downloading anything or loading any model.

Used by the paper experiment's dry run: one row per (skill, split) with its source, size, metric and whether
it is on this machine, and a small text table of them.
"""

from __future__ import annotations

from typing import Any

from lmmcl.data.hf import HFSkill
from lmmcl.data.skill import get_skills

PLAN_COLUMNS = ("skill", "kind", "split", "source", "rows", "metric", "found")


def dataset_plan(skill_names: list[str]) -> list[dict[str, Any]]:
    """Resolve each skill's config: keys skill, kind, split, id, config, hub_split, rows, metric, found, where."""
    plan: list[dict[str, Any]] = []
    for skill in get_skills(skill_names):
        if isinstance(skill, HFSkill):
            plan += skill.plan()
            continue
        splits = ["train", "test"] if skill.kind == "target" else ["test"]
        plan += [{"skill": skill.name, "kind": skill.kind, "split": split, "id": None, "config": None,
                  "hub_split": None, "rows": None, "metric": skill.metric, "found": True, "where": "generated"}
                 for split in splits]
    return plan


def format_plan(plan: list[dict[str, Any]]) -> str:
    """A fixed-width table of :func:`dataset_plan` rows."""
    def source(row: dict[str, Any]) -> str:
        if row["where"] == "generated":
            return "synthetic"
        if not row["id"]:
            return "(local copy only)"
        config = f"[{row['config']}]" if row["config"] else ""
        return f"{row['id']}{config}:{row['hub_split']}"

    def found(row: dict[str, Any]) -> str:
        where = row["where"].split(":")[0]  # local, hub cache, generated, download, missing
        return f"yes ({where})" if row["found"] else ("no, will download" if where == "download" else "NO")

    cells = [[str(row["skill"]), str(row["kind"]), str(row["split"]), source(row),
              "?" if row["rows"] is None else str(row["rows"]), str(row["metric"]), found(row)] for row in plan]
    widths = [max(len(r[i]) for r in [list(PLAN_COLUMNS)] + cells) for i in range(len(PLAN_COLUMNS))]
    lines = [list(PLAN_COLUMNS), ["-" * w for w in widths]] + cells
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)
