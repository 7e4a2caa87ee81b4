"""Hashing many files at once: on threads, or on forked worker processes for small files.

Large files want threads (blake3 and file I/O release the GIL). Small files are a few
syscalls each with Python in between that holds the GIL, so threads only contend for it;
many of them go to worker processes, forked so that they inherit the file list, and made to
die with their parent so that a killed ``data add`` leaves none behind.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, NamedTuple, Protocol

from samerun._exceptions import FileChanged
from samerun.data.forking import forkable
from samerun.data.statcache import Entry, entry_for
from samerun.data.walk import FileStat

if TYPE_CHECKING:
    from concurrent.futures import Executor

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


class Hasher(Protocol):
    """Hashes (and stores) one file: its oid, when it was read, whether it was linked."""

    link: bool

    def hash_file(self, f: FileStat) -> tuple[str, int, bool]: ...


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
    files: list[FileStat], todo: list[int], storer: Hasher
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
        import multiprocessing
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
    from concurrent.futures import ThreadPoolExecutor  # only when there is work to do

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
_adopted: tuple[Hasher, list[FileStat], list[int]] | None = None


def _adopt(storer: Hasher, files: list[FileStat], todo: list[int], parent: int) -> None:
    """Start a worker process; it dies with its parent, killed or not, never waits forever."""
    import ctypes
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


def _hash_chunk(chunk: list[tuple[int, FileStat]], storer: Hasher) -> Batch:
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
