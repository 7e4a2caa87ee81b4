from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from samerun._exceptions import FileChanged, UnsafePath
from samerun.data.scan import INLINE_MAX, snapshot
from samerun.data.statcache import StatCache
from samerun.hashing import hash_bytes, hash_file
from samerun.store.objects import LocalObjectStore


def _age(path: Path, seconds: int = 100) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))


def test_unchanged_files_are_not_rehashed_thanks_to_the_stat_cache(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    target = root / "a.txt"
    target.write_text("one")
    _age(target)
    cache = StatCache(tmp_path / "cache.db")
    first = snapshot(root, cache)
    cache.save()
    # Same size, same inode and mtime: the cache is trusted (that is its whole point).
    mtime = target.stat().st_mtime_ns
    with open(target, "r+") as handle:
        handle.write("two")
    os.utime(target, ns=(mtime, mtime))
    assert snapshot(root, StatCache(tmp_path / "cache.db")).oid == first.oid
    # A real change moves the mtime: the file is hashed again.
    target.write_text("six")
    assert snapshot(root, StatCache(tmp_path / "cache.db")).tree.entries[0].oid == hash_bytes(  # type: ignore[union-attr]
        b"six"
    )


def test_recently_modified_files_are_not_trusted_from_the_cache(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    target.write_text("x")
    cache = StatCache()
    snapshot(target, cache)
    st = target.stat()
    assert cache.get(st.st_ino, st.st_mtime_ns, st.st_size) is None


def test_large_files_are_streamed_into_the_store(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(INLINE_MAX + 12345))
    objects = LocalObjectStore(tmp_path / "objects")
    snap = snapshot(big, StatCache(), store=objects)
    assert snap.oid == hash_file(big)
    assert objects.path_of(snap.oid).read_bytes() == big.read_bytes()
    assert list((tmp_path / "objects" / ".incoming").iterdir()) == []


def test_a_file_written_while_hashed_is_reported_not_recorded(tmp_path: Path) -> None:
    growing = tmp_path / "log.bin"
    growing.write_bytes(os.urandom(INLINE_MAX * 8))
    stop = threading.Event()

    def append() -> None:
        with open(growing, "ab") as handle:
            while not stop.is_set():
                handle.write(b"x" * 4096)
                handle.flush()

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with pytest.raises(FileChanged, match=r"log\.bin changed while it was being hashed"):
            snapshot(growing, StatCache(), store=LocalObjectStore(tmp_path / "objects"))
    finally:
        stop.set()
        writer.join()
    assert list(LocalObjectStore(tmp_path / "objects").iter_oids()) == []


def test_symlinks_inside_are_followed_and_outside_rejected(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "real.txt").write_text("r")
    os.symlink(root / "real.txt", root / "alias.txt")
    snap = snapshot(root, StatCache())
    assert [e.path for e in snap.tree.entries] == ["alias.txt", "real.txt"]  # type: ignore[union-attr]
    os.symlink(tmp_path, root / "escape")
    with pytest.raises(UnsafePath, match="escape"):
        snapshot(root, StatCache())
