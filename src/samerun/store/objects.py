"""Content-addressed object store: bytes named by their blake3 hash, never overwritten.

Opened by URL: a plain path (or ``file://``) gives :class:`LocalObjectStore`; any other fsspec URL
(``s3://bucket/prefix``, ``memory://x``) gives :class:`FsspecObjectStore`. Callers hold an
:class:`ObjectStore` and never ask which: what a store can do is asked of the store.

- **Writing** is :meth:`~ObjectStore.put_bytes` or :meth:`~ObjectStore.put_file`, nothing else.
  ``put_file`` copies a file in, by the kernel where it can, or with ``link`` makes the file
  itself the object (a hard link, made read-only: no byte is written); a caller that holds the
  file open and has hashed it passes it as :class:`Held`, and nothing is read twice.
- **Capabilities**: :meth:`~ObjectStore.path_of` names an object's file where objects are local
  files (None elsewhere); :meth:`~ObjectStore.read_only_protects` says whether files may be
  hard-linked into and out of the store (False for remote stores, and for root).
- **One temp location** (local store): an object is written to an unnamed file (``O_TMPFILE``,
  Linux) in its own directory and linked in whole; elsewhere to a temp file in ``.incoming/``,
  renamed into place. No partial object is ever visible under its name, and a write killed
  midway leaves at most a file in ``.incoming/``, which ``samerun gc`` removes once it is old
  (:meth:`~ObjectStore.remove_stale_temps`).
- **One durability policy**: no object is fsync'ed. A flush per object costs a disk round trip
  (measured 330 µs against 11 µs for writing a 512-byte file: a minute of ``data add`` for
  200,000 files), and an object, unlike a record, can be checked: a power loss can leave one
  truncated under its name, and every read (``get_bytes``, ``fetch_to``, checkout) checks its
  hash, as ``fsck`` does. Being killed loses nothing: what was written is in the page cache.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from samerun._exceptions import FileChanged, ObjectCorrupt, ObjectNotFound, StoreError
from samerun.hashing import hash_bytes, hash_fd, hash_file, split_oid, tag

#: Unnamed files linked in whole (Linux); the errors of filesystems without them.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}
#: What a filesystem (or a file) answers when it cannot be hard-linked into the store.
_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.EACCES})
_COPY_CHUNK = 1 << 20  # where the kernel cannot copy: read and written this much at a time


class Held(NamedTuple):
    """A file its caller holds open as ``fd`` and has hashed, with the stat it had then."""

    fd: int
    ino: int
    mtime_ns: int
    size: int
    recent: bool  # written too recently for its mtime to vouch for it: hash what is stored

    def unchanged(self, st: os.stat_result) -> bool:
        """Whether ``st``, the file's stat now, still has the inode, mtime and size hashed."""
        return (st.st_ino, st.st_mtime_ns, st.st_size) == (self.ino, self.mtime_ns, self.size)


class Stored(NamedTuple):
    """What :meth:`ObjectStore.put_file` stored: the object's id and size."""

    oid: str
    size: int

    @property
    def linked(self) -> bool:
        """Whether the file became the object itself, by hard link (nothing was copied)."""
        return False


class Linked(Stored):
    """A file put by making it the object itself: a hard link, the file now read-only."""

    __slots__ = ()

    @property
    def linked(self) -> bool:
        return True


class ObjectStore(Protocol):
    """What every object store offers; callers never learn where the bytes live."""

    url: str

    def exists(self, oid: str) -> bool: ...

    def put_bytes(self, data: bytes, oid: str | None = None) -> str:
        """Store ``data``; returns its object id. ``oid`` is the caller's hash of it."""

    def put_file(
        self,
        path: str | os.PathLike[str],
        oid: str | None = None,
        *,
        link: bool = False,
        held: Held | None = None,
    ) -> Stored:
        """Store the file at ``path``.

        ``oid`` is what the caller hashed it to (it is not hashed again); without it, the
        store hashes the file, and hashes what it stored again (the file may be changing).
        ``held`` is the file as the caller holds it open: that descriptor's bytes are stored,
        and :class:`FileChanged` is raised, nothing stored, when its inode, mtime or size
        moved since it was hashed, or when it is ``recent`` and what was stored does not hash
        to ``oid``. With ``link`` the file may become the object itself (:class:`Linked`):
        ask it only where :meth:`read_only_protects`, or of a file about to be deleted.
        """

    def get_bytes(self, oid: str) -> bytes: ...

    def fetch_to(self, oid: str, dest: Path) -> None: ...

    def iter_oids(self) -> Iterator[str]: ...

    def remove(self, oid: str) -> None: ...

    def path_of(self, oid: str) -> Path | None:
        """The file that holds (or would hold) ``oid``; None where objects are not local files."""

    def read_only_protects(self) -> bool:
        """Whether files may be hard-linked into and out of this store (``put_file(link=True)``,
        checkout): only where objects are local files that their read-only mode protects."""

    def remove_stale_temps(self, older_than_s: float) -> int:
        """Remove what writes interrupted at least ``older_than_s`` ago left; how many."""


