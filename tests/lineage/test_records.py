"""The record index: keyed hashes of key values, read from each supported format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samerun._exceptions import StoreError, UsageError
from samerun.lineage.records import (
    RecordKey,
    build_index,
    holding,
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
    for path in _files(tmp_path):
        assert key_column(path, "id") == ["7", "8", "7"], path.name
        column, rows, count = build_index(tmp_path / "store", path, "id")
        assert (column, count) == ("id", 3)
        assert rows == {key_hash(secret, "7"): [0, 2], key_hash(secret, "8"): [1]}


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
        assert holding(meta, key_hash(secret, "7")) == {"blake3:v1": 2}
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
