from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from samerun._exceptions import ObjectCorrupt, ObjectNotFound, UnsafePath, WorkspaceConflict
from samerun.data import scan
from samerun.data.checkout import checkout, materialize, unprotect
from samerun.data.tree import Tree, TreeEntry
from samerun.data.walk import FileStat
from samerun.data.workspace import DataContext, add, select, status
from samerun.hashing import hash_bytes
from samerun.store.objects import LocalObjectStore
from samerun.store.project import Project
from tests.conftest import age
from tests.data.conftest import Recorded


def _flip_a_byte(objects: LocalObjectStore, oid: str) -> None:
    path = objects.path_of(oid)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.usefixtures("links_protected")
def test_checkout_restores_the_exact_version_with_read_only_links(ctx: DataContext) -> None:
    stored, placed = Recorded(), Recorded()
    (ds,) = add(ctx, ["data/raw"], progress=stored)
    raw = ctx.root / "data" / "raw"
    before = _snapshot(raw)
    total = (6, sum(len(data) for data in before.values()))
    assert stored.totals() == (total, total)
    shutil.rmtree(raw)
    result = checkout(ctx, ds, progress=placed)
    assert placed.totals() == (total, total)
    assert _snapshot(raw) == before
    assert result.written == 6
    assert result.methods == ["hardlink"]  # ext4/tmpfs: no reflink, hardlinks work
    mode = (raw / "f0.csv").stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert [s.state for s in status(ctx, [ds])] == ["unchanged"]
    again = checkout(ctx, ds)
    assert (again.written, again.unchanged) == (0, 6)


