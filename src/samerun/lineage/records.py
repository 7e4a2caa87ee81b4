"""The record index: which rows of a dataset version hold a key value, without storing the value.

Each key value is hashed with HMAC-SHA256 under a project secret (``.samerun/lineage.key``, mode
0600, never committed: the store directory is ignored in git), so the metadata database holds
only keyed hashes; someone with the database but without the secret cannot test guesses.
Losing the secret makes queries fail (:func:`project_secret`), never answer wrongly.

CSV, TSV and JSON Lines are read with the standard library; Parquet needs pyarrow.
"""

from __future__ import annotations

import csv
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samerun._exceptions import StoreError, UsageError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from samerun.store.meta import MetaStore

SECRET_NAME = "lineage.key"
#: Hex digits of a keyed hash kept: 128 bits (a truncated HMAC, as RFC 2104 allows).
HASH_DIGITS = 32
#: The leading hex digits that pick a key's bucket: the index is one row per bucket and version
#: (at most 65,536 per version), not one per key, so a million keys are a few thousand inserts.
BUCKET_DIGITS = 4
#: Bucket rows written per INSERT.
INSERT_BATCH = 5_000
INDEXABLE = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")

#: A record index as :func:`record_version` takes it: (key column, keyed hash -> rows, row count).
Index = tuple[str, dict[str, list[int]], int]


def project_secret(store_dir: Path, *, create: bool) -> bytes:
    """The project's HMAC key; with ``create`` it is made (mode 0600) when there is none."""
    path = store_dir / SECRET_NAME
    if path.is_file():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        raise StoreError(
            f"{path} is missing: without the project secret key values cannot be hashed, so "
            "`lineage record` cannot answer; restore the file from your backup"
        )
    store_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


class KeyHasher:
    """Keyed hashes under one secret: HMAC-SHA256, its keyed state computed once and copied
    for each value (a third faster than :func:`hmac.digest` per value, for million-row files)."""

    def __init__(self, secret: bytes) -> None:
        self._keyed = hmac.new(secret, digestmod="sha256")

    def __call__(self, value: str) -> str:
        mac = self._keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()[:HASH_DIGITS]


def key_hash(secret: bytes, value: str) -> str:
    """The keyed hash stored for ``value`` (hex HMAC-SHA256, truncated to :data:`HASH_DIGITS`)."""
    return KeyHasher(secret)(value)


@dataclass(frozen=True)
class RecordKey:
    """A ``COLUMN=VALUE`` query, as typed by the user."""

    column: str
    value: str

    @classmethod
    def parse(cls, text: str) -> RecordKey:
        column, sep, value = text.partition("=")
        if not sep or not column.strip() or not value:
            raise UsageError(f"{text!r} is not KEY=VALUE; write it as customer_id=48213")
        return cls(column.strip(), value)


