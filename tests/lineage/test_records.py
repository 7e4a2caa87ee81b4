"""The record index: keyed hashes of key values, read from each supported format."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samerun._exceptions import StoreError, UsageError
from samerun.lineage import records
from samerun.lineage.records import (
    DIGEST_BYTES,
    FileRows,
    Held,
    KeyHasher,
    RecordKey,
    build_index,
    holding,
    index_digests,
    key_column,
    key_hash,
    project_secret,
    record_version,
    versions,
)
from samerun.store.meta import open_meta_store


def _files(root: Path) -> list[Path]:
    rows = [{"id": 7, "name": "a"}, {"id": 8, "name": "b"}, {"id": 7, "name": "c"}]
    csv = root / "people.csv"
    csv.write_text("id,name\n7,a\n8,b\n7,c\n")
    tsv = root / "people.tsv"
    tsv.write_text("id\tname\n7\ta\n8\tb\n7\tc\n")
    jsonl = root / "people.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parquet = root / "people.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    return [csv, tsv, jsonl, parquet]


def test_every_format_gives_the_same_index(tmp_path: Path) -> None:
    secret = project_secret(tmp_path / "store", create=True)
    expected: dict[int, bytes] = {}
    for row, value in enumerate(["7", "8", "7"]):
        digest = bytes.fromhex(key_hash(secret, value))
        bucket = records.bucket_of(digest)
        expected[bucket] = expected.get(bucket, b"") + digest + row.to_bytes(8, "big")
    for path in _files(tmp_path):
        assert key_column(path, "id") == [b"7", b"8", b"7"], path.name
        index = build_index(tmp_path / "store", path, "id")
        assert (index.column, index.rows) == ("id", 3)
        assert dict(index.buckets) == expected


def test_parquet_values_are_read_as_json_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({"id": [48213, None], "score": [1.5, 2.5]}), path)
    assert key_column(path, "id") == [b"48213", b"null"]
    assert key_column(path, "score") == [b"1.5", b"2.5"]


def test_the_key_hash_is_keyed_blake2b() -> None:
    wanted = hashlib.blake2b(b"48213", key=b"k" * 32, digest_size=DIGEST_BYTES).hexdigest()
    assert key_hash(b"k" * 32, "48213") == wanted


def test_the_column_is_hashed_in_one_call_and_grouped_without_a_python_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The performance constraint of the module's docstring: one hashing call over the whole
    column, and the numpy grouping (no per-row loop) when numpy is installed."""
    calls: list[int] = []
    hash_column = KeyHasher.digests

    def counted(self: KeyHasher, values: Iterable[bytes]) -> bytes:
        listed = list(values)
        calls.append(len(listed))
        return hash_column(self, listed)

    def per_row(digests: bytes) -> list[tuple[int, bytes]]:
        raise AssertionError("grouped a row at a time although numpy is installed")

    monkeypatch.setattr(KeyHasher, "digests", counted)
    monkeypatch.setattr(records, "_buckets_plain", per_row)
    index = build_index(tmp_path / "store", _files(tmp_path)[3], "id")
    assert calls == [3]
    assert index.rows == 3
    index = build_index(tmp_path / "store", tmp_path, "id")  # a directory: still one call
    assert calls == [3, 12]
    assert index.rows == 12


def test_both_groupings_store_the_same_bytes() -> None:
    digests = os.urandom(DIGEST_BYTES * 5_000) + os.urandom(DIGEST_BYTES) * 3  # 3 equal keys
    grouped = records._buckets_numpy(digests)
    assert grouped == records._buckets_plain(digests)
    assert records._buckets_numpy(b"") == records._buckets_plain(b"") == []  # a header alone
    assert sum(len(pairs) for _, pairs in grouped) == 5_003 * records.PAIR_BYTES
    assert [b for b, _ in grouped] == sorted({b for b, _ in grouped})


def test_a_hash_is_found_only_at_a_pair_boundary(tmp_path: Path) -> None:
    prefix, tail, head = os.urandom(2), os.urandom(2), os.urandom(2)
    wanted = prefix + tail + bytes(8) + prefix + head
    # row 0's hash ends, its row number (0) follows and row 1's hash starts as ``wanted`` does:
    # the bucket's pairs spell it across a boundary; only row 2 holds it
    first = prefix + os.urandom(10) + prefix + tail
    second = prefix + head + os.urandom(12)
    meta = open_meta_store(f"sqlite:///{tmp_path / 'meta.db'}", create=True)
    try:
        record_version(
            meta, "d.csv", "blake3:v1", index=index_digests("id", first + second + wanted)
        )
        assert holding(meta, wanted.hex()) == {"blake3:v1": Held(1, {})}
    finally:
        meta.close()


