"""The import graph of ``podium/``, read from the source with ``ast``: no module imports
another that (directly or not) imports it back, and the top floors — the CLI, the server —
are imported by nobody below them.

An edge ``a -> b`` means module ``a`` imports module ``b``; ``from pkg import name`` is an
edge to ``pkg.name`` when that is a module, else to ``pkg``. Imports under
``if TYPE_CHECKING:`` never run and are left out of the cycle checks; so is the parent
package's ``__init__`` that importing ``a.b`` runs first (a package re-exporting its modules
would otherwise be in a cycle with each of them). The layer checks read every import.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "podium"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package's ``__init__``)."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


_FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef)


def _statements(body: Iterable[ast.stmt], *, functions: bool) -> Iterator[ast.stmt]:
    """The statements of ``body`` that run when the module is imported (``functions``: also
    those in function bodies, which run later); never those under ``if TYPE_CHECKING:``."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _type_checking(node.test):
                yield from _statements(node.body, functions=functions)
            yield from _statements(node.orelse, functions=functions)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _statements(block, functions=functions)
            for handler in node.handlers:
                yield from _statements(handler.body, functions=functions)
        elif isinstance(node, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
            yield from _statements(node.body, functions=functions)
            yield from _statements(getattr(node, "orelse", []), functions=functions)
        elif isinstance(node, ast.ClassDef) or (functions and isinstance(node, _FUNCTION)):
            yield from _statements(node.body, functions=functions)


def _owner(name: str) -> str | None:
    """The podium module that defines ``name`` (itself, or the nearest enclosing module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.stmt, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1])
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        names = [f"{source}.{alias.name}" if alias.name != "*" else source for alias in node.names]
    else:
        return
    for name in names:
        if name == "podium" or name.startswith("podium."):
            owner = _owner(name)
            if owner is not None and owner != module:
                yield owner


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def import_graph(*, functions: bool = False, everywhere: bool = False) -> dict[str, set[str]]:
    """Module -> the podium modules it imports (``functions``: also inside functions;
    ``everywhere``: every import statement in the file, ``TYPE_CHECKING`` ones too)."""
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in MODULES.items():
        tree = _tree(path)
        nodes: Iterable[ast.AST] = (
            ast.walk(tree) if everywhere else _statements(tree.body, functions=functions)
        )
        graph[module] = {
            target
            for node in nodes
            if isinstance(node, ast.stmt)
            for target in _targets(node, module, is_package)
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle (``a -> b -> ... -> a``) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_back(min(group), graph, group) for group in groups]


def _path_back(start: str, graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group``."""
    paths = {w: [start, w] for w in sorted(graph[start]) if w in group}
    while start not in paths:
        paths = {
            w: [*path, w]
            for path in paths.values()
            for w in sorted(graph[path[-1]])
            if w in group and w not in path[1:]
        } | paths
    return paths[start]


def _named(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_graph_sees_relative_imports_and_submodules():
    graph = import_graph()
    assert "podium.experts.base" in graph["podium.experts.registry"]  # from .base import ...
    assert "podium.errors" in graph["podium.experts.registry"]  # from podium.errors import ...
    assert "podium.runner" in graph["podium"]  # from podium.runner import Podium


def test_a_cycle_is_named_module_by_module():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_module_level_imports_have_no_cycles():
    found = cycles(import_graph())
    assert not found, f"import cycles:\n{_named(found)}"


# Function-level cycles inside podium.memory, which its split into tables, store and
# retrieval modules removes; nothing may be added here.
KNOWN_FUNCTION_CYCLES: set[frozenset[str]] = set()


def test_imports_inside_functions_close_no_new_cycle():
    """A function-level import is a cycle that merely has not bitten yet."""
    found = [
        cycle
        for cycle in cycles(import_graph(functions=True))
        if frozenset(cycle) not in KNOWN_FUNCTION_CYCLES
    ]
    assert not found, f"import cycles through function-level imports:\n{_named(found)}"


def _importers(layer: str, allowed: tuple[str, ...]) -> list[str]:
    def inside(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    graph = import_graph(everywhere=True)
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if not any(inside(module, top) for top in allowed)
        for target in targets
        if inside(target, layer)
    )


def test_no_lower_layer_imports_the_cli():
    assert _importers("podium.cli", allowed=("podium.cli",)) == []


def test_only_the_cli_imports_the_server():
    assert _importers("podium.server", allowed=("podium.server", "podium.cli")) == []
