"""Directory versions as tree objects: the sorted (path, object, size, mode) of every file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

from samerun._exceptions import StoreError
from samerun.hashing import split_oid
from samerun.paths import check_relative
from samerun.store.objects import ObjectStore

TREE_FORMAT = "samerun.tree/1"
#: Every tree object starts with these bytes (canonical JSON sorts ``entries`` first).
TREE_PREFIX = b'{"entries":['
MODES = (0o644, 0o755)


class TreeEntry(NamedTuple):
    path: str  # POSIX path relative to the tree's root
    oid: str
    size: int
    mode: int  # 0o644 or 0o755


@dataclass(frozen=True)
class Tree:
    entries: tuple[TreeEntry, ...]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def encode(self) -> bytes:
        """The tree's canonical JSON: what ``hashing.canonical_json`` gives, in one C pass."""
        document = {"entries": self.entries, "format": TREE_FORMAT}
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    @classmethod
    def decode(cls, data: bytes, where: str) -> Tree:
        """Parse and check a tree object: every path must stay inside the tree's root."""
        try:
            document = json.loads(data)
        except ValueError:
            raise _malformed(where, "not JSON") from None
        if not isinstance(document, dict) or document.get("format") != TREE_FORMAT:
            raise _malformed(where, "wrong format")
        entries = []
        previous = ""
        for item in document.get("entries", []):
            entries.append(_entry(item, where))
            path = entries[-1].path
            if path <= previous or (previous and path.startswith(previous + "/")):
                raise _malformed(where, "entries not sorted, or a path both file and directory")
            previous = path
        return cls(tuple(entries))


def _malformed(where: str, reason: str) -> StoreError:
    return StoreError(f"tree {where} is not a valid {TREE_FORMAT} object: {reason}")


def _entry(item: Any, where: str) -> TreeEntry:
    if not (isinstance(item, list) and len(item) == 4):
        raise _malformed(where, "a malformed entry")
    path, oid, size, mode = item
    check_relative(path, where)
    try:
        split_oid(oid)
    except (ValueError, AttributeError):
        raise _malformed(where, f"entry {path!r} names no object") from None
    if not isinstance(size, int) or size < 0 or mode not in MODES:
        raise _malformed(where, f"entry {path!r} has a bad size or mode")
    return TreeEntry(path, oid, size, mode)


def starts_as_tree(path: str | os.PathLike[str]) -> bool:
    """Whether the object file at ``path`` holds a tree: it starts as every tree does."""
    with open(path, "rb") as handle:
        return handle.read(len(TREE_PREFIX)) == TREE_PREFIX


def load_tree(objects: ObjectStore, oid: str) -> Tree:
    """The tree object ``oid``, hash-checked and path-checked."""
    return Tree.decode(objects.get_bytes(oid), oid)
