from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samerun._exceptions import FileChanged, ObjectCorrupt, ObjectNotFound, StoreError
from samerun.hashing import hash_bytes, hash_file
from samerun.store.objects import (
    FsspecObjectStore,
    Held,
    Linked,
    LocalObjectStore,
    open_object_store,
)


@pytest.fixture(params=["local", "memory"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> LocalObjectStore | FsspecObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return FsspecObjectStore(f"memory://samerun-test/{tmp_path.name}")


def test_bytes_round_trip_under_their_hash(objects: LocalObjectStore | FsspecObjectStore) -> None:
    oid = objects.put_bytes(b"hello")
    assert oid == hash_bytes(b"hello")
    assert objects.exists(oid)
    assert objects.get_bytes(oid) == b"hello"
    assert objects.put_bytes(b"hello") == oid


def test_files_round_trip(objects: LocalObjectStore | FsspecObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(100_000))
    oid, size = objects.put_file(source)
    assert size == 100_000
    dest = tmp_path / "out" / "copy.bin"
    objects.fetch_to(oid, dest)
    assert dest.read_bytes() == source.read_bytes()


def test_missing_objects_are_named(
    objects: LocalObjectStore | FsspecObjectStore, tmp_path: Path
) -> None:
    oid = hash_bytes(b"never stored")
    assert not objects.exists(oid)
    with pytest.raises(ObjectNotFound, match=oid):
        objects.get_bytes(oid)
    with pytest.raises(ObjectNotFound):
        objects.fetch_to(oid, tmp_path / "x")


def test_local_objects_are_read_only_and_corruption_is_detected(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    oid = store.put_bytes(b"precious")
    path = store.path_of(oid)
    assert path.stat().st_mode & 0o222 == 0
    path.chmod(0o644)
    path.write_bytes(b"preciouS")
    with pytest.raises(ObjectCorrupt, match=str(path)):
        store.get_bytes(oid)
    with pytest.raises(ObjectCorrupt):
        store.fetch_to(oid, tmp_path / "restored")
    assert not list(path.parent.glob(".*.tmp"))


def test_bad_object_ids_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a samerun object id"):
        LocalObjectStore(tmp_path).exists("md5:1234")


def test_urls_pick_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_object_store(str(tmp_path)), LocalObjectStore)
    assert isinstance(open_object_store(f"file://{tmp_path}"), LocalObjectStore)
    assert isinstance(open_object_store("memory://bucket/prefix"), FsspecObjectStore)


@pytest.mark.parametrize("tmpfile", [True, False], ids=["unnamed-file", "temp-and-rename"])
def test_written_objects_appear_whole_read_only_and_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmpfile: bool
) -> None:
    if not tmpfile:  # filesystems and platforms without O_TMPFILE
        monkeypatch.setattr("samerun.store.objects._O_TMPFILE", 0)
    store = LocalObjectStore(tmp_path / "objects")
    data = os.urandom(5000)
    oid = hash_bytes(data)
    assert store.put_bytes(data, oid) == oid  # hashed by the caller: trusted
    assert store.put_bytes(data) == oid
    assert store.get_bytes(oid) == data
    assert not store.path_of(oid).stat().st_mode & 0o222
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(3000))
    stored = store.put_file(source)
    assert stored == (hash_file(source), 3000)
    assert not stored.linked
    assert source.stat().st_mode & 0o200  # a copy: the file is left as it was
    assert sorted(store.iter_oids()) == sorted([oid, stored.oid])
    assert store.remove_stale_temps(0) == 0  # no temp file left


