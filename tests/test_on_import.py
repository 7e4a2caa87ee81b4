"""Callbacks on a module's first import: how a framework imported later still gets seeded."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from samerun._on_import import call_on_import


@pytest.fixture
def module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module not imported yet (``VALUE = 1``), forgotten again after the test."""
    name = "samerun_on_import_example"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield name
    sys.modules.pop(name, None)


def test_the_callback_runs_once_the_module_is_imported(module_name: str) -> None:
    seen: list[ModuleType] = []
    call_on_import(module_name, seen.append)
    assert seen == []
    assert module_name not in sys.modules  # registering imports nothing
    module = __import__(module_name)
    assert seen == [module]
    assert module.VALUE == 1  # the module ran before its callback
    sys.modules.pop(module_name)
    __import__(module_name)
    assert seen == [module], "the callback ran again on a second import"


def test_an_imported_module_gets_its_callback_at_once(module_name: str) -> None:
    module = __import__(module_name)
    seen: list[ModuleType] = []
    call_on_import(module_name, seen.append)
    assert seen == [module]


def test_a_later_registration_replaces_one_that_has_not_run(module_name: str) -> None:
    calls: list[str] = []
    call_on_import(module_name, lambda _module: calls.append("first"))
    call_on_import(module_name, lambda _module: calls.append("second"))
    __import__(module_name)
    assert calls == ["second"]
