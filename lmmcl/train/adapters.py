"""Which classes a recipe's ``adapter`` section may name: recipes are data, so never an arbitrary import.

A ``class_path`` is accepted when it names an adapter lmmcl registers (a :class:`~lmmcl.contracts.ModelAdapter`: LoRA,
MoE), by registry name (``lora``) or by its dotted path (``lmmcl.baselines.LoRA``), or when it lies under a
module prefix the user allowed explicitly (``--recipe.allow_adapters '[mypkg.adapters]'``). Anything else is
refused before it is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from lmmcl.contracts import ModelAdapter
from lmmcl.train.baseline_registry import baseline_class, class_paths


def registered_adapters() -> dict[str, type]:
    """Adapter classes by every name that may refer to them: ``lora``, ``LoRA``, ``lmmcl.baselines.LoRA``, ...
    (the registered baselines, :mod:`lmmcl.train.baseline_registry`, that are a ModelAdapter)."""
    names: dict[str, type] = {}
    for name, class_path in class_paths().items():
        cls = baseline_class(name)
        if issubclass(cls, ModelAdapter):
            for alias in (name, cls.__name__, class_path, f"{cls.__module__}.{cls.__name__}"):
                names[alias] = cls
    return names


def allowed(class_path: str, allow: Sequence[str]) -> bool:
    """Whether ``class_path`` equals or lies under one of the dotted ``allow`` prefixes."""
    return any(class_path == prefix or class_path.startswith(prefix.rstrip(".") + ".") for prefix in allow if prefix)


def adapter_class(class_path: str, allow: Sequence[str] = (), where: str = "the recipe") -> type:
    """The class ``class_path`` names, if registered or allowed; otherwise an error that says how to allow it."""
    from lmmcl.errors import LmmclError

    registered = registered_adapters()
    if class_path in registered:
        return registered[class_path]
    if not allowed(str(class_path), allow):
        choices = sorted({f"{cls.__name__} (lmmcl.baselines.{cls.__name__})" for cls in registered.values()})
        module = class_path.rpartition(".")[0] or class_path
        raise LmmclError(f"{where}: adapter class_path {class_path!r} is not an adapter registered by lmmcl, and "
                         f"recipes are data, so it is not imported. Registered: {', '.join(choices)}. If it is your "
                         f"own adapter class, allow its module explicitly: --recipe.allow_adapters '[{module}]'.")
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise LmmclError(f"{where}: adapter class_path {class_path!r} cannot be imported ({err}). "
                         f"Fix the class_path.") from None
    if not isinstance(cls, type) or not issubclass(cls, ModelAdapter):
        raise LmmclError(f"{where}: {class_path!r} is not an adapter class (a subclass of "
                         f"lmmcl.contracts.ModelAdapter). Fix the class_path.")
    return cls
