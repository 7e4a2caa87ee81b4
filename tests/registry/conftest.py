"""Real runs to register: train.py recorded by the CLI, each writing model.pkl."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import Cli

from samerun.registry import Registry
from samerun.store.project import Project, open_store


@pytest.fixture
def record(project: Path, cli: Cli) -> Callable[..., str]:
    """``record(lr)``: record train.py with param lr (so model.pkl differs); its run id."""

    def run(lr: float = 0.1, *extra: str) -> str:
        done = cli(
            "record",
            "--json",
            "-p",
            f"lr={lr}",
            "-o",
            "model.pkl",
            *extra,
            "--",
            "python",
            "train.py",
        )
        assert done.exit_code == 0, done.stderr
        return str(json.loads(done.stdout)["id"])

    return run


@pytest.fixture
def registry(project: Path) -> Iterator[Registry]:
    store = open_store(Project(project), create=True)
    try:
        yield Registry(store)
    finally:
        store.close()
