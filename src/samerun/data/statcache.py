"""The stat cache: a file whose inode, ``mtime_ns`` and size are unchanged keeps its hash.

Its entries are the files of each dataset's last listing (below), and for files that no
listing holds, ``.samerun/data/statcache.db`` (SQLite, one row per inode). It is only a
cache: a missing or unreadable part is rebuilt. A file modified just before it was read could change
again within the same timestamp tick, leaving its mtime as it was: :func:`racy` says when, and
such a file's hash is not cached (it is re-hashed next time, by when it is old enough).

Next to it, ``listings/`` keeps each dataset's last listing (path, inode, mtime_ns, size and
mode of every file, and its digest; a file dataset lists itself) with the version it hashed
to: a walk that lists exactly the same files has the same version, so ``data status`` with
nothing changed costs one ``stat`` per file, and only the files whose rows changed need to be
looked at again. A listing is also the cache's entry for each of its files: what a kept
listing holds is not written to SQLite a second time (200,000 rows: 0.4 s of ``data add``).
"""

from __future__ import annotations

import marshal
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import suppress
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from samerun._atomic import atomic_write
from samerun.data.walk import MARSHAL_VERSION, FileStat, Row, plain
from samerun.hashing import ALGORITHM, hash_bytes, tag
from samerun.store.project import STORE_DIRNAME

#: How long a write may leave a file's mtime unchanged, on filesystems with sub-millisecond
#: timestamps: they are stamped from the kernel's clock tick (1-10 ms); 100 ms adds room for
#: the clock skew of a network filesystem's server.
FINE_RACY_WINDOW_NS = 100_000_000
#: The same where timestamps are whole milliseconds or seconds (FAT's tick is 2 s).
COARSE_RACY_WINDOW_NS = 2_000_000_000
_LISTING_FORMAT = 4
_DIGEST = 32  # bytes of a blake3 digest
#: Up to this many lookups at once are single-row queries; more read the whole cache.
_POINT_LOOKUPS = 1_000


def racy(mtime_ns: int, read_at_ns: int) -> bool:
    """Whether a file with ``mtime_ns``, read from ``read_at_ns`` on, could have changed unseen.

    A timestamp with digits below the millisecond shows a filesystem with fine timestamps
    (a whole millisecond happens once in a million); any other gets the coarse window.
    """
    fine = mtime_ns % 1_000_000
    return mtime_ns >= read_at_ns - (FINE_RACY_WINDOW_NS if fine else COARSE_RACY_WINDOW_NS)


#: What the cache knows of one file: its inode, then its (mtime_ns, size, digest).
Entry = tuple[int, tuple[int, int, bytes]]


def entry_for(ino: int, mtime_ns: int, size: int, oid: str, *, read_at_ns: int) -> Entry | None:
    """The entry remembering ``oid`` for this inode; None when its mtime is too close to when
    it was read (see :func:`racy`)."""
    if racy(mtime_ns, read_at_ns):
        return None
    return ino, (mtime_ns, size, bytes.fromhex(oid.partition(":")[2]))


class Listed(NamedTuple):
    """The tree a listing hashed to."""

    oid: str
    size: int
    files: int


class Listing(NamedTuple):
    """A dataset's last listing: its version, its files, and their digests (in order)."""

    tree: Listed
    files: list[Row]
    digests: bytes  # 32 bytes per file

    def oid_at(self, index: int) -> str:
        return tag(self.digests[_DIGEST * index : _DIGEST * (index + 1)].hex())

    def entries(self, inodes: Container[int] | None = None) -> Iterator[Entry]:
        """The cache entry of each listed file (with ``inodes``, of those files only)."""
        files, digests = self.files, self.digests
        wanted = (
            range(len(files))
            if inodes is None
            else [i for i, row in enumerate(files) if row[2] in inodes]
        )
        for i in wanted:
            _, _, ino, mtime_ns, size, _ = files[i]
            yield ino, (mtime_ns, size, digests[_DIGEST * i : _DIGEST * (i + 1)])


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stat ("
    "ino INTEGER PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, "
    "digest BLOB NOT NULL)"
)


