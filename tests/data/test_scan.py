from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from samerun._exceptions import FileChanged, UnsafePath
from samerun.data.parallel import INLINE_MAX
from samerun.data.scan import Changes, changes_since, snapshot
from samerun.data.statcache import StatCache
from samerun.data.walk import FileStat
from samerun.hashing import hash_bytes, hash_file
from samerun.store.objects import FsspecObjectStore, Held, LocalObjectStore, Stored
from tests.conftest import age, fresh


def test_unchanged_files_are_not_rehashed_thanks_to_the_stat_cache(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    target = root / "a.txt"
    target.write_text("one")
    age(target)
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
    fresh(target)
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
    assert objects.remove_stale_temps(0) == 0  # no temp file left


def test_large_files_are_copied_in_where_the_kernel_cannot_copy_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(INLINE_MAX + 777))
    objects = LocalObjectStore(tmp_path / "objects")
    snap = snapshot(big, StatCache(), store=objects)
    assert objects.path_of(snap.oid).read_bytes() == big.read_bytes()


def test_a_remote_store_gets_every_file_copied(tmp_path: Path) -> None:
    root = _tree_of_kinds(tmp_path)
    objects = FsspecObjectStore(f"memory://samerun-test/{tmp_path.name}")
    snap = snapshot(root, StatCache(), store=objects, link=True)  # nothing links to a remote
    assert snap.linked == 0
    for entry in snap.tree.entries:  # type: ignore[union-attr]
        assert objects.get_bytes(entry.oid) == (root / entry.path).read_bytes()
    assert (root / "plain.txt").stat().st_mode & 0o200


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


def _tree_of_kinds(tmp_path: Path) -> Path:
    """Files that may be linked into a store (plain, big) and files that must be copied."""
    root = tmp_path / "d"
    root.mkdir()
    (root / "plain.txt").write_text("plain")
    (root / "big.bin").write_bytes(os.urandom(INLINE_MAX + 1))
    (root / "tool.sh").write_text("#!/bin/sh\n")
    (root / "tool.sh").chmod(0o755)
    (root / "shared.txt").write_text("shared")
    os.link(root / "shared.txt", tmp_path / "elsewhere.txt")
    age(root)
    (root / "fresh.txt").write_text("fresh")
    fresh(root / "fresh.txt")  # hashed again once linked
    return root


@pytest.mark.usefixtures("links_protected")
def test_plain_files_are_linked_into_the_store_not_copied(tmp_path: Path) -> None:
    root = _tree_of_kinds(tmp_path)
    objects = LocalObjectStore(tmp_path / "objects")
    snap = snapshot(root, StatCache(), store=objects, link=True)
    assert snap.linked == 3
    by_name = {e.path: e for e in snap.tree.entries}  # type: ignore[union-attr]
    for name in ("plain.txt", "big.bin", "fresh.txt"):
        assert os.path.samefile(root / name, objects.path_of(by_name[name].oid))
        assert (root / name).stat().st_mode & 0o777 == 0o444
    for name in ("tool.sh", "shared.txt"):
        assert not os.path.samefile(root / name, objects.path_of(by_name[name].oid))
        assert (root / name).stat().st_mode & 0o200
    for entry in by_name.values():
        assert hash_file(objects.path_of(entry.oid)) == entry.oid
    assert by_name["tool.sh"].mode == 0o755


@pytest.mark.usefixtures("links_protected")
def test_only_files_written_just_now_are_hashed_again_once_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree_of_kinds(tmp_path)
    rehashed: dict[str, bool] = {}
    put_file = LocalObjectStore.put_file

    def spy(self: LocalObjectStore, path: str, oid: str, *, link: bool, held: Held) -> Stored:
        if link:
            rehashed[Path(path).name] = held.recent
        return put_file(self, path, oid, link=link, held=held)

    monkeypatch.setattr(LocalObjectStore, "put_file", spy)
    snapshot(root, StatCache(), store=LocalObjectStore(tmp_path / "objects"), link=True)
    assert rehashed == {
        "plain.txt": False,
        "big.bin": False,
        "fresh.txt": True,
        "shared.txt": False,
    }


@pytest.mark.usefixtures("links_protected")
def test_without_link_every_file_is_copied(tmp_path: Path) -> None:
    root = _tree_of_kinds(tmp_path)
    objects = LocalObjectStore(tmp_path / "objects")
    snap = snapshot(root, StatCache(), store=objects)
    assert snap.linked == 0
    for entry in snap.tree.entries:  # type: ignore[union-attr]
        assert not os.path.samefile(root / entry.path, objects.path_of(entry.oid))


def test_where_read_only_does_not_protect_files_are_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    # Root may write a read-only file: the probe knows it, and so linking would be unsafe.
    assert objects.read_only_protects() == (os.geteuid() != 0)
    monkeypatch.setattr(LocalObjectStore, "read_only_protects", lambda _self: False)
    root = _tree_of_kinds(tmp_path)
    snap = snapshot(root, StatCache(), store=objects, link=True)
    assert snap.linked == 0
    assert (root / "plain.txt").stat().st_nlink == 1
    assert objects.remove_stale_temps(0) == 0  # the probe is gone


