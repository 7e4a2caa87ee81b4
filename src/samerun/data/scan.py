"""Hash a file or directory on all cores, reusing the stat cache, optionally storing it.

Small files are read once: the bytes that are hashed are the bytes that are stored. Large files
are streamed in chunks (never held whole in memory) through blake3's multithreaded hasher, then
put in the store from the same descriptor (copied by the kernel). Where it is safe, a file is
instead linked in as its own object (:class:`samerun.data.parallel.Storer`). A file whose
inode, mtime or size moves while it is read raises :class:`FileChanged`; it is never recorded
with a wrong hash.

``data status`` with nothing changed only walks: hashing, trees and stores are imported when
first needed, to keep its start-up short.
"""

from __future__ import annotations

import gc
import os
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from samerun._exceptions import FileChanged
from samerun.data.progress import NO_PROGRESS, Progress
from samerun.data.statcache import Listed, Listing, StatCache
from samerun.data.walk import (
    PARALLEL_FILES,
    Difference,
    FileStat,
    Row,
    difference,
    stat_path,
    walk,
    walk_changes,
)
from samerun.hashing import hash_bytes

if TYPE_CHECKING:
    from samerun.data.tree import Tree
    from samerun.store.objects import ObjectStore


class Snapshot(NamedTuple):
    """What a path holds right now: a file object, or a directory's tree."""

    kind: str  # "file" or "dir"
    oid: str
    size: int
    files: int
    tree: Tree | None = None
    linked: int = 0  # files that became their own object by hard link (``data add``)


class Hashed(NamedTuple):
    oids: list[str]
    linked: int


def hash_files(
    files: list[FileStat],
    cache: StatCache,
    store: ObjectStore | None = None,
    *,
    listed: Listing | None = None,
    link: bool = False,
    progress: Progress = NO_PROGRESS,
) -> Hashed:
    """The oid of every file (in order), from the cache where it is fresh, hashed otherwise.

    ``listed`` is the last listing of the files' dataset: they are looked up there too.

    With ``store``, every file's object is also made present in it (with ``link``, by hard
    links where that is safe: see :class:`samerun.data.parallel.Storer`). Files are hashed in
    batches, on threads or worker processes (:func:`samerun.data.parallel.hashed_batches`).
    """
    oids = cache.get_many([(f.ino, f.mtime_ns, f.size) for f in files], listed)
    todo = [
        i
        for i, oid in enumerate(oids)
        if oid is None or (store is not None and not store.exists(oid))
    ]

    linked = 0
    if todo:
        from samerun.data.parallel import Storer, hashed_batches  # start-up: status hashes none

        size = sum(files[i].size for i in todo)
        progress.expect(len(todo), size)
        storer = Storer(store, link=link)
        with closing(hashed_batches(files, todo, storer)) as batches:
            for batch in batches:
                for i, oid in zip(batch.indexes, batch.oids, strict=True):
                    oids[i] = oid
                if batch.changed is not None:
                    raise FileChanged(files[batch.changed].path)
                cache.learn(batch.learnt)
                linked += batch.linked
                progress.advance(len(batch.indexes), batch.size)
    return Hashed([oid for oid in oids if oid is not None], linked)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a tree's (acyclic) tuples are made.

    A listing is hundreds of thousands of tuples; each batch of new objects would make the
    collector rescan all the others (measured: 10-25% of a 200,000-file status).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def snapshot(
    path: Path,
    cache: StatCache,
    *,
    store: ObjectStore | None = None,
    link: bool = False,
    progress: Progress = NO_PROGRESS,
) -> Snapshot:
    """Hash what ``path`` holds now (storing it with ``store``): a file, or a tree of files."""
    if path.is_file():
        walked_at = time.time_ns()
        f = stat_path(path)
        last = cache.listing(path)
        (oid,), linked = hash_files([f], cache, store, listed=last, link=link, progress=progress)
        cache.remember_listing(path, [f], Listed(oid, f.size, 1), [oid], walked_at_ns=walked_at)
        return Snapshot("file", oid, f.size, 1, linked=linked)
    with _gc_paused():
        return _snapshot_tree(path, cache, store, link, progress)


