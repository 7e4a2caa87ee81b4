from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from samerun._exceptions import RemoteError
from samerun.data.checkout import checkout
from samerun.data.parallel import INLINE_MAX
from samerun.data.remote import add_remote, load_remotes, open_remote, pull, push, remove_remote
from samerun.data.workspace import DataContext, add
from samerun.hashing import hash_bytes
from samerun.store.objects import LocalObjectStore, ObjectStore, Stored, open_object_store
from samerun.store.project import Project
from tests.conftest import git
from tests.data.conftest import Recorded


class _FailsAfter:
    """A remote that breaks after ``count`` uploads, as a dropped connection would."""

    def __init__(self, inner: ObjectStore, count: int) -> None:
        self.inner = inner
        self.url = inner.url
        self.left = count

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def put_file(self, path: Path, oid: str | None = None) -> Stored:
        if self.left <= 0:
            raise ConnectionError("connection reset")
        self.left -= 1
        return self.inner.put_file(path, oid)


def _fresh_clone(ctx: DataContext, tmp_path: Path) -> DataContext:
    """The same project with an empty store and no data: what a colleague's clone has."""
    shutil.rmtree(ctx.root / "data" / "raw")
    objects = LocalObjectStore(tmp_path / "other-store")
    return DataContext(ctx.root, objects, ctx.cache)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_push_then_pull_brings_the_data_back(
    kind: str, ctx: DataContext, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "remote") if kind == "local" else request.getfixturevalue("s3_url")
    project = Project(ctx.root)
    add_remote(project, "origin", url)
    datasets = add(ctx, ["data/raw"])
    before = {p.name: p.read_bytes() for p in (ctx.root / "data" / "raw").rglob("*.csv")}
    remote = open_remote(project, None)
    pushed, pulled = Recorded(), Recorded()
    sent = push(ctx, remote, datasets, progress=pushed)
    assert (sent.transferred, sent.present) == (7, 0)  # 6 files and one tree
    data_bytes = sum(len(data) for data in before.values()) + 256 * 40  # + sub/blob.bin
    assert pushed.totals() == ((7, data_bytes), (7, data_bytes))  # trees count as files only
    assert push(ctx, remote, datasets).transferred == 0
    clone = _fresh_clone(ctx, tmp_path)
    got = pull(clone, remote, datasets, progress=pulled)
    assert (got.transferred, got.present) == (7, 0)
    assert pulled.totals() == pushed.totals()
    checkout(clone, datasets[0])
    after = {p.name: p.read_bytes() for p in (ctx.root / "data" / "raw").rglob("*.csv")}
    assert after == before


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_large_file_is_pulled_through_a_download(
    kind: str, ctx: DataContext, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    big = ctx.root / "data" / "raw" / "big.bin"
    big.write_bytes(os.urandom(INLINE_MAX + 1))  # not read whole: downloaded, then moved in
    url = str(tmp_path / "remote") if kind == "local" else request.getfixturevalue("s3_url")
    datasets = add(ctx, ["data/raw"])
    remote = open_object_store(url)
    push(ctx, remote, datasets)
    data = big.read_bytes()
    clone = _fresh_clone(ctx, tmp_path)
    assert pull(clone, remote, datasets).transferred == 8
    assert clone.objects.get_bytes(hash_bytes(data)) == data
    assert clone.objects.remove_stale_temps(0) == 0


def test_an_interrupted_push_to_s3_resumes_with_what_is_missing(
    ctx: DataContext, s3_url: str
) -> None:
    datasets = add(ctx, ["data/raw"])
    store = open_object_store(s3_url)
    with pytest.raises(ConnectionError):
        push(ctx, _FailsAfter(store, 3), datasets, jobs=1)  # type: ignore[arg-type]
    assert len(set(store.iter_oids())) == 3
    resumed = push(ctx, store, datasets)
    assert (resumed.transferred, resumed.present) == (4, 3)
    assert len(set(store.iter_oids())) == 7


def test_remotes_are_named_with_a_default(project: Path) -> None:
    p = Project(project)
    add_remote(p, "origin", "/mnt/a")
    add_remote(p, "backup", "s3://b/x")
    assert load_remotes(p).default == "origin"
    add_remote(p, "backup", "s3://b/y", default=True)
    assert load_remotes(p).to_dict() == {
        "default": "backup",
        "remotes": {"backup": "s3://b/y", "origin": "/mnt/a"},
        "local": [],
    }
    remove_remote(p, "backup")
    with pytest.raises(RemoteError, match="no remote configured"):
        open_remote(p, None)
    with pytest.raises(RemoteError, match="no remote named 'nope'"):
        open_remote(p, "nope")
    with pytest.raises(RemoteError, match="remote name"):
        add_remote(p, "../bad", "/x")


def test_shared_remotes_go_through_git_and_local_ones_stay(project: Path, tmp_path: Path) -> None:
    p = Project(project)
    add_remote(p, "origin", "s3://team/datasets")
    with pytest.raises(RemoteError, match="holds credentials; add it with --local"):
        add_remote(p, "mine", "sftp://me:secret@host/data")
    assert "secret" not in (p.store_dir / "remotes.yaml").read_text()
    add_remote(p, "mine", "sftp://me:secret@host/data", local=True, default=True)
    add_remote(p, "origin", "/mnt/mirror", local=True)
    remotes = load_remotes(p)
    assert remotes.default == "mine"
    assert remotes.urls["origin"] == "/mnt/mirror"  # this clone's own wins
    assert remotes.local == {"mine", "origin"}
    untracked = git(project, "status", "--porcelain", "-uall")
    assert "?? .samerun/remotes.yaml" in untracked
    assert "remotes.local.yaml" not in untracked
    assert "meta.db" not in untracked
    # A clone gets the committed file only: its remotes are there before `samerun init`.
    clone = tmp_path / "clone"
    (clone / ".samerun").mkdir(parents=True)
    shutil.copy(p.store_dir / "remotes.yaml", clone / ".samerun" / "remotes.yaml")
    cloned = Project(clone)
    assert not cloned.exists
    assert load_remotes(cloned).to_dict() == {
        "default": "origin",
        "remotes": {"origin": "s3://team/datasets"},
        "local": [],
    }
    remove_remote(p, "origin")  # from both files
    assert "origin" not in load_remotes(p).urls


def test_pulled_objects_are_hash_checked(ctx: DataContext, tmp_path: Path) -> None:
    datasets = add(ctx, ["data/raw"])
    remote = LocalObjectStore(tmp_path / "remote")
    push(ctx, remote, datasets)
    victim = next(iter(remote.iter_oids()))
    path = remote.path_of(victim)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    clone = _fresh_clone(ctx, tmp_path)
    with pytest.raises(Exception, match="corrupt"):
        pull(clone, remote, datasets)
    assert not clone.objects.exists(victim)
    assert clone.objects.remove_stale_temps(0) == 0  # no temp left


def test_a_server_remote_names_its_project(project: Path) -> None:
    p = Project(project)
    add_remote(p, "team", "https://samerun.example.com/projects/vision")
    assert load_remotes(p).urls["team"] == "https://samerun.example.com/projects/vision"
    with pytest.raises(RemoteError, match="is not a team server's project"):
        add_remote(p, "bare", "https://samerun.example.com")
    assert "bare" not in load_remotes(p).urls