def key_column(path: Path, column: str) -> list[str]:
    """Every value of ``column`` in the file at ``path``, as text, in row order."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in INDEXABLE:
        raise UsageError(
            f"{path.name}: cannot index records of this file; --record-key reads one "
            f"{', '.join(INDEXABLE)} file"
        )
    if suffix == ".parquet":
        return _parquet_column(path, column)
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_column(path, column))
    with path.open(newline="") as handle:
        reader = csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ",")
        header = next(reader, [])
        if column not in header:
            raise _no_column(path, column, header)
        at = header.index(column)
        return [row[at] if at < len(row) else "" for row in reader]


def _no_column(path: Path, column: str, columns: Sequence[str]) -> UsageError:
    shown = ", ".join(columns[:10]) or "none"
    return UsageError(f"{path.name} has no column {column!r} (its columns: {shown})")


def _jsonl_column(path: Path, column: str) -> Iterator[str]:
    with path.open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or column not in row:
                raise UsageError(f"{path.name} line {number} has no key {column!r}")
            yield _text(row[column])


def _parquet_column(path: Path, column: str) -> list[str]:
    try:  # optional: only Parquet files need it
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("indexing Parquet needs pyarrow: pip install pyarrow") from None
    names = pq.read_schema(path).names
    if column not in names:
        raise _no_column(path, column, names)
    values = pq.read_table(path, columns=[column]).column(0)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())  # numbers as JSON writes them: 48213, 1.5
    return [value if value is not None else "null" for value in values.to_pylist()]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def row_index(secret: bytes, values: Sequence[str]) -> dict[str, list[int]]:
    """Keyed hash of each distinct value -> the (0-based) data rows holding it."""
    hasher = KeyHasher(secret)
    if len(set(values)) == len(values):  # a unique key, the usual case: one row each
        return {hasher(value): [number] for number, value in enumerate(values)}
    rows: dict[str, list[int]] = {}
    for number, value in enumerate(values):
        rows.setdefault(value, []).append(number)
    return {hasher(value): numbers for value, numbers in rows.items()}


@dataclass(frozen=True)
class VersionRecord:
    """A dataset version as lineage knows it."""

    dataset: str
    oid: str
    added_at: float
    producer_run: str | None  # the run whose output this version is, for derived data
    key_column: str | None  # None: not indexed
    row_count: int | None


def record_version(
    meta: MetaStore,
    dataset: str,
    oid: str,
    *,
    index: Index | None = None,
) -> VersionRecord:
    """Note that ``oid`` is a version of ``dataset`` (and the run that produced it, if any).

    ``index`` is (key column, keyed hash -> rows, row count); its rows are inserted in batches of
    :data:`INSERT_BATCH`. Adding the same version again replaces its index.
    """
    from samerun.store.schema import dataset_versions, record_buckets

    producer = producer_of(meta, oid)
    column, rows, count = index if index is not None else (None, {}, None)
    version = VersionRecord(dataset, oid, time.time(), producer, column, count)
    with meta._write() as conn:
        conn.execute(
            dataset_versions.delete().where(
                (dataset_versions.c.dataset == dataset) & (dataset_versions.c.oid == oid)
            )
        )
        conn.execute(
            dataset_versions.insert().values(
                dataset=dataset,
                oid=oid,
                added_at=version.added_at,
                producer_run=producer,
                key_column=column,
                row_count=count,
            )
        )
        if index is not None:
            conn.execute(record_buckets.delete().where(record_buckets.c.oid == oid))
            _insert_batched(conn, record_buckets, oid, rows)
    return version


def _insert_batched(
    conn: sa.Connection, table: sa.Table, oid: str, rows: dict[str, list[int]]
) -> None:
    buckets: dict[str, list[str]] = {}
    for digest, numbers in rows.items():
        held = str(numbers[0]) if len(numbers) == 1 else ",".join(map(str, numbers))
        entry = f"{digest[BUCKET_DIGITS:]}:{held}"
        buckets.setdefault(digest[:BUCKET_DIGITS], []).append(entry)
    batch = [
        {"bucket": bucket, "oid": oid, "entries": ";".join(entries)}
        for bucket, entries in sorted(buckets.items())
    ]
    for start in range(0, len(batch), INSERT_BATCH):
        conn.execute(table.insert(), batch[start : start + INSERT_BATCH])


def producer_of(meta: MetaStore, oid: str) -> str | None:
    """The finished run that wrote ``oid`` as an output, if one did (the earliest)."""
    found = meta.select(
        "SELECT a.run_id FROM artifacts a JOIN runs r ON r.id = a.run_id "
        "WHERE a.oid = :oid ORDER BY r.started_at LIMIT 1",
        {"oid": oid},
    )
    return str(found[0][0]) if found else None


def versions(meta: MetaStore, dataset: str | None = None) -> list[VersionRecord]:
    """Dataset versions known to lineage, oldest first (of ``dataset`` only, if given)."""
    where = "" if dataset is None else "WHERE dataset = :dataset"
    rows = meta.select(
        "SELECT dataset, oid, added_at, producer_run, key_column, row_count "
        f"FROM dataset_versions {where} ORDER BY added_at",
        {"dataset": dataset},
    )
    return [VersionRecord(*row) for row in rows]


def holding(meta: MetaStore, digest: str) -> dict[str, int]:
    """Version oid -> how many of its rows hold the key whose keyed hash is ``digest``."""
    rows = meta.select(
        "SELECT oid, entries FROM record_buckets WHERE bucket = :bucket",
        {"bucket": digest[:BUCKET_DIGITS]},
    )
    wanted = f";{digest[BUCKET_DIGITS:]}:"
    found = {}
    for oid, entries in rows:
        text = f";{entries};"
        at = text.find(wanted)
        if at >= 0:
            numbers = text[at + len(wanted) : text.index(";", at + 1)]
            found[str(oid)] = numbers.count(",") + 1
    return found


def build_index(store_dir: Path, path: Path, column: str) -> Index:
    """The record index of the file at ``path`` by ``column``: (column, keyed hash -> rows, row
    count). Reads the file but writes nothing except, on first use, the project secret."""
    values = key_column(path, column)
    secret = project_secret(store_dir, create=True)
    return column, row_index(secret, values), len(values)


def indexes_for(
    meta: MetaStore, store_dir: Path, datasets: Sequence[tuple[str, Path]], column: str | None
) -> list[Index | None]:
    """The record index of each (dataset, file) about to be added: by ``column`` when given,
    else by the column its last indexed version used (later versions are indexed the same way),
    else none. Every file is read and checked before the caller writes anything."""
    remembered = {v.dataset: v.key_column for v in versions(meta) if v.key_column is not None}
    chosen = [column or remembered.get(dataset) for dataset, _ in datasets]
    return [
        None if key is None else build_index(store_dir, path, key)
        for (_, path), key in zip(datasets, chosen, strict=True)
    ]
