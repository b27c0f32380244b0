"""The package's shape: imports run one way, one door to the engines, short functions.

Read with the standard library's ``ast`` from the source files, so these checks import nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workshop"
MAX_FUNCTION_LINES = 60
#: User-facing modules that must reach the engines only through ``workshop.kernels.engines``.
ENGINE_CLIENTS = ("bench.py", "lab")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports, at any depth (``from a import b``: ``a.b``
    when ``b`` is a module, else ``a``)."""
    found = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1]]
                    + ([base] if base else [])
                )
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return {name for name in found if name in MODULES}


def _graph() -> dict[str, set[str]]:
    return {name: _imports(path) - {name} for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert graph["workshop.scaling"] >= {"workshop.timing"}  # the reader sees real edges
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_registry_knows_no_problem():
    assert _imports(MODULES["workshop.kernels.registry"]) <= {"workshop.errors"}


@pytest.mark.parametrize("client", ENGINE_CLIENTS)
def test_lab_and_bench_reach_the_engines_only_through_kernels_engines(client):
    paths = (
        [PACKAGE / client] if client.endswith(".py") else sorted((PACKAGE / client).glob("*.py"))
    )
    assert paths
    for path in paths:
        imported = _imports(path)
        assert "workshop.cluster" not in imported, f"{path.name} imports workshop.cluster"
        assert "workshop.cluster_guard" not in imported, f"{path.name} imports cluster_guard"


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} "
        f"({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_is_longer_than_sixty_lines():
    long = [entry for path in MODULES.values() for entry in _long_functions(path)]
    assert not long, "split these into named steps: " + "; ".join(long)
