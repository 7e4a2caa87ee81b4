from __future__ import annotations

from pathlib import Path

from samerun.data.gc import fsck, gc
from samerun.data.workspace import DataContext, add
from samerun.store.objects import LocalObjectStore
from samerun.store.project import Project, open_store
from tests.conftest import git


def test_gc_keeps_what_pointers_in_any_commit_and_runs_name(ctx: DataContext) -> None:
    root = ctx.root
    (v1,) = add(ctx, ["data/raw"])
    git(root, "add", "data")
    git(root, "commit", "-q", "-m", "v1")
    (root / "data" / "raw" / "f0.csv").write_text("v2")
    add(ctx, ["data/raw"])
    orphan = ctx.objects.put_bytes(b"nobody names me")
    store = open_store(Project(root))
    try:
        assert gc(store, grace_s=3600).removed == 0  # too young to go
        result = gc(store, grace_s=0)
    finally:
        store.close()
    assert result.removed == 1
    assert not ctx.objects.exists(orphan)
    assert ctx.objects.exists(v1.pointer.oid)  # only the commit still names v1
    assert ctx.objects.exists(ctx.objects.put_bytes(b"id,value\n0,0\n"))


def test_fsck_finds_and_sets_aside_a_flipped_byte(ctx: DataContext) -> None:
    add(ctx, ["data/raw"])
    objects = ctx.objects
    assert isinstance(objects, LocalObjectStore)
    victim = sorted(objects.iter_oids())[0]
    path = objects.path_of(victim)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    store = open_store(Project(ctx.root))
    try:
        found = fsck(store)
        assert found.corrupt == [str(path)]
        fsck(store, repair=True)
        assert fsck(store).corrupt == []
    finally:
        store.close()
    assert not objects.exists(victim)
    assert Path(objects.root / ".corrupt" / victim.partition(":")[2]).exists()
