"""Import cycles in hpbench (issue 21): none between modules at import time, none among the
engine's modules and none between subpackages, even through lazy imports (commands sit in
:mod:`hpbench.cli`, above everything they call).

The graph is read from the source (AST), not by importing: an edge is an ``import`` in a
module's body or class bodies (``import time``), or also in a function body (``lazy``);
imports under ``if TYPE_CHECKING`` never run and do not count. Importing ``hpbench.a.b``
runs ``hpbench.a`` first, so it is an edge to both; the root package ``hpbench`` (the API's
names, loaded on first use) is the namespace every module is in and is not a node.
"""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "hpbench").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(tree: ast.Module, modules: dict[str, Path], lazy: bool) -> set[str]:
    """The hpbench modules ``tree`` imports (names resolved to the module that holds them)."""
    names: list[str] = []

    def walk(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not lazy:
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                walk(node.orelse)
                continue
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    names.append(full if full in modules else node.module)
            for field in ("body", "orelse", "finalbody", "handlers"):
                walk(getattr(node, field, None) or [])

    walk(tree.body)
    found = set()
    for name in names:
        parts = name.split(".")
        for end in range(2, len(parts) + 1):  # each package on the way runs first
            prefix = ".".join(parts[:end])
            if prefix in modules:
                found.add(prefix)
    return found


@functools.cache
def import_graph(lazy: bool) -> dict[str, frozenset[str]]:
    """Module -> the hpbench modules it imports (the root package left out)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = _imported(ast.parse(path.read_text()), modules, lazy)
        graph[name] = frozenset(m for m in edges if m != name and not name.startswith(m + "."))
    graph.pop("hpbench", None)
    return graph


def cycles(graph: dict[str, frozenset[str]] | dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _subpackage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def by_subpackage(graph: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    """The graph between subpackages (and top-level modules) of hpbench."""
    packages: dict[str, set[str]] = {}
    for source, targets in graph.items():
        edges = packages.setdefault(_subpackage(source), set())
        edges.update(_subpackage(t) for t in targets if _subpackage(t) != _subpackage(source))
    return packages


def test_the_graph_sees_known_edges():
    lazy, eager = import_graph(lazy=True), import_graph(lazy=False)
    assert "hpbench.results.records" in eager["hpbench.results.store"]
    assert "hpbench.results" in eager["hpbench.train.run"]  # the package runs first
    assert "hpbench.train.memory" in lazy["hpbench.launch"]  # inside make_run_jobs only
    assert "hpbench.train.memory" not in eager["hpbench.launch"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_cycle_at_import_time():
    assert cycles(import_graph(lazy=False)) == []


def test_the_engine_has_no_cycle_even_through_lazy_imports():
    graph = import_graph(lazy=True)
    train = {m: {t for t in e if t.startswith("hpbench.train")} for m, e in graph.items()}
    train = {m: e for m, e in train.items() if m.startswith("hpbench.train")}
    assert cycles(train) == []


def test_no_subpackage_cycle_even_through_lazy_imports():
    assert cycles(by_subpackage(import_graph(lazy=True))) == []