@pytest.mark.usefixtures("links_protected")
def test_a_filesystem_that_refuses_links_gets_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree_of_kinds(tmp_path)
    real_link = os.link

    def cross_device(source: str, target: str, **kwargs: int) -> None:
        """Links from the dataset fail as from another filesystem; the store's own work."""
        if os.path.realpath(source).startswith(str(root)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(source, target, **kwargs)

    monkeypatch.setattr(os, "link", cross_device)
    objects = LocalObjectStore(tmp_path / "objects")
    snap = snapshot(root, StatCache(), store=objects, link=True)
    monkeypatch.undo()
    assert snap.linked == 0
    for entry in snap.tree.entries:  # type: ignore[union-attr]
        assert hash_file(objects.path_of(entry.oid)) == entry.oid


def _listed_tree(tmp_path: Path) -> tuple[Path, Path, str]:
    """A directory hashed once (so listed), its stat cache file, and its tree's oid."""
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (root / name).write_text(name)
    age(root)
    cache_file = tmp_path / "data" / "statcache.db"
    oid = snapshot(root, StatCache(cache_file)).oid
    return root, cache_file, oid


def _hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The relative paths of every file hashed from now on."""
    import samerun.data.scan as scan

    seen: list[str] = []
    hash_files = scan.hash_files

    def spy(files: list[FileStat], *args: Any, **kwargs: Any) -> Any:
        seen.extend(f.rel for f in files)
        return hash_files(files, *args, **kwargs)

    monkeypatch.setattr(scan, "hash_files", spy)
    return seen


def test_an_unchanged_listing_has_no_changes_and_nothing_is_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache_file, oid = _listed_tree(tmp_path)
    hashed = _hashed(monkeypatch)
    assert changes_since(root, StatCache(cache_file), oid) == Changes([], {}, [])
    assert hashed == []
    assert changes_since(root, StatCache(cache_file), hash_bytes(b"another version")) is None
    assert changes_since(root / "a.txt", StatCache(cache_file), oid) is None  # never listed
    assert changes_since(root / "gone", StatCache(cache_file), oid) is None


def test_a_file_is_listed_as_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("a,b\n")
    age(path)
    cache_file = tmp_path / "data" / "statcache.db"
    oid = snapshot(path, StatCache(cache_file)).oid
    hashed = _hashed(monkeypatch)
    assert changes_since(path, StatCache(cache_file), oid) == Changes([], {}, [])
    assert hashed == []
    path.write_text("a,b,c\n")
    assert changes_since(path, StatCache(cache_file), oid) == Changes([], {"": oid}, [])
    assert hashed == [""]


def test_only_the_files_whose_rows_moved_are_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache_file, oid = _listed_tree(tmp_path)
    stored = {e.path: e.oid for e in snapshot(root, StatCache()).tree.entries}  # type: ignore[union-attr]
    hashed = _hashed(monkeypatch)
    (root / "a.txt").write_text("edited")
    (root / "new.txt").write_text("new")
    (root / "sub" / "c.txt").unlink()
    (root / "b.txt").rename(root / "sub" / "b.txt")  # same inode, mtime and size: a new path
    changes = changes_since(root, StatCache(cache_file), oid)
    assert changes == Changes(
        ["new.txt", "sub/b.txt"], {"a.txt": stored["a.txt"]}, ["b.txt", "sub/c.txt"]
    )
    assert sorted(hashed) == ["a.txt", "new.txt", "sub/b.txt"]


def test_a_mode_change_is_a_modification(tmp_path: Path) -> None:
    root, cache_file, oid = _listed_tree(tmp_path)
    (root / "a.txt").chmod(0o755)
    changes = changes_since(root, StatCache(cache_file), oid)
    assert changes is not None
    assert list(changes.modified) == ["a.txt"]


def test_a_file_rewritten_with_the_same_bytes_is_unchanged_and_listed_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache_file, oid = _listed_tree(tmp_path)
    (root / "a.txt").unlink()
    (root / "a.txt").write_text("a.txt")
    age(root / "a.txt")
    hashed = _hashed(monkeypatch)
    assert changes_since(root, StatCache(cache_file), oid) == Changes([], {}, [])
    assert changes_since(root, StatCache(cache_file), oid) == Changes([], {}, [])
    assert hashed == ["a.txt"]  # once: the second walk matches the new listing


def test_a_damaged_listing_is_ignored(tmp_path: Path) -> None:
    root, cache_file, oid = _listed_tree(tmp_path)
    for listing in (tmp_path / "data" / "listings").iterdir():
        listing.write_bytes(b"\x00garbage")
    assert changes_since(root, StatCache(cache_file), oid) is None
    assert snapshot(root, StatCache(cache_file)).oid == oid
