from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from samerun._exceptions import UnsafePath
from samerun.data.scan import store_tree
from samerun.data.tree import TREE_FORMAT, Tree, TreeEntry
from samerun.hashing import canonical_json, hash_bytes
from samerun.store.objects import LocalObjectStore


def test_tree_lists_every_file_sorted_with_hash_size_and_mode(tmp_path: Path) -> None:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "b.txt").write_text("bb")
    (root / "sub" / "a.bin").write_bytes(b"\0")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    objects = LocalObjectStore(tmp_path / "objects")
    oid, tree = store_tree(root, objects)
    document = json.loads(objects.get_bytes(oid))
    assert document["format"] == TREE_FORMAT
    assert document["entries"] == [
        ["b.txt", hash_bytes(b"bb"), 2, 0o644],
        ["run.sh", hash_bytes(b"#!/bin/sh\n"), 10, 0o755],
        ["sub/a.bin", hash_bytes(b"\0"), 1, 0o644],
    ]
    assert tree.size == 13
    assert objects.get_bytes(hash_bytes(b"bb")) == b"bb"


def test_same_content_gives_the_same_tree(tmp_path: Path) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("same")
    assert store_tree(tmp_path / "one", objects)[0] == store_tree(tmp_path / "two", objects)[0]


def test_symlinks_leaving_the_directory_are_rejected(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (tmp_path / "secret").write_text("x")
    os.symlink(tmp_path / "secret", root / "link")
    with pytest.raises(UnsafePath):
        store_tree(root, LocalObjectStore(tmp_path / "objects"))


def test_tree_bytes_are_the_canonical_json_of_its_entries() -> None:
    entries = (
        TreeEntry('caf\u00e9/"q".csv', hash_bytes(b"a"), 1, 0o644),
        TreeEntry("z.sh", hash_bytes(b"b"), 2**40, 0o755),
    )
    document = {"format": TREE_FORMAT, "entries": [list(e) for e in entries]}
    assert Tree(entries).encode() == canonical_json(document)
