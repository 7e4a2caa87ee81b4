from __future__ import annotations

import os
from pathlib import Path

import pytest

from samerun._exceptions import ObjectCorrupt, ObjectNotFound, StoreError
from samerun.hashing import hash_bytes
from samerun.store.objects import FsspecObjectStore, LocalObjectStore, open_object_store


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
    assert store.write_object(oid, data) is True
    assert store.write_object(oid, data) is False
    assert store.get_bytes(oid) == data
    assert not store.path_of(oid).stat().st_mode & 0o222
    assert list(store.iter_oids()) == [oid]
    assert list((tmp_path / "objects" / ".incoming").glob("*")) == []
