"""What data an experiment would read, resolved without downloading anything or loading any model.

Used by the paper experiment's dry run: one row per (skill, split) with its source, size, metric and whether
it is on this machine, and a small text table of them.
"""

from __future__ import annotations

from typing import Any

from lmmcl.data.hf import HFSkill
from lmmcl.data.order import apply_order
from lmmcl.data.skill import get_skills
from lmmcl.tables import text_table

PLAN_COLUMNS = ("skill", "kind", "split", "source", "rows", "would skip", "metric", "found")


def dataset_plan(skill_names: list[str]) -> list[dict[str, Any]]:
    """Resolve each skill's config: keys skill, file, kind, split, id, config, hub_split, rows, skipped (reason ->
    rows, None when unknown without loading), metric, found, where."""
    plan: list[dict[str, Any]] = []
    for skill in get_skills(skill_names):
        if isinstance(skill, HFSkill):
            rows = skill.plan()
        else:
            splits = getattr(skill, "plan_splits", None) or \
                {"target": ["train", "test"], "pretrain": ["train"]}.get(skill.kind, ["test"])
            rows = [{"skill": skill.name, "kind": skill.kind, "split": split, "id": None, "config": None,
                     "hub_split": None, "rows": None, "metric": skill.metric, "found": True,
                     "where": skill.split_where(split) if hasattr(skill, "split_where") else "generated"}
                    for split in splits]
        for row in rows:
            survey = skill.survey(row["split"]) if row["found"] else None
            row["file"] = str(skill.source_file) if skill.source_file else None
            row["skipped"] = None
            if survey is not None:
                row["rows"], row["skipped"] = survey
        plan += rows
    return plan


def skipped_text(skipped: dict[str, int] | None) -> str:
    """``"3 (missing_image 2, no_assistant_turn 1)"``, ``"0"``, or ``"?"`` when unknown."""
    if skipped is None:
        return "?"
    total = sum(skipped.values())
    return f"{total} ({', '.join(f'{r} {n}' for r, n in skipped.items() if n)})" if total else "0"


def format_files(plan: list[dict[str, Any]]) -> str:
    """One line per skill: the YAML file it came from."""
    files = dict.fromkeys((row["skill"], row["file"]) for row in plan)
    return "\n".join(f"{skill}: {file or '(built in)'}" for skill, file in files)


def format_plan(plan: list[dict[str, Any]]) -> str:
    """A fixed-width table of :func:`dataset_plan` rows."""
    def source(row: dict[str, Any]) -> str:
        if row["where"] == "generated":
            return "synthetic"
        if row["where"].startswith("files"):
            return row["where"].split(": ", 1)[-1]
        if not row["id"]:
            return "(local copy only)"
        config = f"[{row['config']}]" if row["config"] else ""
        return f"{row['id']}{config}:{row['hub_split']}"

    def found(row: dict[str, Any]) -> str:
        where = row["where"].split(":")[0]  # local, hub cache, generated, files, download, missing
        return f"yes ({where})" if row["found"] else ("no, will download" if where == "download" else "NO")

    return text_table(PLAN_COLUMNS, [[row["skill"], row["kind"], row["split"], source(row),
                                      "?" if row["rows"] is None else row["rows"], skipped_text(row["skipped"]),
                                      row["metric"], found(row)] for row in plan])


def resolve_config(config_files: list[str], flags: list[str] | None = None) -> dict[str, Any]:
    """The config ``lmmcl fit --config F1 --config F2 ... FLAGS`` would run with, resolved by its own parser."""
    from lmmcl.train.cli import resolve

    return resolve(["fit", *[arg for path in config_files for arg in ("--config", path)], *(flags or [])])


def model_plan(preset_name: str, model_path: str | None = None) -> str:
    """Where the model's weights would come from, checked without loading them."""
    from lmmcl.errors import MissingResourceError
    from lmmcl.models.presets import get_preset, resolve_checkpoint

    preset = get_preset(preset_name)
    if preset.builder and not model_path:
        return f"{preset_name}: built locally on first use ({preset.description})"
    try:
        return f"{preset_name}: found at {resolve_checkpoint(preset, model_path)}"
    except MissingResourceError as err:
        return f"{preset_name}: NOT FOUND offline\n{err}"


def main(argv: list[str]) -> int:
    """``lmmcl plan [--config FILE ...] [any lmmcl fit option ...]``: a dry run of ``lmmcl fit`` with the same
    options, resolved by its parser. Prints the resolved configuration, the dataset plan and where the weights
    would come from; loads no weights and downloads nothing."""
    import yaml

    if argv and argv[0] in ("-h", "--help"):
        print(main.__doc__)
        return 0
    config = resolve_config([], argv)
    print("# resolved configuration\n" + yaml.safe_dump(config, sort_keys=False))
    data = config["data"]
    plan = dataset_plan(apply_order(data["skills"], data.get("order")) + list(data.get("heldout") or []))
    print("# datasets\n" + format_plan(plan) + "\n")
    print("# skill files\n" + format_files(plan) + "\n")
    print("# model\n" + model_plan(config["model"]["preset"], config["model"].get("model_path")))
    missing = sum(not row["found"] for row in plan)
    print(f"\n[lmmcl plan] resolved {len(plan)} dataset splits ({missing} not on this machine); no weights loaded.")
    return 0
