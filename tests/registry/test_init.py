"""``samerun.models``: the registry from Python, on the current project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import samerun
from samerun._exceptions import StoreError


def test_register_alias_and_get_from_python(record: Callable[..., str], project: Path) -> None:
    run = record()
    version = samerun.models.register("churn", run, ["model.pkl"])
    samerun.models.set_alias("churn", "production", version.version, reason="first")
    placed = samerun.models.get("churn@production")
    assert [p.name for p in placed.paths] == ["model.pkl"]
    assert placed.paths[0].read_bytes() == (project / "model.pkl").read_bytes()
    assert samerun.models.resolve("churn@production") == version
    assert [m.name for m in samerun.models.list_models()] == ["churn"]
    assert samerun.models.history("churn").aliases == {"production": 1}
    assert samerun.models.check_history("churn").intact
    assert samerun.models.card("churn:1").startswith("# churn v1")


def test_without_a_store_the_registry_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no samerun store"):
        samerun.models.list_models(project=tmp_path)
