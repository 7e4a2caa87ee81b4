"""Every module under src/samerun has its own test file, or names the test file that covers it.

``src/samerun/a/b.py`` has its own test file in ``tests/a/test_b.py`` (``a/_b.py`` too), a
package's ``a/__init__.py`` in ``tests/a/test_init.py`` (``tests/test_init.py`` for ``samerun``
itself); an ``__init__.py`` that holds nothing but its docstring needs none.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).parents[1]
SRC = REPO / "src" / "samerun"

#: Modules without a test file of their own, and the test file that covers them: small ones, or
#: the machinery behind exactly what that file tests. A key ending in ``/`` covers a folder.
COVERED_BY = {
    "capture/_probe.py": "tests/capture/test_environment.py",  # this and another interpreter
    "cli/__main__.py": "tests/cli/test_init.py",  # runs `python -m samerun.cli`
    "doctor/__init__.py": "tests/doctor/test_evidence.py",  # diagnose() at every level
    "data/progress.py": "tests/data/test_checkout.py",  # add and checkout report their progress
    "doctor/analyze.py": "tests/doctor/test_sources.py",  # skipped files, silenced findings
    "doctor/context.py": "tests/doctor/rules/test_randomness.py",  # names resolved via imports
    "doctor/facts.py": "tests/doctor/rules/test_randomness.py",  # seeders, in another file too
    "doctor/flow.py": "tests/doctor/rules/test_ordering.py",  # where a listing's order goes
    "doctor/levels.py": "tests/doctor/test_evidence.py",  # levels 0 to 4
    "doctor/model.py": "tests/cli/test_doctor.py",  # the report as text, JSON and SARIF
    "doctor/rule.py": "tests/doctor/rules/test_registry_examples.py",  # every rule's examples
    "doctor/rules/__init__.py": "tests/doctor/rules/test_registry_examples.py",
    "store/migrations/": "tests/store/test_migrate.py",  # every revision, old store to new
    "store/schema.py": "tests/store/test_migrate.py",  # every migration ends at this schema
    "web/app_state.py": "tests/web/test_app.py",  # the store the routes read, opened and closed
}


def own_test_file(module: str) -> str:
    """The test file of ``module`` (a path relative to src/samerun), relative to the repo."""
    folder, _, name = module.rpartition("/")
    stem = "init" if name == "__init__.py" else name.removesuffix(".py").lstrip("_")
    return "/".join(["tests", *([folder] if folder else []), f"test_{stem}.py"])


def only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return not body or (len(body) == 1 and isinstance(body[0], ast.Expr))


def modules() -> list[str]:
    return sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if not (path.name == "__init__.py" and only_a_docstring(path))
    )


def within(module: str, key: str) -> bool:
    """Whether a COVERED_BY ``key`` (a module, or a folder ending in ``/``) holds ``module``."""
    return module == key or (key.endswith("/") and module.startswith(key))


def covering(module: str) -> str | None:
    """The test file COVERED_BY names for ``module`` or a folder above it."""
    return next((test for key, test in COVERED_BY.items() if within(module, key)), None)


def test_own_test_file_mirrors_the_source_tree() -> None:
    assert own_test_file("hashing.py") == "tests/test_hashing.py"
    assert own_test_file("data/scan.py") == "tests/data/test_scan.py"
    assert own_test_file("capture/_probe.py") == "tests/capture/test_probe.py"
    assert own_test_file("cli/__init__.py") == "tests/cli/test_init.py"
    assert own_test_file("__init__.py") == "tests/test_init.py"


def test_every_module_has_its_own_test_file_or_names_one() -> None:
    untested = [
        module
        for module in modules()
        if not (REPO / own_test_file(module)).is_file() and covering(module) is None
    ]
    assert not untested, (
        "no test file for "
        + ", ".join(f"{m} (expected {own_test_file(m)})" for m in untested)
        + "; write it, or name the test file that covers the module in COVERED_BY"
    )


def test_each_covering_test_file_exists_and_is_needed() -> None:
    present = set(modules())
    for key, test_file in COVERED_BY.items():
        assert any(within(m, key) for m in present), f"COVERED_BY names {key}: no such module"
        assert (REPO / test_file).is_file(), f"{key} is said to be covered by {test_file}"
        if not key.endswith("/"):
            assert not (REPO / own_test_file(key)).is_file(), (
                f"{key} has its own test file now; remove it from COVERED_BY"
            )
