"""The package's import graph, every import statement counted: at module level and inside functions (a lazy import
runs later, but the module still depends on what it imports). tests/test_layout.py checks its rules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lmmcl"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.Module, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """lmmcl modules that ``tree`` imports anywhere, function bodies included (``from a import b``: ``a.b`` if it
    is a module)."""
    found = set()
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Import):
            found |= {a.name for a in sub.names}
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level:
                anchor = name.split(".")[: len(name.split(".")) - sub.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in sub.names}
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py") if "configs" not in p.parts}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        edges = imported(ast.parse(path.read_text()), name, path.name == "__init__.py", modules)
        # importing a.b.c runs a/__init__ and a/b/__init__ first (the importer's own packages already ran)
        parents = {".".join(e.split(".")[:i]) for e in edges for i in range(2, e.count(".") + 1)}
        graph[name] = edges | {p for p in parents if not name.startswith(p + ".")}
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_is_found_imports_inside_functions_included():
    graph = import_graph()
    assert "lmmcl.registry" in graph["lmmcl.train.recipes"] and "lmmcl.data" in graph["lmmcl.train.cli"]
    assert "lmmcl.train.cli" in graph["lmmcl.cli"]  # imported inside main() only
