from __future__ import annotations

from samerun.data.statcache import COARSE_RACY_WINDOW_NS, FINE_RACY_WINDOW_NS, StatCache, racy

MS = 1_000_000
NOW = 1_790_000_001_123_456_789


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