class StatCache:
    """Hashes by (inode, mtime_ns, size); ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._rows: dict[int, tuple[int, int, bytes]] = {}
        self._loaded = path is None
        self._new: dict[int, tuple[int, int, bytes]] = {}

    def _load(self) -> dict[int, tuple[int, int, bytes]]:
        """Every entry, read once: the kept listings', then SQLite's (rows fetched or put
        so far are kept). Where two disagree, the newer mtime is the one to match."""
        if not self._loaded:
            self._loaded = True
            known: dict[int, tuple[int, int, bytes]] = {}
            for listing in self._listings():
                _merge(known, listing.entries())
            _merge(known, self._select("SELECT ino, mtime_ns, size, digest FROM stat", ()))
            known.update(self._rows)
            self._rows = known
        return self._rows

    def _select(self, query: str, args: Sequence[int]) -> list[tuple[int, tuple[int, int, bytes]]]:
        import sqlite3  # on first use: an unchanged listing never needs it

        if self.path is None or not self.path.exists():
            return []
        with suppress(sqlite3.DatabaseError):
            db = sqlite3.connect(self.path)
            try:
                return [(r[0], (r[1], r[2], r[3])) for r in db.execute(query, args)]
            finally:
                db.close()
        return []

    def get(self, ino: int, mtime_ns: int, size: int) -> str | None:
        return _matching(self._load().get(ino), mtime_ns, size)

    def get_many(
        self, keys: Sequence[tuple[int, int, int]], listed: Listing | None = None
    ) -> list[str | None]:
        """:meth:`get` for each (inode, mtime_ns, size).

        Many keys read the whole cache (every listing, and SQLite). A few are looked up one
        by one, in SQLite and in ``listed``: the last listing of their dataset, if any.
        """
        if self._loaded or len(keys) > _POINT_LOOKUPS:
            rows = self._load()
        else:
            missing = {ino for ino, _, _ in keys if ino not in self._rows}
            if listed is not None and missing:
                _merge(self._rows, listed.entries(missing))
            wanted = sorted(missing)
            for start in range(0, len(wanted), 500):  # SQLite's default limit is 999 variables
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT ino, mtime_ns, size, digest FROM stat WHERE ino IN ({marks})"
                _merge(self._rows, self._select(query, chunk))
            rows = self._rows
        return [_matching(rows.get(ino), mtime_ns, size) for ino, mtime_ns, size in keys]

    def put(self, ino: int, mtime_ns: int, size: int, oid: str, *, read_at_ns: int) -> None:
        """Remember ``oid`` for this inode unless its mtime is too close to when it was read."""
        entry = entry_for(ino, mtime_ns, size, oid, read_at_ns=read_at_ns)
        if entry is not None:
            self.learn([entry])

    def learn(self, entries: list[Entry]) -> None:
        """Remember what :func:`entry_for` gave (in bulk: hashing workers send lists)."""
        self._rows.update(entries)
        self._new.update(entries)

    def _listings_dir(self) -> Path | None:
        return None if self.path is None else self.path.parent / "listings"

    def _listing_file(self, root: Path) -> Path | None:
        where = self._listings_dir()
        key = hash_bytes(str(root).encode()).partition(":")[2][:32]
        return None if where is None else where / key

    def listing(self, root: Path) -> Listing | None:
        """The last listing of dataset ``root``, if one was kept (and reads back whole).

        A walk that lists exactly ``listing.files`` has the tree ``listing.tree``.
        """
        where = self._listing_file(root)
        return _read_listing(where, str(root)) if where is not None else None

    def _listings(self) -> Iterator[Listing]:
        """Every kept listing, of any dataset."""
        where = self._listings_dir()
        if where is None or not where.is_dir():
            return
        for path in sorted(where.iterdir()):  # of two equally new entries, the same one wins
            listing = _read_listing(path)
            if listing is not None:
                yield listing

    def remember_listing(
        self,
        root: Path,
        files: Sequence[FileStat],
        tree: Listed,
        oids: Sequence[str],
        *,
        walked_at_ns: int,
    ) -> None:
        """Keep ``root``'s listing, tree and file oids, unless a file is too new to be trusted."""
        where = self._listing_file(root)
        newest = max(map(itemgetter(3), files), default=0)  # its mtime shows the clock's grain
        if where is None or racy(newest, walked_at_ns):
            return
        rows = plain(files)
        digests = bytes.fromhex("".join(oids).replace(f"{ALGORITHM}:", ""))
        try:
            saved = (_LISTING_FORMAT, str(root), *tree, rows, digests)
            atomic_write(where, marshal.dumps(saved, MARSHAL_VERSION), durable=False)
        except OSError:
            return
        new = self._new
        for _, _, ino, mtime_ns, _, _ in rows:  # SQLite need not hold them too
            if ino in new and new[ino][0] == mtime_ns:
                del new[ino]

    def save(self) -> None:
        """Write what was learnt since the last save (best effort: it is only a cache)."""
        if self.path is None or not self._new:
            return
        import sqlite3  # start-up, as in _select

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


def _read_listing(path: Path, root: str | None = None) -> Listing | None:
    """The listing kept in ``path`` (of dataset ``root`` if given); None if it is not whole."""
    saved = _unmarshal(path)
    if (
        not isinstance(saved, tuple)
        or len(saved) != 7
        or saved[0] != _LISTING_FORMAT
        or (root is not None and saved[1] != root)
        or not isinstance(saved[5], list)
        or not isinstance(saved[6], bytes)
        or len(saved[6]) != _DIGEST * len(saved[5])
    ):
        return None
    return Listing(Listed(*saved[2:5]), saved[5], saved[6])


def _merge(known: dict[int, tuple[int, int, bytes]], entries: Iterable[Entry]) -> None:
    """Add ``entries`` to ``known``; of two for one inode, the one with the newer mtime."""
    if not known:
        known.update(entries)
        return
    for ino, entry in entries:
        have = known.get(ino)
        if have is None or have[0] < entry[0]:
            known[ino] = entry


def _unmarshal(path: Path) -> object:
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _matching(row: tuple[int, int, bytes] | None, mtime_ns: int, size: int) -> str | None:
    if row is None or row[0] != mtime_ns or row[1] != size:
        return None
    return tag(row[2].hex())


def project_cache(root: Path) -> StatCache:
    """The stat cache of the project at ``root``."""
    return StatCache(root / STORE_DIRNAME / "data" / "statcache.db")
