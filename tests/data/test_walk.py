from __future__ import annotations

import os
from pathlib import Path

import pytest

import samerun.data.walk as walk_module
from samerun._exceptions import UnsafePath
from samerun.data.walk import (
    TEMP_SUFFIX,
    Difference,
    FileStat,
    difference,
    plain,
    rows_of,
    walk,
    walk_changes,
)


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "d"
    for i in range(12):
        (root / f"s{i:02d}" / "deep").mkdir(parents=True)
        (root / f"s{i:02d}" / f"f{i}.txt").write_text(f"{i}")
        (root / f"s{i:02d}" / "deep" / "g.txt").write_text(f"g{i}")
    (root / "top.txt").write_text("top")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / f"half{TEMP_SUFFIX}").write_text("a checkout's temp file")
    return root


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Forking allowed (pytest-xdist runs threads); the size of each child's share."""
    started: list[int] = []
    walking = walk_module._Child.walking.__func__  # type: ignore[attr-defined]

    def spy(cls: type, walker: object, share: list[object], *listed: object) -> object:
        started.append(len(share))
        return walking(cls, walker, share, *listed)

    monkeypatch.setattr(walk_module, "forkable", lambda: True)
    monkeypatch.setattr(walk_module._Child, "walking", classmethod(spy))
    return started


def test_rows_are_sorted_files_with_their_mode(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    files = walk(root)
    assert [f.rel for f in files][:4] == [
        "run.sh",
        "s00/deep/g.txt",
        "s00/f0.txt",
        "s01/deep/g.txt",
    ]
    assert len(files) == 26  # the temp file is no dataset file
    by_rel = {f.rel: f for f in files}
    assert (by_rel["run.sh"].mode, by_rel["top.txt"].mode) == (0o755, 0o644)
    st = (root / "top.txt").stat()
    assert by_rel["top.txt"] == FileStat.of("top.txt", str(root / "top.txt"), st)


@pytest.mark.parametrize("processes", [1, 3])
def test_an_unchanged_tree_is_as_listed(tmp_path: Path, forking: list[int], processes: int) -> None:
    root = _tree(tmp_path)
    os.symlink(root / "s03", root / "s11" / "alias")  # a directory reached twice
    listed = plain(walk(root))
    assert "s11/alias/f3.txt" in {row[0] for row in listed}
    assert walk_changes(root, listed, processes=processes) is None
    assert forking == ([4, 4] if processes == 3 else [])  # a third of the 12 directories each


@pytest.mark.parametrize(
    "change",
    ["s00/f0.txt", "s05/deep/g.txt", "s07/new.txt", "top.txt"],  # in each process's share
)
def test_a_change_anywhere_is_sent_back_alone(
    tmp_path: Path, forking: list[int], change: str
) -> None:
    root = _tree(tmp_path)
    listed = plain(walk(root))
    (root / change).write_text("changed, and longer than before")
    (root / "s03" / "f3.txt").unlink()
    found = walk(root)
    expected = Difference([f for f in found if f.rel == change], ["s03/f3.txt"])
    assert walk_changes(root, listed, processes=2) == expected
    assert forking == [6]
    assert difference(found, listed) == expected  # what one process finds
    assert walk_changes(root, plain(found), processes=2) is None


def test_a_child_that_fails_has_its_share_walked_again_to_raise(
    tmp_path: Path, forking: list[int]
) -> None:
    root = _tree(tmp_path)
    os.symlink(tmp_path, root / "s07" / "escape")
    with pytest.raises(UnsafePath, match="s07/escape"):
        walk_changes(root, [], processes=2)
    assert forking == [6]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "x.txt").write_text("x")
    (root / "b" / "y.txt").write_text("y")
    os.symlink(root, root / "a" / "up")
    os.symlink(root / "a", root / "a" / "self")
    os.symlink(root / "a", root / "b" / "to_a")  # b/to_a/to_b/… would go round for ever
    os.symlink(root / "b", root / "a" / "to_b")
    assert [f.rel for f in walk(root)] == [
        "a/to_b/y.txt",
        "a/x.txt",
        "b/to_a/x.txt",
        "b/y.txt",
    ]


def test_rows_of_a_file_is_the_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("a,b\n")
    (row,) = rows_of(path) or []
    assert (row.rel, row.path, row.size) == ("", str(path), 4)
    assert rows_of(tmp_path / "missing") is None
