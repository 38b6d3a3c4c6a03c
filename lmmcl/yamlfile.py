"""Reading YAML files the user writes, with errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lmmcl.errors import LmmclError

CONFIG_SUFFIXES = (".yaml", ".yml")


def load_yaml(path: str | Path) -> Any:
    """The YAML document in ``path``; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise LmmclError(f"YAML syntax error in {where}: {problem}. Fix that line of the file.") from None
    except OSError as err:
        raise LmmclError(f"Cannot read {path}: {err.strerror or err}. Check the path.") from None


def key_line(path: str | Path, key: str) -> int | None:
    """The 1-based line of the first mapping key ``key`` in the YAML file ``path`` (at any depth), or None."""
    try:
        root = yaml.compose(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None
    nodes = [root] if root is not None else []
    while nodes:
        node = nodes.pop(0)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return k.start_mark.line + 1
                nodes.append(v)
        elif isinstance(node, yaml.SequenceNode):
            nodes.extend(node.value)
    return None


def where_key(path: str | Path, key: str) -> str:
    """``"<path>, line <n>"`` where ``key`` is set in ``path`` (just the path when it is not found)."""
    line = key_line(path, key)
    return f"{path}, line {line}" if line else str(path)


def config_files(argv: list[str]) -> list[Path]:
    """Files named by ``--config`` and by YAML-file values (``--trainer.callbacks+=configs/baseline/lwf.yaml``)."""
    files = []
    for i, arg in enumerate(argv):
        option, eq, value = arg.partition("=")
        previous = argv[i - 1] if i else ""
        if option == "--config" and eq or option.startswith("--") and eq and value.endswith(CONFIG_SUFFIXES):
            files.append(Path(value))  # --config=x.yaml, --trainer.callbacks+=x.yaml
        elif previous == "--config" or (previous.startswith("--") and "=" not in previous
                                        and arg.endswith(CONFIG_SUFFIXES)):
            files.append(Path(arg))  # --config x.yaml, --trainer.callbacks+ x.yaml
    return files


def check_config_files(argv: list[str]) -> None:
    """Each config file on the command line exists and parses (before the CLI reads it without its name)."""
    for path in config_files(argv):
        if not path.is_file():
            raise LmmclError(f"Config file {str(path)!r} does not exist. Check the path (relative to {Path.cwd()}).")
        load_yaml(path)
