"""Data remotes: named object stores (a local/NFS path, any fsspec URL, ``s3://`` included, or
a team server's project).

They are listed in ``.samerun/remotes.yaml``, which git shares with every clone, and in
``.samerun/remotes.local.yaml`` for this clone only (credentials, private mounts). Push and
pull list what the other side holds once, then transfer only the missing objects, in
parallel; every object lands atomically (:mod:`samerun.store.objects`), so an interrupted
transfer resumes where it stopped.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from samerun._atomic import atomic_write
from samerun._exceptions import ObjectCorrupt, ObjectNotFound, RemoteError
from samerun.data.parallel import INLINE_MAX
from samerun.data.pointer import Dataset
from samerun.data.progress import NO_PROGRESS, Progress
from samerun.data.tree import load_tree
from samerun.data.workspace import DataContext
from samerun.store.objects import ObjectStore, open_object_store
from samerun.store.project import Project

#: The project's shared remotes, committed to git (``.samerun/.gitignore`` lets it through).
REMOTES_FILE = "remotes.yaml"
#: This clone's own remotes (private paths, URLs with credentials), never committed.
LOCAL_REMOTES_FILE = "remotes.local.yaml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A remote at one of these is a team server's project (``https://HOST/projects/NAME``):
#: objects go through its API (:class:`samerun.sync.ServerObjects`), not a filesystem.
SERVER_SCHEMES = ("http://", "https://")
#: Parallel transfers; remotes are latency-bound, so many more than there are cores.
JOBS = 16


@dataclass(frozen=True)
class Remotes:
    urls: dict[str, str]
    default: str | None
    local: frozenset[str] = frozenset()  # names defined in this clone only

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "remotes": dict(sorted(self.urls.items())),
            "local": sorted(self.local),
        }


def _file(project: Project, *, local: bool) -> Path:
    return project.store_dir / (LOCAL_REMOTES_FILE if local else REMOTES_FILE)


def _read(path: Path) -> Remotes:
    if not path.exists():
        return Remotes({}, None)
    try:
        document = yaml.safe_load(path.read_text()) or {}
        urls = {str(k): str(v) for k, v in (document.get("remotes") or {}).items()}
        default = document.get("default")
    except (yaml.YAMLError, AttributeError):
        raise RemoteError(f"{path} is not a valid remotes file; fix or delete it") from None
    return Remotes(urls, str(default) if default in urls else None)


def load_remotes(project: Project) -> Remotes:
    """The project's remotes, this clone's own ones overriding the shared ones."""
    shared = _read(_file(project, local=False))
    mine = _read(_file(project, local=True))
    return Remotes(
        {**shared.urls, **mine.urls}, mine.default or shared.default, frozenset(mine.urls)
    )


def _save(project: Project, remotes: Remotes, *, local: bool) -> None:
    project.init()
    document = {"default": remotes.default, "remotes": dict(sorted(remotes.urls.items()))}
    atomic_write(_file(project, local=local), yaml.safe_dump(document, sort_keys=True).encode())


def add_remote(
    project: Project, name: str, url: str, *, default: bool = False, local: bool = False
) -> Remotes:
    """Add (or re-point) remote ``name``; the first remote becomes the default.

    Shared remotes go to ``.samerun/remotes.yaml`` for git; ``local`` ones stay in this
    clone. A URL holding credentials is never written where git would share it.
    """
    from samerun.capture.code import strip_url_credentials  # start-up: push, pull spawn no git

    if not _NAME.match(name):
        raise RemoteError(f"remote name {name!r}: use letters, digits, '.', '_' and '-'")
    if not local and strip_url_credentials(url) != url:
        raise RemoteError(
            f"remote {name!r}: the URL holds credentials; add it with --local (kept out of "
            "git), or configure them where the store looks (AWS_PROFILE, ~/.aws, ...)"
        )
    if url.startswith(SERVER_SCHEMES):
        from samerun.sync import server_address  # start-up: httpx, for servers only

        server_address(url)  # a team server's project URL, or one sentence saying what is
    current = _read(_file(project, local=local))
    urls = {**current.urls, name: url}
    chosen = name if default or load_remotes(project).default is None else current.default
    _save(project, Remotes(urls, chosen), local=local)
    return load_remotes(project)


def remove_remote(project: Project, name: str) -> Remotes:
    """Forget remote ``name`` wherever it is defined (shared and this clone's)."""
    if name not in load_remotes(project).urls:
        raise RemoteError(f"no remote named {name!r}; see `samerun remote list`")
    for local in (False, True):
        current = _read(_file(project, local=local))
        if name in current.urls:
            urls = {k: v for k, v in current.urls.items() if k != name}
            default = current.default if current.default != name else None
            _save(project, Remotes(urls, default), local=local)
    return load_remotes(project)


def open_remote(project: Project, name: str | None) -> ObjectStore:
    remotes = load_remotes(project)
    chosen = name or remotes.default
    if chosen is None:
        raise RemoteError("no remote configured; add one with `samerun remote add NAME URL`")
    if chosen not in remotes.urls:
        raise RemoteError(f"no remote named {chosen!r}; see `samerun remote list`")
    url = remotes.urls[chosen]
    if url.startswith(SERVER_SCHEMES):
        from samerun.sync import ServerObjects, open_server  # start-up: httpx, for servers only

        return ServerObjects(*open_server(url))
    if "://" not in url and not Path(url).is_absolute():
        url = str(project.root / url)
    try:
        return open_object_store(url)
    except (ImportError, ValueError) as err:
        raise RemoteError(f"remote {chosen!r} ({url}) cannot be opened: {err}") from None


def server_url(project: Project, name: str) -> str:
    """The URL of remote ``name``, a team server's project (else one sentence saying so)."""
    url = load_remotes(project).urls.get(name)
    if url is None:
        raise RemoteError(f"no remote named {name!r}; see `samerun remote list`")
    if not url.startswith(SERVER_SCHEMES):
        raise RemoteError(
            f"remote {name!r} ({url}) is not a team server; runs come from a server's project "
            "(`samerun remote add NAME https://HOST --project NAME`)"
        )
    return url


@dataclass(frozen=True)
class Transfer:
    """What a push or pull did: objects sent, objects the other side already had."""

    transferred: int
    present: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _file_of(objects: ObjectStore, oid: str) -> Path:
    path = objects.path_of(oid)
    if path is None:
        raise RemoteError("push needs the project's object store on a local filesystem")
    return path


def _parallel(
    jobs: int,
    work: Callable[[str], int],
    oids: list[str],
    sizes: Mapping[str, int],
    progress: Progress,
) -> int:
    """Run ``work`` (which returns the bytes it moved) on every object, ``jobs`` at a time.

    Progress counts the ``sizes`` known beforehand (file objects; trees count as files only).
    """
    progress.expect(len(oids), sum(sizes.get(oid, 0) for oid in oids))
    moved = 0
    with ThreadPoolExecutor(jobs, thread_name_prefix="samerun-transfer") as pool:
        try:
            for oid, size in zip(oids, pool.map(work, oids), strict=True):
                moved += size
                progress.advance(1, sizes.get(oid, 0))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return moved


def _needed(objects: ObjectStore, datasets: list[Dataset]) -> tuple[dict[str, int], list[str]]:
    """(file objects with their sizes, tree objects) the versions name; trees must be here."""
    files: dict[str, int] = {}
    trees: dict[str, None] = {}
    for ds in datasets:
        if ds.pointer.kind == "file":
            files[ds.pointer.oid] = ds.pointer.size
            continue
        trees[ds.pointer.oid] = None
        files.update((e.oid, e.size) for e in load_tree(objects, ds.pointer.oid).entries)
    return files, list(trees)


def push(
    ctx: DataContext,
    remote: ObjectStore,
    datasets: list[Dataset],
    *,
    jobs: int = JOBS,
    progress: Progress = NO_PROGRESS,
) -> Transfer:
    """Send the objects of ``datasets`` the remote lacks: files first, then their trees.

    Object names of the project's store are trusted (each object was hashed as it was
    stored, and ``fsck`` re-checks them), so nothing is hashed again; sizes are checked, and
    whoever pulls the objects checks their hashes.
    """
    files, trees = _needed(ctx.objects, datasets)
    there = set(remote.iter_oids())

    def send(oid: str) -> int:
        path = _file_of(ctx.objects, oid)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        if files.get(oid, size) != size:
            raise ObjectCorrupt(oid, str(path))
        remote.put_file(path, oid)
        return size

    missing = [[oid for oid in group if oid not in there] for group in (list(files), trees)]
    sent = sum(_parallel(jobs, send, group, files, progress) for group in missing)
    count = sum(len(group) for group in missing)
    return Transfer(count, len(files) + len(trees) - count, sent)


def pull(
    ctx: DataContext,
    remote: ObjectStore,
    datasets: list[Dataset],
    *,
    jobs: int = JOBS,
    progress: Progress = NO_PROGRESS,
) -> Transfer:
    """Fetch the objects of ``datasets`` this store lacks (trees first), each hash-checked.

    Trees and small files are read whole (once); a large file is downloaded into the system's
    temp directory, then moved into the store (a hard link where the two share a filesystem,
    else a copy).
    """
    local = ctx.objects
    sizes: dict[str, int] = {}  # of file objects, known once the trees are here

    def fetch(oid: str) -> int:
        if sizes.get(oid, 0) <= INLINE_MAX:
            data = remote.get_bytes(oid)
            local.put_bytes(data, oid)
            return len(data)
        with tempfile.TemporaryDirectory(prefix="samerun-pull-") as scratch:
            download = Path(scratch, "object")
            remote.fetch_to(oid, download)
            return local.put_file(download, oid, link=True).size  # then deleted: safe to link

    trees = list(dict.fromkeys(ds.pointer.oid for ds in datasets if ds.pointer.kind == "dir"))
    missing_trees = [oid for oid in trees if not local.exists(oid)]
    got = _parallel(jobs, fetch, missing_trees, sizes, progress)
    sizes.update(_needed(local, datasets)[0])
    missing = [oid for oid in sizes if not local.exists(oid)]
    got += _parallel(jobs, fetch, missing, sizes, progress)
    count = len(missing_trees) + len(missing)
    return Transfer(count, len(sizes) + len(trees) - count, got)