def open_object_store(url: str) -> ObjectStore:
    """Open the object store at ``url`` (a path, ``file://`` URL or any fsspec URL)."""
    if url.startswith("file://"):
        url = url[len("file://") :]
    if "://" not in url:
        return LocalObjectStore(Path(url))
    return FsspecObjectStore(url)


def _oid_of_key(prefix: str, rest: str) -> str | None:
    """The object id a stored ``ab/cdef…`` key names, or None for anything else."""
    candidate = tag(prefix + rest)
    try:
        split_oid(candidate)
    except ValueError:
        return None
    return candidate


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_fd(source: int, dest: int, size: int) -> None:
    """Copy the first ``size`` bytes of ``source`` to ``dest``.

    ``copy_file_range`` moves the pages without a pass through Python (measured 2.7x faster
    than writing a large file's hashed chunks out); elsewhere they are read and written.
    """
    offset = 0
    kernel = hasattr(os, "copy_file_range")
    while offset < size:
        if kernel:
            try:
                copied = os.copy_file_range(source, dest, size - offset, offset, offset)
            except OSError:  # not between these filesystems
                kernel = False
                continue
        else:
            chunk = os.pread(source, min(size - offset, _COPY_CHUNK), offset)
            copied, written = len(chunk), 0
            while written < copied:
                written += os.pwrite(dest, chunk[written:], offset + written)
        if copied == 0:
            return  # the file shrank: the caller's check of its stat sees it
        offset += copied


def _relative_key(oid: str) -> str:
    try:
        _, digest = split_oid(oid)
    except ValueError as err:
        raise StoreError(str(err)) from None
    return f"{digest[:2]}/{digest[2:]}"


