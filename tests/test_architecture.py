"""The shape of the code: voxlite's import graph, read from its source, has no cycle and
follows the layers docs/architecture.md describes (data flows one way)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "src" / "voxlite"

# What each part may import of voxlite (docs/architecture.md says why). A module not
# named here falls under its package's entry ("voxlite.io" covers voxlite.io.nifti).
MAY_IMPORT = {
    "voxlite.image": set(),
    "voxlite.io": {"voxlite.image", "voxlite.io"},
    "voxlite.adapters": {"voxlite.image", "voxlite.io"},
    "voxlite.geometry": {"voxlite.adapters"},
    "voxlite.checks": set(),
    "voxlite.presets": set(),
    "voxlite.reading": {"voxlite.checks", "voxlite.image", "voxlite.orientation"},
    "voxlite.transfer": {"voxlite.image", "voxlite.geometry", "voxlite.checks"},
    "voxlite.multiscale": {"voxlite.image"},
    "voxlite.tasks": set(),
    "voxlite.orientation": set(),
    "voxlite.windowing": set(),
    "voxlite.comparison": {"voxlite.image", "voxlite.windowing"},
    "voxlite.layers": {
        *("voxlite.image", "voxlite.transfer", "voxlite.checks", "voxlite.geometry"),
        "voxlite.presets",
    },
    "voxlite.screenshot": {"voxlite.io"},
    "voxlite.stream": {"voxlite.image", "voxlite.io"},
    "voxlite.display": {
        *("voxlite.image", "voxlite.multiscale", "voxlite.transfer", "voxlite.tasks"),
        "voxlite.windowing",
    },
    "voxlite.viewmodel": {
        *("voxlite.adapters", "voxlite.display", "voxlite.geometry", "voxlite.image"),
        *("voxlite.layers", "voxlite.multiscale", "voxlite.tasks", "voxlite.transfer"),
        *("voxlite.io", "voxlite.orientation", "voxlite.comparison", "voxlite.checks"),
        *("voxlite.reading", "voxlite.presets", "voxlite.stream"),
    },
    "voxlite.received": {"voxlite.io"},
    # A saved page's policy is the builder's, which imports nothing of voxlite.
    "voxlite.standalone": {"voxlite.io", "voxlite.builder"},
    "voxlite.widget": {
        *("voxlite.io", "voxlite.received", "voxlite.screenshot", "voxlite.standalone"),
        *("voxlite.viewmodel", "voxlite.adapters", "voxlite.comparison"),
    },
    "voxlite.data": {"voxlite.image", "voxlite.io"},
    "voxlite.convert": {"voxlite.image", "voxlite.io", "voxlite.adapters"},
}
# The front doors sit on top: they may import any layer, and no layer imports them.
FRONT_DOORS = {
    *("voxlite", "voxlite.__main__", "voxlite.cli", "voxlite.demo"),
    *("voxlite.builder", "voxlite.site", "voxlite.app"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in SOURCE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The voxlite modules a file imports, at the top or inside functions alike."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    files = modules()
    known = set(files)
    return {name: imports_of(path, known) - {name} for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_voxlite_has_no_import_cycle():
    assert cycles(graph()) == []


def part_of(name: str) -> str:
    """The entry of MAY_IMPORT or FRONT_DOORS a module belongs to (itself or its package)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        known = candidate in MAY_IMPORT or candidate in FRONT_DOORS
        if known and (candidate != "voxlite" or name == "voxlite"):  # the root is itself only
            return candidate
    raise AssertionError(f"{name} belongs to no layer: add it to MAY_IMPORT or FRONT_DOORS")


def test_every_module_has_a_place():
    for name in modules():
        part_of(name)


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_it_may(part):
    edges = graph()
    members = [name for name in edges if part_of(name) == part]
    assert members, f"no module is {part}"
    for name in members:
        imported = {part_of(target) for target in edges[name]} - {part}
        allowed = MAY_IMPORT[part]
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"
