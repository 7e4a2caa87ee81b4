"""The append-only per-run journal: the training loop appends to memory, a thread writes.

Each process that logs into a run writes its own segment, ``journal-<pid>.jsonl``, one JSON
array per line: ``["m", key, step, value, time]`` for a metric, ``["p", {params}]``,
``["a", {artifact}]``, ``["seeded", [names]]``, ``["set", {setting: value}]`` (what
``seed_everything`` set), ``["t", step, …]`` (a trace fingerprint, see
:mod:`samerun.tracing.model`), ``["n", "name"]``, ``["d", {data input}, [warnings]]`` (see
:func:`samerun.use_dataset`), ``["h", {facts}]`` (GPUs, CUDA, BLAS as the frameworks an attached
child imported report them). A background thread appends what was logged
at most every :data:`FLUSH_INTERVAL_S` and touches the segment as a heartbeat, so a crash loses
at most the last interval and the reaper can tell a live run from a dead one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FLUSH_INTERVAL_S = 0.5
SEGMENT_GLOB = "journal-*.jsonl"


class JournalWriter:
    """Append records for one run from this process; :meth:`close` writes what is left."""

    def __init__(self, run_dir: Path, interval: float = FLUSH_INTERVAL_S) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / f"journal-{os.getpid()}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._pending: deque[tuple[Any, ...]] = deque()
        self._names: dict[str, str] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._interval = interval
        self._thread = threading.Thread(
            target=self._flush_loop, name="samerun-journal", daemon=True
        )
        self._thread.start()

    def append(self, record: tuple[Any, ...]) -> None:
        """Queue one record; thread-safe and never blocks on I/O."""
        self._pending.append(record)

    def flush(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            count = len(self._pending)
            if count:
                pop = self._pending.popleft
                lines = [self._encode(pop()) for _ in range(count)]
                data = ("\n".join(lines) + "\n").encode()
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            os.utime(self._fd)

    def _encode(self, record: tuple[Any, ...]) -> str:
        """One JSON line; metric records (the bulk) are formatted directly, 5x faster."""
        if record[0] == "m":
            _, key, step, value, when = record
            if math.isfinite(value) and type(step) is int:
                name = self._names.get(key) or self._names.setdefault(key, json.dumps(key))
                return f'["m",{name},{step},{value!r},{when!r}]'
        return json.dumps(record)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1


def read_journal(run_dir: Path) -> Iterator[list[Any]]:
    """Every complete record of every segment; a line cut short by a crash is skipped."""
    for segment in sorted(run_dir.glob(SEGMENT_GLOB)):
        data = segment.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]  # after the last newline: a torn write
        try:  # one parse for the whole segment is several times faster than one per line
            yield from json.loads(b"[" + complete.rstrip(b"\n").replace(b"\n", b",") + b"]")
        except ValueError:
            for line in complete.splitlines():
                with contextlib.suppress(ValueError):
                    yield json.loads(line)


def last_heartbeat(run_dir: Path) -> float | None:
    """When a process last wrote or touched a segment of this run, or None if none exists."""
    times = [p.stat().st_mtime for p in run_dir.glob(SEGMENT_GLOB)]
    return max(times, default=None)
