"""Fixtures for the data layer: a project with a small dataset and its data context."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Recorded:
    """A :class:`samerun.data.progress.Progress` that keeps what it was told."""

    expected: list[tuple[int, int]] = field(default_factory=list)
    done: list[tuple[int, int]] = field(default_factory=list)

    def expect(self, files: int, size: int) -> None:
        self.expected.append((files, size))

    def advance(self, files: int, size: int) -> None:
        self.done.append((files, size))

    def totals(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(files, bytes) expected and (files, bytes) done."""
        return _sum(self.expected), _sum(self.done)


def _sum(pairs: list[tuple[int, int]]) -> tuple[int, int]:
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


@pytest.fixture
def ctx(project: Path) -> DataContext:
    """The data context of the ``project`` fixture, with ``data/raw`` written (not added)."""
    Project(project).init()
    write_dataset(project)
    return DataContext.of(Project(project))