class LocalObjectStore:
    """Objects as read-only files under ``root/ab/cdef…`` on a local or mounted filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)
        self._made: set[str] = set()  # directories known to exist
        self._temps = itertools.count()
        self._lock = threading.Lock()
        self._root_fd: int | None = None
        self._no_tmpfile = False
        self._no_links = False  # a filesystem refused a hard link: copy from then on
        self._protects: bool | None = None

    def path_of(self, oid: str) -> Path:
        return self.root / _relative_key(oid)

    def exists(self, oid: str) -> bool:
        return os.path.isfile(os.path.join(self.url, _relative_key(oid)))

    def put_bytes(self, data: bytes, oid: str | None = None) -> str:
        oid = oid or hash_bytes(data)
        if not self.exists(oid):
            self._write(oid, lambda fd: _write_all(fd, data))
        return oid

    def put_file(
        self,
        path: str | os.PathLike[str],
        oid: str | None = None,
        *,
        link: bool = False,
        held: Held | None = None,
    ) -> Stored:
        """See :meth:`ObjectStore.put_file`.

        A hard link is made from the descriptor on Linux, so it is the very inode that was
        hashed; one to a file with other hard links is undone (making it read-only would
        change them), and the file is copied. The first filesystem that refuses a link turns
        linking off for this store object: a dataset's files share one filesystem.
        """
        if held is not None:
            return self._put_held(os.fspath(path), oid, link, held)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            mine = Held(fd, st.st_ino, st.st_mtime_ns, st.st_size, recent=oid is None)
            return self._put_held(os.fspath(path), oid, link, mine)
        finally:
            os.close(fd)

    def _put_held(self, path: str, oid: str | None, link: bool, held: Held) -> Stored:
        oid = oid or hash_fd(held.fd)
        if link and not self._no_links:
            try:
                if self._link_in(oid, path, held):
                    return Linked(oid, held.size)
            except OSError as err:
                if err.errno not in _NO_LINK:
                    raise
                self._no_links = True
        if not self.exists(oid):
            self._write(oid, lambda fd: self._copy_in(path, oid, held, fd))
        elif not held.unchanged(os.fstat(held.fd)):
            raise FileChanged(path)
        return Stored(oid, held.size)

    @staticmethod
    def _copy_in(path: str, oid: str, held: Held, fd: int) -> None:
        """Copy the held file to ``fd``; it must not have changed meanwhile."""
        _copy_fd(held.fd, fd, held.size)
        if not held.unchanged(os.fstat(held.fd)) or (held.recent and hash_fd(fd) != oid):
            raise FileChanged(path)

    def _link_in(self, oid: str, path: str, held: Held) -> bool:
        """Make the held file the object by hard link; False when the object was already there
        or the file has other links. The file is checked once linked (then made read-only)."""
        key = _relative_key(oid)
        target = os.path.join(self.url, key)
        self._mkdir(os.path.dirname(target))
        anchor = self._anchor()
        try:
            if anchor is not None:
                os.link(f"/proc/self/fd/{held.fd}", key, dst_dir_fd=anchor)
            else:
                os.link(path, target)
        except FileExistsError:
            return False
        st = os.fstat(held.fd)
        if not held.unchanged(st) or (held.recent and hash_fd(held.fd) != oid):
            os.unlink(target)
            raise FileChanged(path)
        if st.st_nlink != 2:  # the file's and the object's, no other
            os.unlink(target)
            return False
        os.fchmod(held.fd, 0o444)
        return True

    def _write(self, oid: str, fill: Callable[[int], None]) -> None:
        """Make object ``oid`` of what ``fill`` writes to the descriptor it is given: whole
        and read-only, or not at all (``fill`` raising leaves nothing)."""
        key = _relative_key(oid)
        target = os.path.join(self.url, key)
        directory = os.path.dirname(target)
        self._mkdir(directory)
        anchor = self._anchor()
        if anchor is not None:
            try:
                fd = os.open(directory, _O_TMPFILE | os.O_RDWR, 0o444)
            except OSError as err:
                if err.errno not in _NO_TMPFILE:
                    raise
                self._no_tmpfile = True
            else:
                try:
                    fill(fd)
                    # dst_dir_fd makes os.link use linkat(AT_SYMLINK_FOLLOW), as /proc needs
                    os.link(f"/proc/self/fd/{fd}", key, dst_dir_fd=anchor)
                except FileExistsError:
                    pass  # another writer put the same bytes first
                finally:
                    os.close(fd)
                return
        fd, tmp = self._open_temp()
        try:
            try:
                fill(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _mkdir(self, directory: str) -> None:
        if directory not in self._made:
            os.makedirs(directory, exist_ok=True)
            self._made.add(directory)

    def _incoming(self) -> str:
        return os.path.join(self.url, ".incoming")

    def _open_temp(self) -> tuple[int, str]:
        """A new read-only file in ``.incoming/``, open for reading and writing: (fd, path)."""
        incoming = self._incoming()
        self._mkdir(incoming)
        while True:
            name = f"{os.getpid()}-{threading.get_ident()}-{next(self._temps)}.tmp"
            path = os.path.join(incoming, name)
            try:
                return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o444), path
            except FileExistsError:  # left behind by a killed process of the same pid
                os.unlink(path)

    def _anchor(self) -> int | None:
        """A descriptor of the root for linking ``O_TMPFILE`` files in; None where unsupported."""
        if self._root_fd is not None or self._no_tmpfile:
            return self._root_fd
        with self._lock:
            if self._root_fd is None:
                if not (_O_TMPFILE and os.path.isdir("/proc/self/fd")):
                    self._no_tmpfile = True
                    return None
                self._root_fd = os.open(self.url, os.O_RDONLY | os.O_DIRECTORY)
                # Closed with the store, not at exit: exit handlers (a run ending) still write.
                weakref.finalize(self, os.close, self._root_fd).atexit = False
            return self._root_fd

    def read_only_protects(self) -> bool:
        """See :meth:`ObjectStore.read_only_protects`.

        Not for root (or any process that may override file modes), nor on filesystems that
        ignore modes: a file linked to the store could then be edited in place, changing the
        stored version with it. Probed once, with a read-only temp file.
        """
        if self._protects is None:
            try:
                fd, probe = self._open_temp()
            except OSError:
                self._protects = False  # nothing can be written here, links included
                return False
            os.close(fd)
            try:
                os.close(os.open(probe, os.O_WRONLY))
            except PermissionError:
                self._protects = True
            else:
                self._protects = False
            finally:
                os.unlink(probe)
        return self._protects

    def remove_stale_temps(self, older_than_s: float) -> int:
        """Remove the temp files in ``.incoming/`` untouched for ``older_than_s`` seconds.

        A write in progress keeps its temp file's mtime moving; one killed leaves it still.
        """
        cutoff = time.time() - older_than_s
        removed = 0
        try:
            entries = os.scandir(self._incoming())
        except FileNotFoundError:
            return 0
        with entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):  # finished meanwhile
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
        return removed

    def iter_oids(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for prefix in os.scandir(self.root):
            if len(prefix.name) != 2 or not prefix.is_dir():
                continue
            for entry in os.scandir(prefix.path):
                oid = _oid_of_key(prefix.name, entry.name)
                if oid is not None:
                    yield oid

    def remove(self, oid: str) -> None:
        self.path_of(oid).unlink(missing_ok=True)

    def get_bytes(self, oid: str) -> bytes:
        path = self.path_of(oid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        if hash_bytes(data) != oid:
            raise ObjectCorrupt(oid, str(path))
        return data

    def fetch_to(self, oid: str, dest: Path) -> None:
        source = self.path_of(oid)
        try:
            fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        try:
            if hash_fd(fd) != oid:
                raise ObjectCorrupt(oid, str(source))
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as out:
                _copy_fd(fd, out.fileno(), os.fstat(fd).st_size)
        finally:
            os.close(fd)


class FsspecObjectStore:
    """Objects under any fsspec filesystem (S3, GCS, memory, …), keyed like the local store.

    Each object is written by one call of the filesystem (one PUT on S3), so no temp file is
    left to clean; nothing is hard-linked in or out.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec  # start-up: tens of ms, for remote stores only

        self.url = url
        self.fs, base = fsspec.core.url_to_fs(url, **storage_options)
        self.base = base.rstrip("/")

    def _key(self, oid: str) -> str:
        return f"{self.base}/{_relative_key(oid)}"

    def path_of(self, oid: str) -> None:
        return None

    def read_only_protects(self) -> bool:
        return False

    def remove_stale_temps(self, older_than_s: float) -> int:
        return 0

    def exists(self, oid: str) -> bool:
        return bool(self.fs.exists(self._key(oid)))

    def put_bytes(self, data: bytes, oid: str | None = None) -> str:
        oid = oid or hash_bytes(data)
        if not self.exists(oid):
            self.fs.pipe_file(self._key(oid), data)
        return oid

    def put_file(
        self,
        path: str | os.PathLike[str],
        oid: str | None = None,
        *,
        link: bool = False,
        held: Held | None = None,
    ) -> Stored:
        """See :meth:`ObjectStore.put_file`; ``link`` is never possible here.

        The upload reads ``path`` again, so a held file is checked after it: an upload found
        to be of a changed file is removed.
        """
        if held is None:
            size, oid = os.stat(path).st_size, oid or hash_file(path)
        else:
            size, oid = held.size, oid or hash_fd(held.fd)
        if self.exists(oid):
            if held is not None and not held.unchanged(os.fstat(held.fd)):
                raise FileChanged(os.fspath(path))
            return Stored(oid, size)
        self.fs.put_file(os.fspath(path), self._key(oid))
        if held is not None and (
            not held.unchanged(os.fstat(held.fd)) or (held.recent and hash_fd(held.fd) != oid)
        ):
            self.fs.rm_file(self._key(oid))
            raise FileChanged(os.fspath(path))
        return Stored(oid, size)

    def iter_oids(self) -> Iterator[str]:
        try:
            keys = self.fs.find(self.base)
        except FileNotFoundError:
            return
        for key in keys:
            prefix, _, rest = str(key)[len(self.base) :].strip("/").partition("/")
            oid = _oid_of_key(prefix, rest) if len(prefix) == 2 else None
            if oid is not None:
                yield oid

    def remove(self, oid: str) -> None:
        if self.exists(oid):
            self.fs.rm_file(self._key(oid))

    def get_bytes(self, oid: str) -> bytes:
        key = self._key(oid)
        try:
            data = bytes(self.fs.cat_file(key))
        except FileNotFoundError:
            raise ObjectNotFound(oid) from None
        if hash_bytes(data) != oid:
            raise ObjectCorrupt(oid, key)
        return data

    def fetch_to(self, oid: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        key = self._key(oid)
        if not self.exists(oid):
            raise ObjectNotFound(oid)
        self.fs.get_file(key, str(dest))
        if hash_file(dest) != oid:
            dest.unlink()
            raise ObjectCorrupt(oid, key)