def test_copy_mode_writes_independent_writable_files(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    shutil.rmtree(ctx.root / "data" / "raw")
    assert checkout(ctx, ds, link=False).methods == ["copy"]
    target = ctx.root / "data" / "raw" / "f0.csv"
    target.write_text("mine")  # writable, and the store is untouched
    assert ctx.objects.get_bytes(hash_bytes(b"id,value\n0,0\n")) == b"id,value\n0,0\n"


def test_where_read_only_does_not_protect_checkout_copies(
    ctx: DataContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalObjectStore, "read_only_protects", lambda _self: False)
    (ds,) = add(ctx, ["data/raw"])
    shutil.rmtree(ctx.root / "data" / "raw")
    assert checkout(ctx, ds).methods == ["copy"]  # root could write through a hard link
    assert (ctx.root / "data" / "raw" / "f0.csv").stat().st_nlink == 1


def test_modified_files_are_never_silently_overwritten(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    target = ctx.root / "data" / "raw" / "f0.csv"
    target.write_text("my unsaved edit")
    with pytest.raises(WorkspaceConflict, match=r"data/raw/f0\.csv"):
        checkout(ctx, ds)
    assert target.read_text() == "my unsaved edit"
    checkout(ctx, ds, force=True)
    assert target.read_text() == "id,value\n0,0\n"


def test_extra_files_go_only_after_confirmation(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    extra = ctx.root / "data" / "raw" / "notes" / "todo.txt"
    extra.parent.mkdir()
    extra.write_text("keep me")
    asked: list[list[str]] = []
    with pytest.raises(WorkspaceConflict, match="not in this version"):
        checkout(ctx, ds, confirm=lambda paths: asked.append(paths) or False)
    assert asked == [["data/raw/notes/todo.txt"]]
    assert extra.exists()
    checkout(ctx, ds, confirm=lambda _paths: True)
    assert not extra.parent.exists()  # the workspace matches the version exactly


def test_switching_versions_removes_files_whose_content_is_stored(ctx: DataContext) -> None:
    raw = ctx.root / "data" / "raw"
    (v1,) = add(ctx, ["data/raw"])
    (raw / "v2-only.csv").write_text("2")
    (v2,) = add(ctx, ["data/raw"])
    checkout(ctx, v1)  # no confirmation needed: v2-only.csv is in the store
    assert not (raw / "v2-only.csv").exists()
    checkout(ctx, v2)
    assert (raw / "v2-only.csv").read_text() == "2"


@pytest.mark.usefixtures("links_protected")
def test_after_a_checkout_status_needs_no_hashing(
    ctx: DataContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = ctx.root / "data" / "raw"
    age(raw)
    (v1,) = add(ctx, ["data/raw"])
    (raw / "f0.csv").unlink()
    (raw / "v2-only.csv").write_text("2")
    age(raw)
    add(ctx, ["data/raw"])  # v2: the workspace's last listing is of this version
    checkout(ctx, v1)  # f0.csv placed, v2-only.csv removed, the rest left as they were
    hashed: list[str] = []
    real_hash_files = scan.hash_files

    def spy(files: list[FileStat], *args: Any, **kwargs: Any) -> scan.Hashed:
        hashed.extend(f.rel for f in files)
        return real_hash_files(files, *args, **kwargs)

    monkeypatch.setattr(scan, "hash_files", spy)
    again = DataContext.of(Project(ctx.root))  # as the next command finds the project
    assert [s.state for s in status(again, [v1])] == ["unchanged"]
    assert hashed == []
    assert not (ctx.root / ".samerun" / "data" / "statcache.db").exists()  # no hash kept twice


def test_a_corrupt_object_is_refused_naming_the_file(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    assert isinstance(ctx.objects, LocalObjectStore)
    oid = hash_bytes(b"id,value\n2,4\n")
    _flip_a_byte(ctx.objects, oid)
    shutil.rmtree(ctx.root / "data" / "raw")
    with pytest.raises(ObjectCorrupt, match=r"the content of f2\.csv"):
        checkout(ctx, ds)
    assert not (ctx.root / "data" / "raw" / "f2.csv").exists()


def test_materialize_places_trees_and_files_read_only(ctx: DataContext, tmp_path: Path) -> None:
    (ds,) = add(ctx, ["data/raw"])
    materialize(ds.pointer.oid, tmp_path / "copy", ctx.objects)
    assert _snapshot(tmp_path / "copy") == _snapshot(ctx.root / "data" / "raw")
    file_oid = hash_bytes(b"id,value\n1,1\n")
    materialize(file_oid, tmp_path / "one.csv", ctx.objects, link=False)
    assert (tmp_path / "one.csv").read_text() == "id,value\n1,1\n"
    with pytest.raises(ObjectNotFound):
        materialize(hash_bytes(b"never stored"), tmp_path / "nope", ctx.objects)


def test_a_tree_with_paths_leaving_its_root_is_rejected(ctx: DataContext, tmp_path: Path) -> None:
    blob = ctx.objects.put_bytes(b"evil")
    for bad in ("../escape", "/etc/evil", "a/../../b"):
        tree = Tree((TreeEntry(bad, blob, 4, 0o644),))
        oid = ctx.objects.put_bytes(tree.encode())
        with pytest.raises(UnsafePath, match="refusing path"):
            materialize(oid, tmp_path / "out", ctx.objects)
    assert not (tmp_path / "escape").exists()


def test_checkout_refuses_to_write_through_a_symlink_out_of_the_dataset(
    ctx: DataContext, tmp_path: Path
) -> None:
    add(ctx, ["data/raw"])
    shutil.rmtree(ctx.root / "data" / "raw" / "sub")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, ctx.root / "data" / "raw" / "sub")
    with pytest.raises(UnsafePath):
        checkout(ctx, select(ctx.root, ["data/raw"])[0])
    assert list(outside.iterdir()) == []


@pytest.mark.usefixtures("links_protected")
def test_add_links_files_and_unprotect_makes_writable_copies(ctx: DataContext) -> None:
    raw = ctx.root / "data" / "raw"
    age(raw)
    (ds,) = add(ctx, ["data/raw"])
    assert ds.linked == 6
    target = raw / "f0.csv"
    oid = hash_bytes(b"id,value\n0,0\n")
    assert os.path.samefile(target, ctx.objects.path_of(oid))
    mtime = target.stat().st_mtime_ns
    assert unprotect(ctx, ds) == 6
    assert unprotect(ctx, ds) == 0  # nothing shared any more
    assert not os.path.samefile(target, ctx.objects.path_of(oid))
    assert target.stat().st_mtime_ns == mtime
    assert [s.state for s in status(ctx, [ds])] == ["unchanged"]
    with open(target, "a") as handle:  # an in-place edit, now harmless to the store
        handle.write("3,9\n")
    assert ctx.objects.get_bytes(oid) == b"id,value\n0,0\n"
    assert status(ctx, [ds])[0].modified == ["f0.csv"]


def test_add_with_copy_leaves_the_files_alone(ctx: DataContext) -> None:
    raw = ctx.root / "data" / "raw"
    age(raw)
    (ds,) = add(ctx, ["data/raw"], link=False)
    assert ds.linked == 0
    assert (raw / "f0.csv").stat().st_mode & stat.S_IWUSR
    assert (raw / "f0.csv").stat().st_nlink == 1


@pytest.mark.usefixtures("links_protected")
def test_status_warns_when_a_linked_file_was_edited_in_place(ctx: DataContext) -> None:
    raw = ctx.root / "data" / "raw"
    age(raw)
    (ds,) = add(ctx, ["data/raw"])
    target = raw / "f1.csv"
    target.chmod(0o644)  # what root needs no chmod for
    with open(target, "r+") as handle:
        handle.write("X")
    (found,) = status(ctx, [ds])
    assert found.modified == ["f1.csv"]
    assert found.note is not None
    assert "f1.csv was edited in place while linked to the store" in found.note