def _held(path: Path, *, recent: bool = False) -> Held:
    """``path`` opened and described as it is now (the caller closes the descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    return Held(fd, st.st_ino, st.st_mtime_ns, st.st_size, recent)


def test_a_held_file_is_linked_in_as_its_own_object(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n")
    held = _held(plain)
    try:
        stored = store.put_file(plain, hash_file(plain), link=True, held=held)
    finally:
        os.close(held.fd)
    assert stored.linked
    assert isinstance(stored, Linked)
    assert os.path.samefile(plain, store.path_of(stored.oid))
    assert plain.stat().st_mode & 0o777 == 0o444


def test_a_file_with_other_links_is_copied_not_linked(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    shared = tmp_path / "shared.csv"
    shared.write_text("shared\n")
    os.link(shared, tmp_path / "elsewhere.csv")
    stored = store.put_file(shared, link=True)
    assert not stored.linked
    assert not os.path.samefile(shared, store.path_of(stored.oid))
    assert shared.stat().st_mode & 0o200  # making it read-only would change the other name
    assert store.get_bytes(stored.oid) == b"shared\n"


def test_a_filesystem_that_refuses_links_gets_copies_from_then_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    refused: list[str] = []
    real_link = os.link

    def cross_device(source: str, target: str, **kwargs: int) -> None:
        """Links from the data fail as from another filesystem; the store's own work."""
        if "objects" not in os.path.realpath(source):
            refused.append(source)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(source, target, **kwargs)

    monkeypatch.setattr(os, "link", cross_device)
    for name in ("a", "b"):
        (tmp_path / name).write_text(name)
        assert not store.put_file(tmp_path / name, link=True).linked
    assert len(refused) == 1  # the first refusal is enough
    assert store.get_bytes(hash_bytes(b"b")) == b"b"


@pytest.mark.parametrize("link", [True, False], ids=["linked", "copied"])
def test_a_held_file_that_changed_since_it_was_hashed_is_not_stored(
    tmp_path: Path, link: bool
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    target = tmp_path / "a.txt"
    target.write_text("hashed")
    oid = hash_bytes(b"hashed")
    held = _held(target)
    try:
        moved = held._replace(mtime_ns=held.mtime_ns - 1)  # written after it was hashed
        with pytest.raises(FileChanged, match=r"a\.txt changed"):
            store.put_file(target, oid, link=link, held=moved)
        # Rewritten within one timestamp tick, its stat would not show it: the content does.
        with pytest.raises(FileChanged, match=r"a\.txt changed"):
            store.put_file(
                target, hash_bytes(b"hashed before"), link=link, held=held._replace(recent=True)
            )
    finally:
        os.close(held.fd)
    assert list(store.iter_oids()) == []
    assert target.stat().st_mode & 0o200  # left as it was
    assert store.remove_stale_temps(0) == 0


def test_only_local_stores_have_files_and_links(tmp_path: Path) -> None:
    local = LocalObjectStore(tmp_path / "objects")
    remote = FsspecObjectStore(f"memory://samerun-test/{tmp_path.name}")
    oid = hash_bytes(b"x")
    assert local.path_of(oid) == tmp_path / "objects" / oid[7:9] / oid[9:]
    assert remote.path_of(oid) is None
    assert not remote.read_only_protects()
    assert local.read_only_protects() == (os.geteuid() != 0)  # root writes through modes
    source = tmp_path / "f"
    source.write_text("x")
    assert not remote.put_file(source, link=True).linked  # nothing links into a remote store
    assert source.stat().st_nlink == 1


def test_only_stale_temp_files_are_removed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    assert store.remove_stale_temps(3600) == 0  # none yet, nor their directory
    incoming = tmp_path / "objects" / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "killed.tmp").write_bytes(b"half")
    (incoming / "writing.tmp").write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(incoming / "killed.tmp", (two_hours_ago, two_hours_ago))
    assert store.remove_stale_temps(3600) == 1
    assert [p.name for p in incoming.iterdir()] == ["writing.tmp"]
    assert FsspecObjectStore(f"memory://samerun-test/{tmp_path.name}").remove_stale_temps(0) == 0


def test_a_store_still_writes_from_exit_handlers(tmp_path: Path) -> None:
    """A run is ended at exit: what the store keeps open must outlive the other exit handlers."""
    script = f"""
import atexit
from pathlib import Path
from samerun.store.objects import LocalObjectStore

store = LocalObjectStore(Path({str(tmp_path / "objects")!r}))
atexit.register(lambda: store.put_bytes(b"at exit"))
store.put_bytes(b"before")  # the first write opens what later ones reuse
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stderr == ""
    assert LocalObjectStore(tmp_path / "objects").exists(hash_bytes(b"at exit"))
