"""lmmcl's top level is grouped by role (docs/reference/architecture.md): the entry point, the contracts and the shared
utilities stay at the top, everything else lives in the package of its role, and the imports point one way."""

from tests.test_imports import PACKAGE, import_graph

ENTRY = {"cli", "contracts"}
UTILITIES = {"errors", "failures", "faults", "registry", "yamlfile", "atomic", "tables", "plots", "cpu", "quiet",
             "rundir"}
SHIMS = {"perf": "lmmcl.train.perf"}  # old path named by run directories' saved config.yaml
PACKAGES = {"train", "tools", "models", "data", "eval", "baselines", "report", "configs"}
ARCHITECTURE = PACKAGE.parent / "docs" / "reference" / "architecture.md"


def top_level() -> tuple[set[str], set[str]]:
    entries = [p for p in PACKAGE.iterdir() if not p.name.startswith(("_", "."))]
    return ({p.stem for p in entries if p.suffix == ".py"},
            {p.name for p in entries if p.is_dir() and p.name != "__pycache__"})


def test_the_top_level_holds_only_the_entry_the_contracts_and_the_shared_utilities():
    modules, packages = top_level()
    assert modules == ENTRY | UTILITIES | set(SHIMS), "a new top-level module: place it in the package of its role " \
        "(train/, tools/, ...) or, if every package uses it, list it here and in docs/reference/architecture.md"
    assert packages == PACKAGES


def test_architecture_md_names_every_top_level_entry():
    text = ARCHITECTURE.read_text()
    modules, packages = top_level()
    missing = [f"{m}.py" for m in modules if f"{m}.py" not in text] + [f"{p}/" for p in packages if f"{p}/" not in text]
    assert not missing, f"docs/reference/architecture.md does not place {missing}"


def test_imports_point_one_way_utilities_then_the_parts_then_train_then_tools():
    graph = import_graph()
    lower = ("lmmcl.models", "lmmcl.data", "lmmcl.eval", "lmmcl.report")
    upward = {m: sorted(e for e in edges if e.startswith(("lmmcl.train", "lmmcl.tools")))
              for m, edges in graph.items() if m.startswith(lower)}
    assert not any(upward.values()), {m: e for m, e in upward.items() if e}
    utilities = {f"lmmcl.{u}" for u in UTILITIES}
    assert {m: sorted(graph[m] - utilities) for m in utilities} == {m: [] for m in utilities}
    assert not any(e.startswith("lmmcl.tools") for m, edges in graph.items() if m.startswith("lmmcl.train") for e in edges)



def test_a_shim_only_re_exports_the_moved_classes_that_saved_configs_name():
    import importlib

    for old, new in SHIMS.items():
        shim, moved = importlib.import_module(f"lmmcl.{old}"), importlib.import_module(new)
        assert shim.__all__ and all(getattr(shim, name) is getattr(moved, name) for name in shim.__all__)
