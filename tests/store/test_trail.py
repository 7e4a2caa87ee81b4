"""The audit trail's chain as the store appends to it: linked, sealed, and never forked."""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator

import pytest

from samerun.store.meta import MetaStore, open_meta_store
from samerun.store.trail import ENTRY_COLUMNS, AuditEntry, AuditRecord, append_in

APPENDS = 40


@pytest.fixture
def meta(meta_url: str) -> Iterator[MetaStore]:
    store = open_meta_store(meta_url, create=True)
    try:
        yield store
    finally:
        store.close()


def _entries(meta: MetaStore) -> list[AuditEntry]:
    rows = meta.select(f"SELECT {ENTRY_COLUMNS} FROM audit_entries ORDER BY seq", {})
    names = ENTRY_COLUMNS.replace(" ", "").split(",")
    return [AuditEntry.from_row(dict(zip(names, row, strict=True))) for row in rows]


def _append(meta: MetaStore, subject: str) -> AuditEntry:
    record = AuditRecord.of_event("erasure", subject, {"reason": subject}, actor="ana", at=1.5)
    with meta._write() as conn:
        return append_in(conn, record)


def test_each_entry_names_the_hash_of_the_one_before(meta: MetaStore) -> None:
    first, second = _append(meta, "a"), _append(meta, "b")
    assert (first.seq, first.prev_hash) == (1, None)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert _entries(meta) == [first, second]
    assert all(entry.intact for entry in _entries(meta))
    assert meta.select("SELECT seq, hash FROM audit_head", {}) == [(2, second.hash)]


def test_an_entry_with_a_changed_field_no_longer_matches_its_hash(meta: MetaStore) -> None:
    entry = _append(meta, "a")
    forged = AuditEntry(**{**entry.to_dict(), "actor": "mallory"})
    assert entry.intact
    assert not forged.intact


def _append_then_fail(meta: MetaStore) -> None:
    with meta._write() as conn:
        append_in(conn, AuditRecord.of_event("erasure", "a", {}, actor="ana", at=1.0))
        raise RuntimeError("the write it belonged to failed")


def test_a_failed_transaction_appends_nothing(meta: MetaStore) -> None:
    with pytest.raises(RuntimeError):
        _append_then_fail(meta)
    assert _entries(meta) == []


def _appender(url: str, name: str, start: multiprocessing.synchronize.Barrier) -> None:
    store = open_meta_store(url)
    try:
        start.wait()
        for i in range(APPENDS):
            _append(store, f"{name}-{i}")
    finally:
        store.close()


def test_two_processes_appending_at_once_lose_nothing_and_never_fork(
    meta: MetaStore, meta_url: str
) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    writers = [context.Process(target=_appender, args=(meta_url, n, start)) for n in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    entries = _entries(meta)
    assert [e.seq for e in entries] == list(range(1, 2 * APPENDS + 1))
    assert sorted(e.subject for e in entries) == sorted(
        f"{n}-{i}" for n in "ab" for i in range(APPENDS)
    )
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert all(entry.intact for entry in entries)