def test_the_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = project_secret(tmp_path, create=True)
    assert project_secret(tmp_path, create=False) == first
    assert (tmp_path / "lineage.key").stat().st_mode & 0o777 == 0o600
    assert key_hash(first, "7") != key_hash(b"another project", "7")
    with pytest.raises(StoreError, match=r"lineage\.key is missing"):
        project_secret(tmp_path / "elsewhere", create=False)


def test_an_indexed_version_answers_by_hash(tmp_path: Path) -> None:
    meta = open_meta_store(f"sqlite:///{tmp_path / 'meta.db'}", create=True)
    try:
        index = build_index(tmp_path, _files(tmp_path)[0], "id")
        record_version(meta, "people.csv", "blake3:v1", index=index)
        record_version(meta, "people.csv", "blake3:v1", index=index)  # again: replaced
        secret = project_secret(tmp_path, create=False)
        assert holding(meta, key_hash(secret, "7")) == {"blake3:v1": Held(2, {})}
        assert holding(meta, key_hash(secret, "9")) == {}
        (version,) = versions(meta, "people.csv")
        assert (version.key_column, version.row_count, version.producer_run) == ("id", 3, None)
    finally:
        meta.close()


def test_bad_input_is_named(tmp_path: Path) -> None:
    csv, _, jsonl, parquet = _files(tmp_path)
    for path in (csv, parquet):
        with pytest.raises(UsageError, match="has no column 'nope'"):
            key_column(path, "nope")
    with pytest.raises(UsageError, match="line 1 has no key 'nope'"):
        key_column(jsonl, "nope")
    with pytest.raises(UsageError, match="cannot index records"):
        key_column(tmp_path, "id")
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        RecordKey.parse("=7")
    assert RecordKey.parse("id=a=b") == RecordKey("id", "a=b")


def test_a_directory_is_indexed_file_by_file(tmp_path: Path) -> None:
    data = tmp_path / "customers"
    (data / "2025").mkdir(parents=True)
    _files(data / "2025")  # 4 files of 3 rows: 7, 8, 7
    (data / "extra.csv").write_text("id,name\n9,d\n7,e\n")
    (data / "notes.txt").write_text("id\n7\n")  # not indexable
    (data / "other.csv").write_text("name\nf\n")  # no such column
    index = build_index(tmp_path / "store", data, "id")
    assert index.files == [
        FileRows("2025/people.csv", 0, 3),
        FileRows("2025/people.jsonl", 3, 3),
        FileRows("2025/people.parquet", 6, 3),
        FileRows("2025/people.tsv", 9, 3),
        FileRows("extra.csv", 12, 2),
    ]
    assert (index.rows, index.skipped) == (14, ["notes.txt", "other.csv"])
    meta = open_meta_store(f"sqlite:///{tmp_path / 'meta.db'}", create=True)
    try:
        record_version(meta, "data/customers", "blake3:dir", index=index)
        secret = project_secret(tmp_path / "store", create=False)
        per_file = {f.path: 2 for f in index.files[:4]}
        assert holding(meta, key_hash(secret, "7")) == {
            "blake3:dir": Held(9, {**per_file, "extra.csv": 1})
        }
        assert holding(meta, key_hash(secret, "9")) == {"blake3:dir": Held(1, {"extra.csv": 1})}
        (version,) = versions(meta, "data/customers")
        assert (version.key_column, version.row_count) == ("id", 14)
    finally:
        meta.close()


def test_a_directory_without_the_column_is_refused_and_a_bad_row_is_not_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.csv").write_text("name\nf\n")
    (tmp_path / "b.txt").write_text("id\n7\n")
    with pytest.raises(UsageError, match="none of its 2 file\\(s\\) has a column 'id'"):
        build_index(tmp_path / ".store", tmp_path, "id")
    assert not (tmp_path / ".store").exists()  # not even the secret
    (tmp_path / "c.jsonl").write_text('{"id": 1}\n{"name": "x"}\n')
    with pytest.raises(UsageError, match=r"c\.jsonl line 2 has no key 'id'"):
        build_index(tmp_path / ".store", tmp_path, "id")