def store_tree(root: Path, objects: ObjectStore) -> tuple[str, Tree]:
    """Store every file under ``root`` and the tree naming them: the tree's object id, and it."""
    snap = snapshot(root, StatCache(), store=objects)
    assert snap.tree is not None
    return snap.oid, snap.tree


def _snapshot_tree(
    path: Path, cache: StatCache, store: ObjectStore | None, link: bool, progress: Progress
) -> Snapshot:
    from samerun.data.tree import Tree, TreeEntry  # start-up: an unchanged status builds none

    walked_at = time.time_ns()
    files = walk(path)
    last = cache.listing(path)
    oids, linked = hash_files(files, cache, store, listed=last, link=link, progress=progress)
    tree = Tree(
        tuple(TreeEntry(f.rel, oid, f.size, f.mode) for f, oid in zip(files, oids, strict=True))
    )
    data = tree.encode()
    oid = store.put_bytes(data) if store is not None else hash_bytes(data)
    snap = Snapshot("dir", oid, tree.size, len(tree.entries), tree, linked)
    listed = Listed(oid, snap.size, snap.files)
    cache.remember_listing(path, files, listed, oids, walked_at_ns=walked_at)
    return snap


class Changes(NamedTuple):
    """How a dataset differs from a version of it (a file dataset's one path is ``""``)."""

    added: list[str]
    modified: dict[str, str]  # each modified file's path, with its oid in the version
    deleted: list[str]

    @classmethod
    def between(cls, version: Tree, now: Tree) -> Changes:
        before = {e.path: e for e in version.entries}
        after = {e.path: e for e in now.entries}
        return cls(
            sorted(after.keys() - before.keys()),
            {
                p: before[p].oid
                for p in sorted(after.keys() & before.keys())
                if after[p] != before[p]
            },
            sorted(before.keys() - after.keys()),
        )


def changes_since(path: Path, cache: StatCache, oid: str) -> Changes | None:
    """How ``path`` differs from its version ``oid``, known from its last listing.

    A directory lists its files; a file lists itself, as the one path ``""``. None when
    ``path`` is neither or its last listing is not of that version. Only files whose row
    (inode, mtime, size, mode) is not the listed one are hashed, so the cost is one ``stat``
    per file plus the change. A listing found to hold the same content again is kept as the
    new one.
    """
    with _gc_paused():
        listing = cache.listing(path)
        if listing is None or listing.tree.oid != oid:
            return None
        walked_at = time.time_ns()
        diff: Difference | None
        if path.is_dir():
            big = len(listing.files) >= PARALLEL_FILES
            cores = (os.cpu_count() or 1) if big else 1
            diff = walk_changes(path, listing.files, processes=cores)
        elif path.is_file():
            diff = difference([stat_path(path)], listing.files)
        else:
            return None
        if diff is None:  # exactly as listed
            return Changes([], {}, [])
        oids = hash_files(diff.moved, cache, listed=listing).oids
    rows = listing.files
    at = {f.rel: _position(rows, f.rel) for f in diff.moved}
    modified = {}
    for f, now in zip(diff.moved, oids, strict=True):
        i = at[f.rel]
        if i is not None and (now != listing.oid_at(i) or f.mode != rows[i][5]):
            modified[f.rel] = listing.oid_at(i)
    changes = Changes([rel for rel, i in at.items() if i is None], modified, diff.gone)
    if not any(changes):  # touched, renamed over or rewritten with the same bytes
        files = [FileStat._make(row) for row in rows]
        for f in diff.moved:
            i = at[f.rel]
            assert i is not None  # nothing was added
            files[i] = f
        known = [listing.oid_at(i) for i in range(len(rows))]
        cache.remember_listing(path, files, listing.tree, known, walked_at_ns=walked_at)
    return changes


def _position(rows: Sequence[Row], rel: str) -> int | None:
    """Where ``rel`` is in ``rows`` (sorted by path), if it is there."""
    i = bisect_left(rows, rel, key=itemgetter(0))
    return i if i < len(rows) and rows[i][0] == rel else None
