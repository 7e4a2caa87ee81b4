from __future__ import annotations

from pathlib import Path

from samerun.data.statcache import (
    COARSE_RACY_WINDOW_NS,
    FINE_RACY_WINDOW_NS,
    Listed,
    Row,
    StatCache,
    racy,
)

MS = 1_000_000
NOW = 1_790_000_001_123_456_789
OLD = NOW - 3_600_000_000_000


def _oid(n: int) -> str:
    return "blake3:" + f"{n:02x}" * 32


def test_a_fine_timestamp_is_trusted_once_a_short_window_has_passed() -> None:
    written = NOW - FINE_RACY_WINDOW_NS - 10 * MS + 4_321  # sub-millisecond digits
    assert not racy(written, NOW)
    assert racy(written + 20 * MS, NOW)
    assert racy(NOW + 5, NOW)  # a clock ahead of ours: never trusted


def test_a_whole_millisecond_or_second_timestamp_gets_the_coarse_window() -> None:
    for tick in (MS, 1_000 * MS, 2_000 * MS):
        written = (NOW - 5 * FINE_RACY_WINDOW_NS) // tick * tick
        assert NOW - COARSE_RACY_WINDOW_NS < written < NOW - FINE_RACY_WINDOW_NS
        assert racy(written, NOW)
        assert not racy(written - COARSE_RACY_WINDOW_NS, NOW)


def test_a_racy_file_is_not_cached() -> None:
    cache = StatCache()
    oid = "blake3:" + "ab" * 32
    cache.put(1, NOW - 10 * MS + 1, 5, oid, read_at_ns=NOW)
    cache.put(2, NOW - 10 * FINE_RACY_WINDOW_NS + 1, 5, oid, read_at_ns=NOW)
    assert cache.get(1, NOW - 10 * MS + 1, 5) is None
    assert cache.get(2, NOW - 10 * FINE_RACY_WINDOW_NS + 1, 5) == oid


def _saved(tmp_path: Path, rows: int) -> Path:
    cache = StatCache(tmp_path / "statcache.db")
    for ino in range(1, rows + 1):
        cache.put(ino, OLD + ino, ino, _oid(ino), read_at_ns=NOW)
    cache.save()
    return tmp_path / "statcache.db"


def test_a_few_lookups_are_answered_row_by_row(tmp_path: Path) -> None:
    cache = StatCache(_saved(tmp_path, 3))
    found = cache.get_many([(1, OLD + 1, 1), (2, OLD + 2, 999), (7, OLD + 7, 7)])
    assert found == [_oid(1), None, None]  # found; size changed; never cached
    assert not cache._loaded  # the other rows were not read
    cache.put(9, OLD, 9, _oid(9), read_at_ns=NOW)
    assert cache.get(3, OLD + 3, 3) == _oid(3)  # a single get reads them all, put ones kept
    assert cache.get(9, OLD, 9) == _oid(9)


def test_many_lookups_read_the_whole_cache(tmp_path: Path) -> None:
    cache = StatCache(_saved(tmp_path, 3))
    keys = [(ino, OLD + ino, ino) for ino in range(1, 1_500)]
    assert cache.get_many(keys)[:4] == [_oid(1), _oid(2), _oid(3), None]
    assert cache._loaded


def test_a_corrupt_cache_file_answers_nothing(tmp_path: Path) -> None:
    path = _saved(tmp_path, 2)
    path.write_bytes(b"not a database" * 100)
    assert StatCache(path).get_many([(1, OLD + 1, 1)]) == [None]
    assert StatCache(path).get(1, OLD + 1, 1) is None


def _rows(*names: str) -> list[Row]:
    return [(name, f"/d/{name}", i + 1, OLD + i, 10, 0o644) for i, name in enumerate(names)]


def test_a_listing_reads_back_whole(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "statcache.db")
    root, tree = Path("/d"), Listed(_oid(7), 20, 2)
    cache.remember_listing(root, _rows("a", "b"), tree, [_oid(1), _oid(2)], walked_at_ns=NOW)
    listing = StatCache(tmp_path / "statcache.db").listing(root)
    assert listing is not None
    assert (listing.tree, listing.files) == (tree, _rows("a", "b"))
    assert [listing.oid_at(0), listing.oid_at(1)] == [_oid(1), _oid(2)]
    assert cache.listing(Path("/elsewhere")) is None


def test_a_damaged_listing_is_not_read(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "statcache.db")
    root = Path("/d")
    cache.remember_listing(root, _rows("a"), Listed(_oid(7), 10, 1), [_oid(1)], walked_at_ns=NOW)
    (saved,) = (tmp_path / "listings").iterdir()
    saved.write_bytes(saved.read_bytes()[:-40])  # as if cut short
    assert cache.listing(root) is None


def test_no_listing_is_kept_while_a_file_is_too_new(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "statcache.db")
    rows = [("a", "/d/a", 1, NOW - 5, 10, 0o644)]
    cache.remember_listing(Path("/d"), rows, Listed(_oid(7), 10, 1), [_oid(1)], walked_at_ns=NOW)
    assert cache.listing(Path("/d")) is None


def _listed_and_learnt(path: Path, rows: list[Row]) -> StatCache:
    """A cache that hashed ``rows`` (file i to ``_oid(i)``), kept their listing, then saved."""
    cache = StatCache(path)
    oids = [_oid(i) for i in range(len(rows))]
    for (_, _, ino, mtime_ns, size, _), oid in zip(rows, oids, strict=True):
        cache.put(ino, mtime_ns, size, oid, read_at_ns=NOW)
    cache.remember_listing(Path("/d"), rows, Listed(_oid(7), 20, 2), oids, walked_at_ns=NOW)
    cache.save()
    return cache


def test_a_kept_listing_is_the_cache_entry_of_its_files(tmp_path: Path) -> None:
    path = tmp_path / "statcache.db"
    _listed_and_learnt(path, _rows("a", "b"))
    assert not path.exists()  # nothing for SQLite to hold: the listing has it all
    assert StatCache(path).get(2, OLD + 1, 10) == _oid(1)  # a full read takes in listings
    keys = [(1, OLD, 10), (2, OLD + 1, 10)]
    assert StatCache(path).get_many(keys) == [None, None]  # a few: SQLite only...
    listed = StatCache(path).listing(Path("/d"))
    assert StatCache(path).get_many(keys, listed) == [_oid(0), _oid(1)]  # ...and this listing


def test_what_no_listing_holds_is_saved_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "statcache.db"
    cache = _listed_and_learnt(path, _rows("a", "b"))
    cache.put(9, OLD, 3, _oid(9), read_at_ns=NOW)
    cache.put(1, OLD + 50, 10, _oid(8), read_at_ns=NOW)  # "a" changed since it was listed
    cache.save()
    again = StatCache(path)
    assert again.get_many([(9, OLD, 3), (1, OLD + 50, 10)]) == [_oid(9), _oid(8)]
    assert StatCache(path).get(1, OLD + 50, 10) == _oid(8)  # the newer mtime is kept
    assert StatCache(path).get(1, OLD, 10) is None
