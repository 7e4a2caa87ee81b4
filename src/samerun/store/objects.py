"""Content-addressed object store: bytes named by their blake3 hash, never overwritten.

Opened by URL: a plain path (or ``file://``) gives :class:`LocalObjectStore`; any other fsspec URL
(``s3://bucket/prefix``, ``memory://x``) gives :class:`FsspecObjectStore`.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from samerun._atomic import atomic_write
from samerun._exceptions import (
    CaptureError,
    FileChanged,
    ObjectCorrupt,
    ObjectNotFound,
    StoreError,
)
from samerun.hashing import hash_bytes, hash_fd, hash_file, split_oid, tag

#: Unnamed files linked in whole (Linux); the errors of filesystems without them.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}


class ObjectStore(Protocol):
    """What every object store offers; callers never learn where the bytes live."""

    url: str

    def exists(self, oid: str) -> bool: ...

    def put_bytes(self, data: bytes) -> str: ...

    def put_file(self, path: Path) -> tuple[str, int]: ...

    def get_bytes(self, oid: str) -> bytes: ...

    def fetch_to(self, oid: str, dest: Path) -> None: ...

    def iter_oids(self) -> Iterator[str]: ...

    def remove(self, oid: str) -> None: ...


def open_object_store(url: str) -> ObjectStore:
    """Open the object store at ``url`` (a path, ``file://`` URL or any fsspec URL)."""
    if url.startswith("file://"):
        url = url[len("file://") :]
    if "://" not in url:
        return LocalObjectStore(Path(url))
    return FsspecObjectStore(url)


def _oid_of_key(prefix: str, rest: str) -> str | None:
    """The object id a stored ``ab/cdef…`` key names, or None for anything else (temp files)."""
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
        self._protects: bool | None = None

    def path_of(self, oid: str) -> Path:
        return self.root / _relative_key(oid)

    def exists(self, oid: str) -> bool:
        return os.path.isfile(os.path.join(self.url, _relative_key(oid)))

    def put_bytes(self, data: bytes) -> str:
        oid = hash_bytes(data)
        target = self.path_of(oid)
        if not target.exists():
            atomic_write(target, data, mode=0o444)
        return oid

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a file's bytes; raises CaptureError if the file changes while it is stored."""
        size = path.stat().st_size
        oid = hash_file(path)
        target = self.path_of(oid)
        if target.exists():
            return oid, size
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(path, tmp)
            if hash_file(tmp) != oid:
                raise CaptureError(
                    f"{path} changed while it was being stored; write it, then log it"
                )
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            tmp.chmod(0o444)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return oid, size

    def _mkdir(self, directory: str) -> None:
        if directory not in self._made:
            os.makedirs(directory, exist_ok=True)
            self._made.add(directory)

    def _open_temp(self, mode: int) -> tuple[int, str]:
        """A new file in ``.incoming/`` (with ``mode``) opened for writing: (fd, path)."""
        incoming = os.path.join(self.url, ".incoming")
        self._mkdir(incoming)
        while True:
            name = f"{os.getpid()}-{threading.get_ident()}-{next(self._temps)}.tmp"
            path = os.path.join(incoming, name)
            try:
                return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), path
            except FileExistsError:  # left behind by a killed process of the same pid
                os.unlink(path)

    def new_temp(self) -> Path:
        """A new empty file on the store's filesystem, for :meth:`install` to move into place."""
        fd, path = self._open_temp(0o600)
        os.close(fd)
        return Path(path)

    def write_object(self, oid: str, data: bytes) -> bool:
        """Store ``data``, which the caller hashed to ``oid``; False when it was already there.

        No partial object is ever visible, even to a reader racing a killed writer: on Linux
        the bytes go to an unnamed file (``O_TMPFILE``) that is linked in whole, elsewhere to a
        temp file renamed into place. Like DVC, small objects are not fsync'ed one by
        one (a disk flush per file): a power loss can leave a truncated object, which ``fsck``
        and every checkout (hash-checked) detect.
        """
        key = _relative_key(oid)
        target = os.path.join(self.url, key)
        if os.path.isfile(target):
            return False
        directory = os.path.dirname(target)
        self._mkdir(directory)
        anchor = self._anchor()
        if anchor is not None:
            try:
                fd = os.open(directory, _O_TMPFILE | os.O_WRONLY, 0o444)
            except OSError as err:
                if err.errno not in _NO_TMPFILE:
                    raise
                self._no_tmpfile = True
            else:
                try:
                    _write_all(fd, data)
                    # dst_dir_fd makes os.link use linkat(AT_SYMLINK_FOLLOW), as /proc needs
                    os.link(f"/proc/self/fd/{fd}", key, dst_dir_fd=anchor)
                except FileExistsError:
                    return False
                finally:
                    os.close(fd)
                return True
        fd, tmp = self._open_temp(0o444)  # read-only, yet this descriptor may write
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True

    def read_only_protects(self) -> bool:
        """Whether a read-only object here is safe from being written through a hard link.

        Not for root (or any process that may override file modes), nor on filesystems that
        ignore modes: a file linked to the store could then be edited in place, changing the
        stored version with it. Probed once, with a read-only temp file.
        """
        if self._protects is None:
            try:
                fd, probe = self._open_temp(0o444)
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

    def link_object(
        self,
        oid: str,
        source: str,
        fd: int,
        expected: tuple[int, int, int],
        *,
        rehash: bool = False,
    ) -> bool:
        """Make file ``source``, open as ``fd`` and hashed to ``oid``, the object: a hard link.

        Nothing is written: file and object become one read-only inode. On Linux the link is
        made from the descriptor, so it is the very inode that was read. ``expected`` is the
        (inode, mtime_ns, size) that was hashed; a file that no longer has them, or with
        ``rehash`` (a file written so recently that a change may not have moved its mtime)
        no longer hashes to ``oid``, is unlinked again and raises :class:`FileChanged`. A
        file with other hard links is unlinked again too (making it read-only would change
        them): False, as when the object was already there (the file is then not checked).
        OSError (EXDEV, EPERM, EMLINK, ...) where the filesystem cannot link it.
        """
        key = _relative_key(oid)
        target = os.path.join(self.url, key)
        self._mkdir(os.path.dirname(target))
        anchor = self._anchor()
        try:
            if anchor is not None:
                os.link(f"/proc/self/fd/{fd}", key, dst_dir_fd=anchor)
            else:
                os.link(source, target)
        except FileExistsError:
            return False
        st = os.fstat(fd)
        if (st.st_ino, st.st_mtime_ns, st.st_size) != expected or (rehash and hash_fd(fd) != oid):
            os.unlink(target)
            raise FileChanged(source)
        if st.st_nlink != 2:  # the file's and the object's, no other
            os.unlink(target)
            return False
        os.fchmod(fd, 0o444)
        return True

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
                weakref.finalize(self, os.close, self._root_fd)
            return self._root_fd

    def copy_object(self, source: Path, oid: str) -> bool:
        """Copy ``source``, already named ``oid`` by a trusted store, in (kernel-side, atomic)."""
        if self.exists(oid):
            return False
        tmp = self.new_temp()
        try:
            shutil.copyfile(source, tmp)
            return self.install(tmp, oid)
        finally:
            tmp.unlink(missing_ok=True)

    def install(self, tmp: Path, oid: str) -> bool:
        """Move ``tmp``, whose content the caller hashed to ``oid``, into place (read-only).

        The rename is atomic, so no partial object is ever visible; returns False (and drops
        ``tmp``) when the object was already there.
        """
        target = os.path.join(self.url, _relative_key(oid))
        if os.path.isfile(target):
            tmp.unlink(missing_ok=True)
            return False
        tmp.chmod(0o444)
        self._mkdir(os.path.dirname(target))
        os.replace(tmp, target)
        return True

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
        if not source.is_file():
            raise ObjectNotFound(oid)
        if hash_file(source) != oid:
            raise ObjectCorrupt(oid, str(source))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


class FsspecObjectStore:
    """Objects under any fsspec filesystem (S3, GCS, memory, …), keyed like the local store."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec

        self.url = url
        self.fs, base = fsspec.core.url_to_fs(url, **storage_options)
        self.base = base.rstrip("/")

    def _key(self, oid: str) -> str:
        return f"{self.base}/{_relative_key(oid)}"

    def exists(self, oid: str) -> bool:
        return bool(self.fs.exists(self._key(oid)))

    def put_bytes(self, data: bytes) -> str:
        oid = hash_bytes(data)
        if not self.exists(oid):
            self.fs.pipe_file(self._key(oid), data)
        return oid

    def put_file(self, path: Path) -> tuple[str, int]:
        size = path.stat().st_size
        oid = hash_file(path)
        if not self.exists(oid):
            self.fs.put_file(str(path), self._key(oid))
        return oid, size

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
