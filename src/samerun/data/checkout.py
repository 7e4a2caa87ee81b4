"""Materialize versions: reflink, else hardlink (read-only), else copy; hashes verified first.

Hard links are used only where the read-only mode protects them (not for root): a file that
shares the object's inode and can be written in place would change the stored version too.

:func:`materialize` puts one file or tree object at a new path (used by replay);
:func:`checkout` makes a dataset in the workspace match its pointer exactly, and never deletes
or overwrites a file whose content is stored nowhere unless told to.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from samerun._exceptions import ObjectCorrupt, ObjectNotFound, UsageError, WorkspaceConflict
from samerun.data.pointer import Dataset
from samerun.data.progress import NO_PROGRESS, Progress
from samerun.data.scan import hash_files
from samerun.data.statcache import Listed, StatCache
from samerun.data.tree import Tree, TreeEntry, load_tree, starts_as_tree
from samerun.data.walk import TEMP_SUFFIX, FileStat, rows_of, walk
from samerun.data.workspace import DataContext
from samerun.hashing import hash_file
from samerun.paths import inside
from samerun.store.objects import ObjectStore

#: Files placed per thread-pool task (a task per file costs more than a small file's link).
_BATCH = 64
_FICLONE = 0x40049409  # Linux ioctl: share the source's extents (btrfs, XFS, ...)
_NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF}


class Placer:
    """Puts verified objects at paths, by the cheapest method the filesystem allows.

    Objects that are local files are linked or copied from there; others are downloaded.
    """

    def __init__(self, objects: ObjectStore, *, link: bool, cache: StatCache | None) -> None:
        self.objects = objects
        self.cache = cache or StatCache()
        self.methods = ["reflink", "hardlink", "copy"] if link else ["copy"]
        if link and not objects.read_only_protects():
            self.methods.remove("hardlink")
        self.used: set[str] = set()

    def verify(self, source: Path, oid: str, shown: str) -> None:
        """Check that ``source``, the file of object ``oid``, hashes to it (stat cache first)."""
        try:
            st = source.stat()
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        if self.cache.get(st.st_ino, st.st_mtime_ns, st.st_size) == oid:
            return
        read_at = time.time_ns()
        if hash_file(source) != oid:
            raise ObjectCorrupt(oid, f"{source} (the content of {shown})")
        self.cache.put(st.st_ino, st.st_mtime_ns, st.st_size, oid, read_at_ns=read_at)

    def place(self, entry: TreeEntry, dest: str | Path, shown: str) -> None:
        """Atomically replace ``dest`` with the content of ``entry``."""
        source = self.objects.path_of(entry.oid)
        if source is not None:
            self.verify(source, entry.oid, shown)
            if self._linked_new(source, dest, entry.mode):
                return
        head, name = os.path.split(dest)
        tmp = Path(head, f".{name}{TEMP_SUFFIX}")
        tmp.unlink(missing_ok=True)
        try:
            if source is None:
                self.objects.fetch_to(entry.oid, tmp)  # hash-checked as it arrives
                os.chmod(tmp, entry.mode)
                self.used.add("download")
            else:
                self._link(source, tmp, entry.mode)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _linked_new(self, source: Path, dest: str | Path, mode: int) -> bool:
        """Whether ``source`` was hard-linked as ``dest``, where that is the method and
        ``dest`` is new: one name for the whole object, so no temp file is needed."""
        if self.methods[0] != "hardlink" or mode != 0o644:
            return False
        try:
            os.link(source, dest)
        except OSError:  # there already, or not on this filesystem: see _link
            return False
        self.used.add("hardlink")
        return True

    def _link(self, source: Path, tmp: Path, mode: int) -> None:
        for method in list(self.methods):
            if method == "hardlink" and mode != 0o644:
                continue  # a hardlink shares the object's read-only, non-executable mode
            try:
                _METHODS[method](source, tmp)
            except OSError as err:
                if method == "copy" or (method == "reflink" and err.errno not in _NO_REFLINK):
                    raise
                if method in self.methods and err.errno != errno.EEXIST:
                    self.methods.remove(method)  # not on this filesystem: don't try again
                tmp.unlink(missing_ok=True)
                continue
            if method != "hardlink":
                os.chmod(tmp, mode)
            self.used.add(method)
            return


def _reflink(source: Path, dest: Path) -> None:
    with open(source, "rb") as src, open(dest, "wb") as out:
        fcntl.ioctl(out.fileno(), _FICLONE, src.fileno())


_METHODS: dict[str, Callable[[Path, Path], Any]] = {
    "reflink": _reflink,
    "hardlink": os.link,
    "copy": shutil.copyfile,
}


def _run(tasks: Sequence[Callable[[], int]], progress: Progress = NO_PROGRESS) -> None:
    """Run ``tasks`` (each returns the bytes it wrote) on a few threads, in batches."""
    batches = [tasks[i : i + _BATCH] for i in range(0, len(tasks), _BATCH)]

    def run(batch: Sequence[Callable[[], int]]) -> tuple[int, int]:
        return len(batch), sum(task() for task in batch)

    with ThreadPoolExecutor((os.cpu_count() or 1) * 2, thread_name_prefix="samerun-place") as pool:
        try:
            for files, size in pool.map(run, batches):
                progress.advance(files, size)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _tree_of(objects: ObjectStore, oid: str, dest: Path) -> Tree | None:
    """The tree ``oid`` names, or None when it is a file object.

    An object that is no local file is downloaded to ``dest``: a file object is then in place.
    """
    source = objects.path_of(oid)
    if source is not None:
        try:
            is_tree = starts_as_tree(source)
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        return load_tree(objects, oid) if is_tree else None
    objects.fetch_to(oid, dest)
    if not starts_as_tree(dest):
        return None
    try:
        return Tree.decode(dest.read_bytes(), oid)
    finally:
        dest.unlink()


def materialize(oid: str, dest: Path, objects: ObjectStore, *, link: bool = True) -> None:
    """Put the file or tree object ``oid`` at the new path ``dest``, hashes verified.

    Files are linked where the filesystem allows (reflink, else a read-only hardlink), else
    copied. Raises ObjectNotFound / ObjectCorrupt naming the file that could not be made.
    """
    if dest.exists() or dest.is_symlink():
        raise UsageError(f"{dest} already exists; materialize into a new path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tree = _tree_of(objects, oid, dest)
    placer = Placer(objects, link=link, cache=None)
    if tree is None:
        if not dest.exists():  # a local object; a downloaded one is already in place
            placer.place(TreeEntry(dest.name, oid, 0, 0o644), dest, str(dest))
        return
    dest.mkdir()
    _place_all(placer, dest, tree.entries, oid)


def _place_all(
    placer: Placer,
    root: Path,
    entries: Sequence[TreeEntry],
    where: str,
    progress: Progress = NO_PROGRESS,
) -> None:
    checked: set[str] = set()
    base = str(root)

    def task(entry: TreeEntry) -> Callable[[], int]:
        def place() -> int:
            placer.place(entry, f"{base}/{entry.path}", entry.path)
            return entry.size

        return place

    todo = []
    for entry in entries:
        parent = entry.path.rpartition("/")[0]
        if parent not in checked:
            (root / parent).mkdir(parents=True, exist_ok=True)
            inside(root, entry.path, where)
            checked.add(parent)
        todo.append(task(entry))
    progress.expect(len(entries), sum(e.size for e in entries))
    _run(todo, progress)


@dataclass(frozen=True)
class CheckoutResult:
    dataset: str
    written: int
    removed: int
    unchanged: int
    methods: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def checkout(
    ctx: DataContext,
    ds: Dataset,
    *,
    force: bool = False,
    confirm: Callable[[list[str]], bool] = lambda _extra: False,
    link: bool = True,
    progress: Progress = NO_PROGRESS,
) -> CheckoutResult:
    """Make ``ds``'s path hold exactly the version its pointer names.

    A file whose content differs and is in no object would be lost: modified ones need
    ``force``; files that are not part of the version need ``force`` or ``confirm(paths)``.
    """
    pointer = ds.pointer
    target = ds.path
    if pointer.kind == "file":
        wanted = {"": TreeEntry(target.name, pointer.oid, pointer.size, 0o644)}
        current = _current_file(target)
    else:
        wanted = {e.path: e for e in load_tree(ctx.objects, pointer.oid).entries}
        current = _current_tree(target)
    oids = dict(zip(current, hash_files(list(current.values()), ctx.cache).oids, strict=True))
    unchanged = {p for p, oid in oids.items() if p in wanted and _same(wanted[p], oid, current[p])}
    replaced = [p for p in oids if p in wanted and p not in unchanged]
    extra = [p for p in oids if p not in wanted]
    lost = [p for p in replaced if not ctx.objects.exists(oids[p])]
    if lost and not force:
        shown = [_shown(ds, p) for p in lost]
        raise WorkspaceConflict(ds.rel, shown, "overwrite changes stored nowhere")
    untracked = [_shown(ds, p) for p in extra if not ctx.objects.exists(oids[p])]
    if untracked and not force and not confirm(untracked):
        raise WorkspaceConflict(ds.rel, untracked, "delete files that are not in this version")
    for path in extra:
        Path(current[path].path).unlink()
    if pointer.kind == "dir":
        _prune_empty(target)
        target.mkdir(parents=True, exist_ok=True)
    placer = Placer(ctx.objects, link=link, cache=ctx.cache)
    todo = [wanted[p] for p in sorted(wanted.keys() - unchanged)]
    if pointer.kind == "file":
        if todo:
            placer.place(todo[0], target, ds.rel)
    else:
        _place_all(placer, target, todo, ds.pointer_rel, progress)
    _remember(ctx.cache, ds, wanted, {p: current[p] for p in unchanged})
    ctx.cache.save()
    return CheckoutResult(ds.rel, len(todo), len(extra), len(unchanged), sorted(placer.used))


def _current_file(target: Path) -> dict[str, FileStat]:
    if target.is_dir():
        raise UsageError(f"{target} is a directory but the version is a file; move it away first")
    if not target.exists():
        return {}
    return {"": FileStat.of("", str(target), target.stat())}


def _current_tree(target: Path) -> dict[str, FileStat]:
    if target.is_file():
        raise UsageError(f"{target} is a file but the version is a directory; move it away first")
    return {f.rel: f for f in walk(target)} if target.exists() else {}


def _same(entry: TreeEntry, oid: str, f: FileStat) -> bool:
    return entry.oid == oid and entry.mode == f.mode


def _shown(ds: Dataset, rel: str) -> str:
    return f"{ds.rel}/{rel}" if rel else ds.rel


def _prune_empty(root: Path) -> None:
    """Remove every empty directory under ``root`` (a version holds no empty directories)."""
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        if Path(dirpath) != root:
            with suppress(OSError):
                os.rmdir(dirpath)


def _remember(
    cache: StatCache, ds: Dataset, wanted: dict[str, TreeEntry], unchanged: dict[str, FileStat]
) -> None:
    """Keep the listing of the dataset as checkout left it: the version its pointer names.

    ``data status`` then needs no hashing, and the files placed are in the stat cache.
    """
    now = time.time_ns()
    base = str(ds.path)
    order = sorted(wanted)
    files = []
    for rel in order:
        f = unchanged.get(rel)
        if f is None:
            path = f"{base}/{rel}" if rel else base
            f = FileStat.of(rel, path, os.stat(path))
            cache.put(f.ino, f.mtime_ns, f.size, wanted[rel].oid, read_at_ns=now)
        files.append(f)
    oids = [wanted[rel].oid for rel in order]
    pointer = ds.pointer
    listed = Listed(pointer.oid, pointer.size, pointer.files)
    cache.remember_listing(ds.path, files, listed, oids, walked_at_ns=now)


def unprotect(ctx: DataContext, ds: Dataset, progress: Progress = NO_PROGRESS) -> int:
    """Make the dataset's files writable copies of their own; returns how many were replaced.

    Files that ``add`` or ``checkout`` linked to the store (or left read-only) are copied,
    keeping their timestamps, and renamed over; editing them can then never touch the store.
    """
    if not ds.path.exists():
        raise UsageError(f"{ds.rel} is missing; `samerun data checkout --copy` writes it")
    files = rows_of(ds.path) or []
    shared = [f for f in files if _shared(f)]
    progress.expect(len(shared), sum(f.size for f in shared))
    _run([partial(_writable_copy, ctx.cache, f) for f in shared], progress)
    ctx.cache.save()
    return len(shared)


def _shared(f: FileStat) -> bool:
    st = os.stat(f.path)
    return st.st_nlink > 1 or not st.st_mode & stat.S_IWUSR


def _writable_copy(cache: StatCache, f: FileStat) -> int:
    oid = cache.get(f.ino, f.mtime_ns, f.size)
    path = Path(f.path)
    tmp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    try:
        shutil.copy2(path, tmp)
        os.chmod(tmp, f.mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    st = path.stat()
    if oid is not None and st.st_size == f.size:
        cache.put(st.st_ino, st.st_mtime_ns, st.st_size, oid, read_at_ns=time.time_ns())
    return f.size
