"""Directory versions as tree objects: the sorted (path, object, size, mode) of every file."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samerun._exceptions import PathOutsideProject
from samerun.hashing import canonical_json, is_within
from samerun.store.objects import ObjectStore

TREE_FORMAT = "samerun.tree/1"


@dataclass(frozen=True)
class TreeEntry:
    path: str  # POSIX path relative to the tree's root
    oid: str
    size: int
    mode: int  # 0o644 or 0o755

    def to_list(self) -> list[Any]:
        return [self.path, self.oid, self.size, self.mode]


@dataclass(frozen=True)
class Tree:
    entries: tuple[TreeEntry, ...]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def encode(self) -> bytes:
        return canonical_json(
            {"format": TREE_FORMAT, "entries": [e.to_list() for e in self.entries]}
        )


def _walk_files(root: Path) -> list[Path]:
    """Regular files under ``root``, following symlinks only while they stay inside it."""
    real_root = root.resolve()
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        for name in list(dirnames):
            if not is_within((here / name).resolve(), real_root):
                raise PathOutsideProject(str(here / name), str(root))
        for name in filenames:
            path = here / name
            if not is_within(path.resolve(), real_root):
                raise PathOutsideProject(str(path), str(root))
            if path.is_file():
                found.append(path)
    return found


def store_tree(root: Path, objects: ObjectStore) -> tuple[str, Tree]:
    """Store every file under ``root`` and the tree naming them; returns the tree's object id."""
    entries = []
    for path in _walk_files(root):
        oid, size = objects.put_file(path)
        mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
        entries.append(TreeEntry(path.relative_to(root).as_posix(), oid, size, mode))
    tree = Tree(tuple(sorted(entries, key=lambda e: e.path)))
    return objects.put_bytes(tree.encode()), tree
