"""lmmcl's top level is grouped by role (docs/reference/architecture.md): the entry point, the contracts and the
shared utilities stay at the top, everything else lives in the package of its role, and the imports point one way,
imports inside functions counted (tests/test_imports.py): utilities <- models, data, eval, report <- baselines
<- train <- tools, cli. train/ meets the analyses through lmmcl.contracts and the baselines through their
registration (configs/baseline/, lmmcl.train.baseline_registry), never by importing them."""

from tests.test_imports import PACKAGE, cycles, import_graph

ENTRY = {"cli", "contracts"}
UTILITIES = {"errors", "failures", "faults", "registry", "yamlfile", "atomic", "tables", "plots", "cpu", "quiet",
             "rundir", "loggers"}
SHIMS = {"perf": "lmmcl.train.perf"}  # old path named by run directories' saved config.yaml
PACKAGES = {"train", "tools", "models", "data", "eval", "baselines", "report", "rehearsal", "configs"}
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


def edges_into(importers: tuple[str, ...], imported: tuple[str, ...]) -> dict[str, list[str]]:
    """Modules under the ``importers`` packages that import a module under the ``imported`` packages."""
    inside = lambda module, packages: any(module == p or module.startswith(p + ".") for p in packages)  # noqa: E731
    found = {m: sorted(e for e in edges if inside(e, imported)) for m, edges in import_graph().items()
             if inside(m, importers)}
    return {m: e for m, e in found.items() if e}


def test_lmmcl_has_no_import_circle_counting_imports_inside_functions():
    graph = import_graph()
    assert {"lmmcl.tools.compare", "lmmcl.tools.pool", "lmmcl.tools.jobs"} <= set(graph)  # tools/ counted too
    assert cycles(graph) == []


def test_tools_never_import_the_entry_point():
    assert edges_into(("lmmcl.tools",), ("lmmcl.cli",)) == {}


def test_models_data_eval_and_report_never_import_train_or_tools():
    lower = ("lmmcl.models", "lmmcl.data", "lmmcl.eval", "lmmcl.report")
    assert edges_into(lower, ("lmmcl.train", "lmmcl.tools")) == {}


def test_train_finds_baselines_by_registration_and_never_imports_them_or_tools():
    assert edges_into(("lmmcl.train",), ("lmmcl.baselines", "lmmcl.tools")) == {}


def test_baselines_never_import_tools_and_utilities_and_contracts_only_utilities():
    assert edges_into(("lmmcl.baselines",), ("lmmcl.tools",)) == {}
    utilities = {f"lmmcl.{u}" for u in UTILITIES}
    graph = import_graph()
    assert {m: sorted(graph[m] - utilities) for m in utilities | {"lmmcl.contracts"}} == \
        {m: [] for m in utilities | {"lmmcl.contracts"}}


def test_the_rules_see_an_import_inside_a_function(tmp_path, monkeypatch):
    import tests.test_imports as imports

    package = tmp_path / "lmmcl"
    for folder, text in (("eval", "def f():\n    from lmmcl.train.stages import x\n"), ("train", "y = 1\n")):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
        (package / folder / "stages.py").write_text(text)
    monkeypatch.setattr(imports, "PACKAGE", package)
    assert edges_into(("lmmcl.eval",), ("lmmcl.train",)) == {"lmmcl.eval.stages": ["lmmcl.train", "lmmcl.train.stages"]}



def test_a_shim_only_re_exports_the_moved_classes_that_saved_configs_name():
    import importlib

    for old, new in SHIMS.items():
        shim, moved = importlib.import_module(f"lmmcl.{old}"), importlib.import_module(new)
        assert shim.__all__ and all(getattr(shim, name) is getattr(moved, name) for name in shim.__all__)
