"""Which files run together: each entry point and the project modules it imports is a program.

A script run as ``__main__``, a notebook, a test module, or a module no other project file
imports is an entry point. Its program is the entry point and the project modules it imports,
transitively (a test module's also holds the ``conftest.py`` files pytest loads with it).
Whether a global generator is seeded, or torch runs deterministically, is a property of a
program: a seed set in one script does nothing for another script that runs as its own process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from samerun.doctor.context import Facts


@dataclass
class Unit:
    """One analysed file: what it does on its own and which modules it imports."""

    path: str  # relative, POSIX separators
    facts: Facts = field(default_factory=Facts)
    imports: set[str] = field(default_factory=set)  # dotted names, relative ones resolved
    entry: bool = False  # a `__main__` guard, a notebook or a test module
    loose: set[str] = field(default_factory=set)  # imported relatively or with `*`
    calls: set[str] = field(default_factory=set)  # called or subclassed, resolved dotted names


@dataclass(frozen=True)
class Program:
    """An entry point, the files it imports (itself included), what they do together, and the
    files whose functions it runs: those it (or a file it runs) calls or subclasses from."""

    entry: str
    files: frozenset[str]
    facts: Facts
    runs: frozenset[str]


def module_names(path: str) -> list[str]:
    """The dotted names ``path`` may be imported as: its full dotted path and every suffix of
    it (``src/pkg/mod.py`` is ``src.pkg.mod``, ``pkg.mod`` and ``mod``)."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return [".".join(parts[i:]) for i in range(len(parts))]


def is_test_module(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


#: A ``[project.scripts]`` or ``[project.gui-scripts]`` table and its body, up to the next table.
_SCRIPT_TABLES = re.compile(r"^\[project\.(?:gui-)?scripts\]\s*$(.*?)(?=^\[|\Z)", re.M | re.S)
_SCRIPT = re.compile(r"""^\s*["']?[\w.-]+["']?\s*=\s*["']([\w.]+)\s*:""", re.M)


#: Where a project says how it runs itself: ``python -m pkg.train`` in these files (at the root,
#: or in a CI workflow) makes ``pkg.train`` a program of its own.
_RUN_FILES = (
    "Makefile",
    "justfile",
    "Dockerfile",
    "tox.ini",
    ".gitlab-ci.yml",
    "*.sh",
    "scripts/*.sh",
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
)
_DASH_M = re.compile(r"\bpython[\d.]*(?:\s+-[A-Za-z]+)*\s+-m\s+([A-Za-z_][\w.]*)")


def declared_entry_points(root: Path) -> set[str]:
    """The modules the project declares it runs: console and GUI scripts of its
    pyproject.toml (``name = "pkg.cli:main"``) and ``python -m`` targets in its Makefile, shell
    scripts and CI workflows. Names that are not project modules match no file and are dropped
    by :func:`programs`."""
    declared: set[str] = set()
    try:
        text = (root / "pyproject.toml").read_text()
    except (OSError, UnicodeDecodeError):
        text = ""
    declared |= {m for table in _SCRIPT_TABLES.findall(text) for m in _SCRIPT.findall(table)}
    for pattern in _RUN_FILES:
        for path in sorted(root.glob(pattern)):
            try:
                declared |= set(_DASH_M.findall(path.read_text()))
            except (OSError, UnicodeDecodeError):
                continue
    return declared


def programs(units: Iterable[Unit], declared: Iterable[str] = ()) -> list[Program]:
    """Every program of the project, in entry-point path order; ``declared`` names modules
    that are entry points whatever imports them (console scripts, ``python -m`` targets)."""
    by_path = {u.path: u for u in units}
    by_name: dict[str, list[str]] = {}
    for path in sorted(by_path):
        for name in module_names(path):
            by_name.setdefault(name, []).append(path)
    started = {path for name in declared for path in by_name.get(name, [])}
    links = {path: _imported(unit, by_name) for path, unit in by_path.items()}
    for path, targets in links.items():  # pytest runs a test module with its conftest.py files
        if is_test_module(path):
            for folder in PurePosixPath(path).parents:
                conftest = (folder / "conftest.py").as_posix()
                if conftest in by_path and conftest != path:
                    targets[conftest] = True
    edges = {path: set(targets) for path, targets in links.items()}
    live = {path: {t for t, used in targets.items() if used} for path, targets in links.items()}
    imported = {target for path, targets in edges.items() for target in targets - {path}}
    entries = [p for p in sorted(by_path) if by_path[p].entry or p in started or p not in imported]
    covered: set[str] = set()
    for entry in entries:
        covered |= _closure(entry, edges)
    # modules only reachable through an import cycle: each is judged on its own closure
    entries += sorted(set(by_path) - covered)
    found: list[Program] = []
    for entry in entries:
        files = _closure(entry, edges)
        facts = _union(by_path[f].facts for f in files)
        found.append(Program(entry, frozenset(files), facts, frozenset(_closure(entry, live))))
    return found


def _imported(unit: Unit, by_name: dict[str, list[str]]) -> dict[str, bool]:
    """The project files ``unit`` imports, each with whether it runs their functions (calls or
    subclasses something of theirs, or imports them relatively or with ``*``); a name several
    files share is taken from the importer's own directory when one of them is there (scripts
    importing their neighbours)."""
    here = PurePosixPath(unit.path).parent
    targets: dict[str, bool] = {}
    for name in unit.imports:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):  # `import a.b` runs a/__init__.py and a/b.py
            dotted = ".".join(parts[:end])
            candidates = by_name.get(dotted)
            if not candidates:
                continue  # not a module of the project
            beside = here.joinpath(*parts[:end])
            near = [c for c in candidates if c in (f"{beside}.py", f"{beside}/__init__.py")]
            full = [c for c in candidates if module_names(c)[0] == dotted]
            chosen = near or full or (candidates if len(candidates) == 1 else [])
            used = name in unit.loose or any(c.startswith(f"{dotted}.") for c in unit.calls)
            for target in chosen:
                targets[target] = targets.get(target, False) or used
    return targets


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _union(all_facts: Iterable[Facts]) -> Facts:
    combined = Facts()
    for facts in all_facts:
        combined.seeded |= facts.seeded
        combined.deterministic |= facts.deterministic
    return combined
