"""The house's walls: which part may import which, and no import cycle anywhere.

Read from the source with :mod:`ast` (no import runs), counting imports inside functions too:
a cycle closed by a deferred import still ties two modules into one. Imports under ``if
TYPE_CHECKING:`` are for the type checker only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "checks", "deploy")

# The engine's parts, each with the parts it must never import. Lower parts know nothing of the
# faces that run them (HTTP, Lambda, the CLI) nor of deployment.
FACES = ("service.faces", "service.cli", "service.demo", "deploy")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "checks": ("service", "deploy"),  # the plugin API never imports the engine
    "service.verdict": (*FACES, "service.running", "service.state", "service.engine"),
    "service.running": (*FACES, "service.state", "service.engine", "service.listeners"),
    "service.state": (*FACES, "service.engine", "service.listeners", "service.running"),
    "service.engine": FACES,
    "service.output": (*FACES, "service.running", "service.state"),
    "service.listeners": FACES,
    "service.simulation": (*FACES, "service.engine", "service.running"),
    "service.config": FACES,
    "service.compose": ("service.faces", "service.cli", "service.demo", "deploy"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The project modules ``path`` imports at run time, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    yield from visit(other)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    yield full if full in known else base
            yield from visit(child)

    for target in visit(ast.parse(path.read_text(), str(path))):
        # importlib.import_module strings are not seen; the registry's modules are leaves.
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            yield target


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imports(path, name, known)) for name, path in found.items()}


def inside(module: str, part: str) -> bool:
    return module == part or module.startswith(part + ".")


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_no_part_imports_a_part_above_it(part: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        if inside(module, part)
        for target in targets
        if any(inside(target, banned) for banned in FORBIDDEN[part])
    )
    assert wrong == []


def test_no_import_cycle_even_through_deferred_imports() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node)
    assert [" -> ".join(cycle) for cycle in cycles] == []


def test_the_checker_sees_a_deferred_import_and_ignores_type_checking() -> None:
    """The reader itself: a function-level import counts, a TYPE_CHECKING one does not."""
    source = ROOT / "service" / "state" / "registry.py"
    found = set(imports(source, "service.state.registry", set(modules())))
    assert "service.state" not in found  # only under TYPE_CHECKING there
    switch = ROOT / "service" / "cli" / "switch.py"
    assert "service.state.registry" in set(imports(switch, "service.cli.switch", set(modules())))
    assert "service.state" not in set(imports(source, "service.state.registry", set(modules())))
