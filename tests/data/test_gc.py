from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from samerun.data.gc import STALE_TEMP_S, fsck, gc
from samerun.data.workspace import DataContext, add
from samerun.hashing import hash_bytes
from samerun.store.objects import LocalObjectStore
from samerun.store.project import Project, open_store
from tests.conftest import Cli, git


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
    assert (ctx.root / ".samerun" / "corrupt" / victim.partition(":")[2]).exists()


def _killed_while_writing(objects: LocalObjectStore, data: bytes) -> None:
    """A process that puts ``data`` and is killed (SIGKILL) once its bytes are written, before
    they are linked or renamed into place."""
    pid = os.fork()
    if pid == 0:  # the child: killed below, never returns
        try:
            os.link = os.replace = lambda *_args, **_kwargs: os.kill(os.getpid(), signal.SIGKILL)
            objects.put_bytes(data)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL


@pytest.mark.parametrize("tmpfile", [True, False], ids=["unnamed-file", "temp-and-rename"])
def test_gc_removes_what_a_killed_write_left_once_it_is_stale(
    ctx: DataContext, monkeypatch: pytest.MonkeyPatch, tmpfile: bool
) -> None:
    (added,) = add(ctx, ["data/raw"])
    if not tmpfile:  # filesystems and platforms without O_TMPFILE
        monkeypatch.setattr("samerun.store.objects._O_TMPFILE", 0)
    root = Path(ctx.objects.url)
    _killed_while_writing(LocalObjectStore(root), b"never finished")
    incoming = root / ".incoming"
    left = list(incoming.iterdir()) if incoming.is_dir() else []
    assert len(left) == (0 if tmpfile else 1)  # an unnamed file goes with its process
    assert not ctx.objects.exists(hash_bytes(b"never finished"))
    kept = sorted(ctx.objects.iter_oids())
    store = open_store(Project(ctx.root))
    try:
        gc(store, grace_s=0)  # what a concurrent write is writing now stays
        assert all(p.exists() for p in left)
        stale = time.time() - STALE_TEMP_S - 60
        for leftover in left:
            os.utime(leftover, (stale, stale))
        gc(store, grace_s=0)
    finally:
        store.close()
    assert not any(p.exists() for p in left)
    assert sorted(ctx.objects.iter_oids()) == kept  # the dataset's objects all stay
    assert ctx.objects.exists(added.pointer.oid)


def test_gc_keeps_what_a_model_version_uses(
    project: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from samerun.data import gc as module
    from samerun.registry import Registry

    assert cli("record", "-o", "model.pkl", "--", "python", "train.py").exit_code == 0
    store = open_store(Project(project))
    try:
        (oid,) = [f.oid for f in Registry(store).register("churn", "last").files]
        monkeypatch.setattr(module, "_run_oids", lambda _store: set())  # only the model names it
        gc(store, grace_s=0)
        assert store.objects.exists(oid)
    finally:
        store.close()
