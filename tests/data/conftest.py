"""Fixtures for the data layer: a project with a small dataset and its data context."""

from __future__ import annotations

from pathlib import Path

import pytest

from samerun.data.workspace import DataContext
from samerun.store.project import Project


def write_dataset(root: Path, files: int = 5) -> Path:
    raw = root / "data" / "raw"
    (raw / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (raw / f"f{i}.csv").write_text(f"id,value\n{i},{i * i}\n")
    (raw / "sub" / "blob.bin").write_bytes(bytes(range(256)) * 40)
    return raw


@pytest.fixture
def ctx(project: Path) -> DataContext:
    """The data context of the ``project`` fixture, with ``data/raw`` written (not added)."""
    Project(project).init()
    write_dataset(project)
    return DataContext.of(Project(project))
