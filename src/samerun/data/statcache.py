"""The stat cache: a file whose inode, ``mtime_ns`` and size are unchanged keeps its hash.

It lives in ``.samerun/data/statcache.db`` (SQLite, one row per inode) and is only a cache:
a missing or unreadable one is rebuilt. A file modified less than :data:`RACY_WINDOW_NS` before
it was read could change again within the same timestamp tick, so its hash is not cached
(it is re-hashed next time, by when it is old enough to be trusted).
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from samerun.hashing import tag

RACY_WINDOW_NS = 1_000_000_000
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stat ("
    "ino INTEGER PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, "
    "digest BLOB NOT NULL)"
)


class StatCache:
    """Hashes by (inode, mtime_ns, size); ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._rows: dict[int, tuple[int, int, bytes]] | None = None
        self._new: dict[int, tuple[int, int, bytes]] = {}

    def _load(self) -> dict[int, tuple[int, int, bytes]]:
        if self._rows is None:
            self._rows = {}
            if self.path is not None and self.path.exists():
                with suppress(sqlite3.DatabaseError):
                    db = sqlite3.connect(self.path)
                    try:
                        rows = db.execute("SELECT ino, mtime_ns, size, digest FROM stat")
                        self._rows = {r[0]: (r[1], r[2], r[3]) for r in rows}
                    finally:
                        db.close()
        return self._rows

    def get(self, ino: int, mtime_ns: int, size: int) -> str | None:
        row = self._load().get(ino)
        if row is None or row[0] != mtime_ns or row[1] != size:
            return None
        return tag(row[2].hex())

    def put(self, ino: int, mtime_ns: int, size: int, oid: str, *, read_at_ns: int) -> None:
        """Remember ``oid`` for this inode unless its mtime is too close to when it was read."""
        if mtime_ns >= read_at_ns - RACY_WINDOW_NS:
            return
        row = (mtime_ns, size, bytes.fromhex(oid.partition(":")[2]))
        self._load()[ino] = row
        self._new[ino] = row

    def save(self) -> None:
        """Write what was learnt since the last save (best effort: it is only a cache)."""
        if self.path is None or not self._new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=30)
        except sqlite3.DatabaseError:
            return
        try:
            with db:
                db.execute(_SCHEMA)
                db.executemany(
                    "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?)",
                    [(ino, *row) for ino, row in self._new.items()],
                )
            self._new.clear()
        except sqlite3.DatabaseError:
            self.path.unlink(missing_ok=True)  # corrupt: start afresh next time
        finally:
            db.close()


def project_cache(root: Path) -> StatCache:
    """The stat cache of the project at ``root``."""
    from samerun.store.project import STORE_DIRNAME

    return StatCache(root / STORE_DIRNAME / "data" / "statcache.db")
