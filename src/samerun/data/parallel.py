"""Hashing files, and storing them as they are read: on threads, or on forked worker processes.

:class:`Storer` does one file: read once (streamed when large), hashed, and its object put in
the store from the same descriptor, or linked in. Large files want threads (blake3 and file
I/O release the GIL). Small files are a few syscalls each with Python in between that holds
the GIL, so threads only contend for it; many of them go to worker processes, forked so that
they inherit the file list, and made to die with their parent so that a killed ``data add``
leaves none behind.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Generator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import NamedTuple

import blake3

from samerun._exceptions import FileChanged
from samerun.data.forking import forkable
from samerun.data.statcache import Entry, entry_for, racy
from samerun.data.walk import FileStat
from samerun.hashing import hash_bytes, tag
from samerun.store.objects import Held, ObjectStore

#: Files up to this size are read in one go (bounded memory per worker).
INLINE_MAX = 4 << 20
_CHUNK = 4 << 20  # fits the CPU caches: hashing 16 MiB chunks measured 1.8x slower
#: Work per thread-pool task: small files are batched, each file also counting as this much.
_BATCH_BYTES = 8 << 20
_PER_FILE_BYTES = 64 << 10
#: Below this mean size, files being linked are hashed on one thread: their work is a few
#: syscalls of a microsecond or two, and more threads only contend for the GIL (measured
#: 1.1-1.2x slower with 2-3 threads on 200,000 files of 512 bytes).
_SMALL_FILE = 16 << 10
#: From this many small files on, they are hashed in worker processes, this many per task
#: (measured 2.1x faster with 2 processes than one thread on 200,000 files of 512 bytes).
_PROCESS_FILES = 20_000
_PROCESS_CHUNK = 2_000
#: Worker processes beyond one per core: a worker waiting in the kernel (on the filesystem's
#: journal or a directory lock) leaves its core to another (measured on 2 cores, 200,000
#: files of 512 bytes linked in: 5.3 s with 2 processes, 4.0 s with 3, 4.1 s with 4).
_SPARE_PROCESSES = 1
_PR_SET_PDEATHSIG = 1  # prctl(2) on Linux: a signal for this process when its parent dies


class Batch(NamedTuple):
    """What hashing a batch of files gave, ready for the parent to take in whole."""

    indexes: list[int]  # of the files hashed, in order
    oids: list[str]
    learnt: list[Entry]  # stat cache entries of the files not too new to be trusted
    linked: int  # files that became their own object by hard link
    size: int  # bytes hashed
    changed: int | None  # a file that changed while read: the batch stopped there


def _changed(f: FileStat) -> FileChanged:
    return FileChanged(f.path)


class Storer:
    """Hashes files and, with a store, makes each one's object present in it.

    With ``link``, a file that can safely become its own object (not executable, no other
    hard link, on the store's filesystem) is hard-linked in and made read-only instead of
    copied: no byte is written. Only where read-only really protects it (not for root: see
    :meth:`ObjectStore.read_only_protects`). One written just now is hashed again once
    linked (its mtime cannot vouch for it).

    This runs once per file, in the hashing workers, where a small file costs about 35 us of
    CPU: each file is opened once, and its descriptor goes to the store (:class:`Held`), which
    links or copies from it without opening or reading the file again.
    """

    def __init__(self, store: ObjectStore | None, *, link: bool) -> None:
        self.store = store
        self.link = link and store is not None and store.read_only_protects()

    def hash_file(self, f: FileStat) -> tuple[str, int, bool]:
        """Hash (and store) one file, read once: its oid, when it was read, if it was linked.

        Its inode, mtime and size after the read must still be those the walk saw, else it
        changed while being read.
        """
        read_at = time.time_ns()
        if f.size > INLINE_MAX:
            try:
                src = open(f.path, "rb", buffering=0)  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise _changed(f) from None
            with src:
                oid = _stream(f, src)
                return oid, read_at, self._put(f, src.fileno(), oid, read_at)
        try:  # os-level calls: a few syscalls per file is what many small files cost
            fd = os.open(f.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise _changed(f) from None
        try:
            data = os.read(fd, f.size + 1)
            if len(data) != f.size:
                raise _changed(f)
            oid = hash_bytes(data)
            if self.link and f.mode == 0o644:  # the store checks the file as it puts it
                return oid, read_at, self._put(f, fd, oid, read_at)
            if not f.same(os.fstat(fd)):
                raise _changed(f)
        finally:
            os.close(fd)
        if self.store is not None:
            self.store.put_bytes(data, oid)  # the bytes just read: written, not copied again
        return oid, read_at, False

    def _put(self, f: FileStat, fd: int, oid: str, read_at: int) -> bool:
        """Put ``f``, open as ``fd`` and hashed to ``oid``, in the store (linked where that is
        safe, which checks that it did not change); whether it was linked."""
        if self.store is None:
            return False
        held = Held(fd, f.ino, f.mtime_ns, f.size, racy(f.mtime_ns, read_at))
        link = self.link and f.mode == 0o644
        return self.store.put_file(f.path, oid, link=link, held=held).linked


def _stream(f: FileStat, src: io.RawIOBase) -> str:
    """Hash a large file in chunks, on all cores; it must not change while it is read."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    total = 0
    while count := src.readinto(buffer):
        hasher.update(view[:count])
        total += count
    if total != f.size or not f.same(os.fstat(src.fileno())):
        raise _changed(f)
    return tag(hasher.hexdigest())


def _batches(todo: list[int], files: list[FileStat]) -> list[list[int]]:
    """Group file indexes into tasks of about :data:`_BATCH_BYTES` (one big file per task)."""
    batches: list[list[int]] = []
    current: list[int] = []
    weight = 0
    for i in todo:
        current.append(i)
        weight += files[i].size + _PER_FILE_BYTES
        if weight >= _BATCH_BYTES:
            batches.append(current)
            current, weight = [], 0
    if current:
        batches.append(current)
    return batches


def hashed_batches(
    files: list[FileStat], todo: list[int], storer: Storer
) -> Generator[Batch, None, None]:
    """Hash ``files[i]`` for every ``i`` in ``todo``, in batches, on threads or processes.

    Small files (a few syscalls each, the Python between them holding the GIL) are spread
    over worker processes (one more than cores) when there are many and forking is safe;
    otherwise threads, as many as cores, which is what large files need (blake3 and I/O
    release the GIL).
    """
    cores = os.cpu_count() or 1
    small = sum(files[i].size for i in todo) < _SMALL_FILE * len(todo)
    if small and len(todo) >= _PROCESS_FILES and cores > 1 and forkable():
        import multiprocessing  # start-up: only many small files need it (about 10 ms)
        from concurrent.futures import ProcessPoolExecutor

        starts = range(0, len(todo), _PROCESS_CHUNK)
        fork = multiprocessing.get_context("fork")  # the workers inherit files, todo, storer
        with ProcessPoolExecutor(
            cores + _SPARE_PROCESSES,
            mp_context=fork,
            initializer=_adopt,
            initargs=(storer, files, todo, os.getpid()),
        ) as processes:
            yield from _cancelling(processes, processes.map(_hash_slice, starts))
        return

    def run(batch: list[int]) -> Batch:
        return _hash_chunk([(i, files[i]) for i in batch], storer)

    batches = _batches(todo, files)
    workers = 1 if storer.link and small else min(len(batches), cores)
    with ThreadPoolExecutor(workers, thread_name_prefix="samerun-hash") as threads:
        yield from _cancelling(threads, threads.map(run, batches))


def _cancelling(pool: Executor, results: Iterator[Batch]) -> Iterator[Batch]:
    try:
        yield from results
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise


#: What a worker process hashes: its storer, the files and the indexes to do (through fork).
_adopted: tuple[Storer, list[FileStat], list[int]] | None = None


def _adopt(storer: Storer, files: list[FileStat], todo: list[int], parent: int) -> None:
    """Start a worker process; it dies with its parent, killed or not, never waits forever."""
    import ctypes  # in the worker only
    import signal

    global _adopted
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    _adopted = storer, files, todo


def _hash_slice(start: int) -> Batch:
    """In a worker process: hash the files of ``todo[start : start + _PROCESS_CHUNK]``."""
    assert _adopted is not None
    storer, files, todo = _adopted
    return _hash_chunk([(i, files[i]) for i in todo[start : start + _PROCESS_CHUNK]], storer)


def _hash_chunk(chunk: list[tuple[int, FileStat]], storer: Storer) -> Batch:
    """Hash each file of ``chunk``, up to one that changed while it was read."""
    indexes: list[int] = []
    oids: list[str] = []
    learnt: list[Entry] = []
    linked = size = 0
    for i, f in chunk:
        try:
            oid, read_at, was_linked = storer.hash_file(f)
        except FileChanged:
            return Batch(indexes, oids, learnt, linked, size, i)
        indexes.append(i)
        oids.append(oid)
        entry = entry_for(f.ino, f.mtime_ns, f.size, oid, read_at_ns=read_at)
        if entry is not None:
            learnt.append(entry)
        linked += was_linked
        size += f.size
    return Batch(indexes, oids, learnt, linked, size, None)
