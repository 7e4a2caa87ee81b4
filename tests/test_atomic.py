"""Atomic writes: a reader sees the old content or the new, never a part, and no temp file stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from samerun._atomic import atomic_write, atomic_writer


def test_the_new_content_replaces_the_old_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "state.json"  # missing folders are made
    atomic_write(target, b"old")
    atomic_write(target, b"new", 0o600, durable=False)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(target.parent) == ["state.json"]


def _interrupted_half_way(target: Path) -> None:
    with atomic_writer(target) as handle:
        handle.write(b"half of the new")
        raise KeyboardInterrupt  # even an interrupt, not only an error


def test_a_block_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "state.json"
    atomic_write(target, b"old")
    with pytest.raises(KeyboardInterrupt):
        _interrupted_half_way(target)
    assert target.read_bytes() == b"old"
    assert os.listdir(target.parent) == ["state.json"]


def test_nothing_shows_until_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "out" / "state.json"
    with atomic_writer(target) as handle:
        handle.write(b"new")
        handle.flush()
        assert not target.exists()
        (temp,) = target.parent.iterdir()
        assert temp.name.startswith(".state.json.")  # hidden, next to the target
    assert target.read_bytes() == b"new"
