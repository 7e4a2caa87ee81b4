"""The files of a project directory outside git: sorted, without hidden, tool or venv folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

#: Folders that never hold the project's own files.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", ".samerun", ".git"})


def _kept(here: Path, name: str) -> bool:
    return (
        name not in SKIP_DIRS
        and not name.startswith(".")
        and not (here / name / "pyvenv.cfg").exists()
    )


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` in sorted order, skipping hidden folders, tools' folders and
    virtual environments."""
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if _kept(here, d))
        yield from (here / name for name in sorted(filenames))
