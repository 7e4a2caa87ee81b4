"""How modules import each other: no cycles, and imports only point down the layers.

Every import counts, at module level or inside a function: a function-level import is a start-up
saving (``samerun data status`` and ``import samerun`` have budgets, see test_on_import.py and
tests/cli/test_status.py), never a way to hide a cycle. ``if TYPE_CHECKING:`` imports are left
out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"

#: Lowest first. A module may import its own layer and the ones below it, never one above.
LAYERS: list[tuple[str, list[str]]] = [
    (
        "base",
        [
            "samerun._exceptions",
            "samerun._atomic",
            "samerun._on_import",
            "samerun.hashing",
            "samerun.paths",
            "samerun.series",
            "samerun.status",
            "samerun.summary",
            "samerun.journal",
            "samerun.sourcetree",
        ],
    ),
    ("capture", ["samerun.capture"]),
    ("record", ["samerun.manifest", "samerun.store"]),
    (
        "library",
        [
            "samerun.data",
            "samerun.tracing",
            "samerun.recorder",
            "samerun.tracking",
            "samerun.launcher",
            "samerun.seeding",
            "samerun.torch",
            "samerun.split",
            "samerun.verify",
            "samerun.doctor",
            "samerun.env",
            "samerun.query",
            "samerun.api",
            "samerun.registry",
            "samerun.sync",
            "samerun.integrations",
            "samerun.lineage",
        ],
    ),
    ("front", ["samerun.cli", "samerun.web", "samerun.server"]),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "samerun").rglob("*.py")):
        if "migrations" in path.parts:  # loaded by Alembic from their files
            continue
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path], name: str) -> set[str]:
    """The samerun modules ``name`` imports anywhere in its code, TYPE_CHECKING blocks aside."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = [f"{node.module}.{a.name}" for a in node.names]
            targets = [m for m in submodules if m in known] or [node.module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        # a package's own __init__ runs before any of its modules: not an edge
        found |= {t for t in targets if t in known and t != name and not name.startswith(t + ".")}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known, name) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> int:
    for level, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_imports.py")


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(graph()) == []


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, targets in sorted(graph().items())
        if name != "samerun"  # the package's lazy re-exports
        for target in sorted(targets)
        if layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_a_cycle_is_found_wherever_it_hides() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
