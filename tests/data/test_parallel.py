"""Hashing on worker processes gives what hashing on threads gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import samerun.data.parallel as parallel
from samerun._exceptions import FileChanged
from samerun.data.scan import hash_files, snapshot
from samerun.data.statcache import StatCache
from samerun.data.walk import walk
from samerun.store.objects import LocalObjectStore

_SPY: dict[str, Path] = {}
_real_slice = parallel._hash_slice


def _spying_slice(start: int) -> parallel.Batch:
    """``_hash_slice``, noting which process ran it (a module function: tasks are pickled)."""
    with open(_SPY["log"], "a") as log:
        log.write(f"{os.getpid()}\n")
    return _real_slice(start)


def test_many_small_files_are_hashed_in_worker_processes_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "d"
    root.mkdir()
    for i in range(40):
        (root / f"f{i:02d}.txt").write_text(f"row {i}\n")
    in_threads = snapshot(root, StatCache(), store=LocalObjectStore(tmp_path / "a"))
    monkeypatch.setattr(parallel, "_PROCESS_FILES", 10)
    monkeypatch.setattr(parallel, "_PROCESS_CHUNK", 7)
    monkeypatch.setattr(parallel, "forkable", lambda: True)
    monkeypatch.setattr(parallel, "_hash_slice", _spying_slice)
    monkeypatch.setitem(_SPY, "log", tmp_path / "pids")
    objects = LocalObjectStore(tmp_path / "b")
    in_processes = snapshot(root, StatCache(), store=objects)
    assert in_processes.oid == in_threads.oid
    pids = set((tmp_path / "pids").read_text().split())
    assert pids
    assert str(os.getpid()) not in pids  # hashed by other processes
    assert sorted(objects.iter_oids()) == sorted(LocalObjectStore(tmp_path / "a").iter_oids())
    files = walk(root)
    (root / "f13.txt").unlink()  # listed, then gone before it is read
    with pytest.raises(FileChanged, match=r"f13\.txt changed"):
        hash_files(files, StatCache())
