"""The record index: which rows of a dataset version hold a key value, without storing the value.

Each key value is hashed with keyed BLAKE2b (a MAC by design, RFC 7693) under a project secret
(``.samerun/lineage.key``, mode 0600, never committed: the store directory is ignored in git), so
the metadata database holds only keyed hashes; someone with the database but without the secret
cannot test guesses. Losing the secret makes queries fail (:func:`project_secret`), never answer
wrongly.

Indexing a million-row file should cost about one read of its key column (issue 18), so the only
per-row Python is one keyed hash per value (:meth:`KeyHasher.digests`: hashlib has no batch call,
this loop is the floor, about 0.4 µs a value); grouping the hashes into buckets is vectorized
(numpy, when installed; else a plain loop storing the same bytes) and each bucket is stored as one
blob of fixed-width (hash, row) pairs, so the database sees at most :data:`BUCKETS` rows per
version, never a row or a text entry per key.

A directory dataset is indexed file by file: each file of it that has the key column
(the others are skipped and named), as one sequence of rows in path order. A file's rows are
numbered after the previous file's (its first row is the count of rows before it), so the pairs
keep their format, a query still reads one bucket row per version, and the version's
:class:`FileRows` table (a few bytes per file) tells which file a row is in. That table is stored
as one more ``record_buckets`` row, under :data:`FILE_TABLE_BUCKET`, which no query by hash
reads: no new table and no migration for a format that a bucket blob already carries.

CSV, TSV and JSON Lines are read with the standard library; Parquet needs pyarrow.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samerun._exceptions import StoreError, UsageError

if TYPE_CHECKING:
    from samerun.store.meta import MetaStore

SECRET_NAME = "lineage.key"
#: Bytes of a keyed hash: 128 bits (shown as 32 hex digits).
DIGEST_BYTES = 16
#: The leading bits of a keyed hash that pick its bucket (its first 3 hex digits): the index is
#: one row per bucket and version, at most :data:`BUCKETS` per version however many keys it has.
BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS
#: A bucket's pairs, in row order: the keyed hash, then the (0-based) data row as a big-endian
#: unsigned 64-bit integer.
ROW_BYTES = 8
PAIR_BYTES = DIGEST_BYTES + ROW_BYTES
INDEXABLE = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
#: The ``record_buckets`` row of a directory version's file table (JSON ``[[path, first row,
#: rows], ...]``): outside ``0 .. BUCKETS - 1``, so a query by hash never reads it.
FILE_TABLE_BUCKET = -1
#: How many skipped files a message names before it says how many more.
SHOWN_FILES = 5


class _NotIndexed(UsageError):
    """A file that cannot be indexed by the column: not a supported format, or no such column.
    A single-file dataset reports it; a directory skips that file."""


def project_secret(store_dir: Path, *, create: bool) -> bytes:
    """The project's hashing key; with ``create`` it is made (mode 0600) when there is none."""
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
    """Keyed BLAKE2b under one secret, its keyed state computed once and copied for each value
    (a third faster than a keyed ``blake2b()`` per value, which compresses the key block again)."""

    def __init__(self, secret: bytes) -> None:
        self._keyed = hashlib.blake2b(key=secret, digest_size=DIGEST_BYTES)

    def digests(self, values: Iterable[bytes]) -> bytes:
        """The keyed hash of each value, in order, concatenated (:data:`DIGEST_BYTES` each)."""
        new = self._keyed.copy
        out = bytearray()
        for value in values:
            mac = new()
            mac.update(value)
            out += mac.digest()
        return bytes(out)


def key_hash(secret: bytes, value: str) -> str:
    """The keyed hash of ``value`` as queries and erasure requests name it (32 hex digits)."""
    return KeyHasher(secret).digests([value.encode()]).hex()


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


def key_column(path: Path, column: str) -> list[bytes]:
    """Every value of ``column`` in the file at ``path``, as UTF-8 text, in row order."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in INDEXABLE:
        raise _NotIndexed(
            f"{path.name}: cannot index records of this file; --record-key reads one "
            f"{', '.join(INDEXABLE)} file"
        )
    if suffix == ".parquet":
        return _parquet_column(path, column)
    if suffix in (".jsonl", ".ndjson"):
        return [value.encode() for value in _jsonl_column(path, column)]
    with path.open(newline="") as handle:
        reader = csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ",")
        header = next(reader, [])
        if column not in header:
            raise _no_column(path, column, header)
        at = header.index(column)
        return [(row[at] if at < len(row) else "").encode() for row in reader]


def _no_column(path: Path, column: str, columns: Sequence[str]) -> UsageError:
    shown = ", ".join(columns[:10]) or "none"
    return _NotIndexed(f"{path.name} has no column {column!r} (its columns: {shown})")


def _jsonl_column(path: Path, column: str) -> Iterator[str]:
    with path.open() as handle:
        first = True
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or column not in row:
                # without it in the first row the file has no such column; later, a row lacks it
                missing = _NotIndexed if first else UsageError
                raise missing(f"{path.name} line {number} has no key {column!r}")
            first = False
            yield _text(row[column])


def _parquet_column(path: Path, column: str) -> list[bytes]:
    try:  # optional: only Parquet files need it
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("indexing Parquet needs pyarrow: pip install pyarrow") from None
    parquet = pq.ParquetFile(path)  # not read_table: its dataset layer imports pandas (0.2 s)
    names = parquet.schema_arrow.names
    if column not in names:
        raise _no_column(path, column, names)
    values = parquet.read(columns=[column]).column(0)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())  # numbers as JSON writes them: 48213, 1.5
    if values.null_count:  # only then: a Python fill value makes pyarrow import pandas (0.15 s)
        values = pc.fill_null(values, "null")
    # Arrow's UTF-8 bytes as they are (a binary view of the text): no str per row to encode
    utf8: list[bytes] = pc.cast(values, pa.binary()).to_pylist()
    return utf8


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class FileRows:
    """A file of a directory version: its path inside the directory, and its rows in the
    version's numbering (``first_row`` to ``first_row + rows - 1``)."""

    path: str
    first_row: int
    rows: int


@dataclass(frozen=True)
class RecordIndex:
    """A dataset version's record index, as it is stored: the key column, the row count, each
    non-empty bucket's pairs (:data:`PAIR_BYTES` each, in row order), by bucket, and for a
    directory its files' rows; ``skipped`` names the directory's files left out (not stored)."""

    column: str
    rows: int
    buckets: list[tuple[int, bytes]]
    files: list[FileRows] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def index_digests(column: str, digests: bytes) -> RecordIndex:
    """The record index of rows whose keyed hashes are ``digests`` (:data:`DIGEST_BYTES` each,
    in row order): each row's pair goes to the bucket its hash's first :data:`BUCKET_BITS` pick."""
    try:  # optional: the vectorized grouping; without numpy a plain loop stores the same bytes
        import numpy  # noqa: F401
    except ImportError:
        buckets = _buckets_plain(digests)
    else:
        buckets = _buckets_numpy(digests)
    return RecordIndex(column, len(digests) // DIGEST_BYTES, buckets)


def _buckets_numpy(digests: bytes) -> list[tuple[int, bytes]]:
    """Pairs grouped by bucket with array operations: no Python object per row."""
    import numpy as np

    # whole hashes and row numbers as unsigned 64-bit words: bytes copied verbatim, and numpy's
    # fastest take (a structured or byte-wise copy is about twice as slow)
    hashes = np.frombuffer(digests, dtype=np.uint64).reshape(-1, DIGEST_BYTES // 8)
    bucket = np.frombuffer(digests, dtype=">u2")[:: DIGEST_BYTES // 2] >> (16 - BUCKET_BITS)
    order = np.argsort(bucket, kind="stable")  # stable: row order within a bucket
    pairs = np.empty((len(hashes), PAIR_BYTES // 8), dtype=np.uint64)
    pairs[:, :-1] = np.take(hashes, order, axis=0)
    pairs[:, -1] = order.astype(f">u{ROW_BYTES}").view(np.uint64)
    ends: list[int] = (np.cumsum(np.bincount(bucket, minlength=BUCKETS)) * PAIR_BYTES).tolist()
    blob = pairs.view(np.uint8).reshape(-1).data
    starts = [0, *ends[:-1]]
    return [
        (number, bytes(blob[start:end]))
        for number, (start, end) in enumerate(zip(starts, ends, strict=True))
        if end > start
    ]


def _buckets_plain(digests: bytes) -> list[tuple[int, bytes]]:
    """:func:`_buckets_numpy`'s result, a row at a time (no numpy installed)."""
    buckets: dict[int, bytearray] = {}
    for row, at in enumerate(range(0, len(digests), DIGEST_BYTES)):
        digest = digests[at : at + DIGEST_BYTES]
        pairs = buckets.setdefault(bucket_of(digest), bytearray())
        pairs += digest + row.to_bytes(ROW_BYTES, "big")
    return [(number, bytes(pairs)) for number, pairs in sorted(buckets.items())]


def bucket_of(digest: bytes) -> int:
    """The bucket of a keyed hash: its first :data:`BUCKET_BITS` bits."""
    return int.from_bytes(digest[:2], "big") >> (16 - BUCKET_BITS)


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
    index: RecordIndex | None = None,
) -> VersionRecord:
    """Note that ``oid`` is a version of ``dataset`` (and the run that produced it, if any),
    with its record index if it has one. Adding the same version again replaces its index."""
    from samerun.store.schema import dataset_versions, record_buckets

    producer = producer_of(meta, oid)
    column, count = (index.column, index.rows) if index is not None else (None, None)
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
            rows = [{"bucket": b, "oid": oid, "pairs": pairs} for b, pairs in index.buckets]
            if index.files:
                table = [[f.path, f.first_row, f.rows] for f in index.files]
                pairs = json.dumps(table, separators=(",", ":")).encode()
                rows.append({"bucket": FILE_TABLE_BUCKET, "oid": oid, "pairs": pairs})
            if rows:
                conn.execute(record_buckets.insert(), rows)
    return version


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


@dataclass(frozen=True)
class Held:
    """How many rows of a version hold a key and, for a directory, how many in each file."""

    rows: int
    files: dict[str, int]  # path inside the directory -> rows; empty for a single file


def holding(meta: MetaStore, digest: str) -> dict[str, Held]:
    """Version oid -> the rows holding the key whose keyed hash is ``digest``."""
    wanted = bytes.fromhex(digest)
    rows = meta.select(
        "SELECT oid, pairs FROM record_buckets WHERE bucket = :bucket",
        {"bucket": bucket_of(wanted)},
    )
    found = {}
    for oid, pairs in rows:
        held = _rows_holding(bytes(pairs), wanted)
        if held:
            found[str(oid)] = Held(len(held), _by_file(meta, str(oid), held))
    return found


def _rows_holding(pairs: bytes, wanted: bytes) -> list[int]:
    """The rows of the pairs that start with ``wanted`` (a match across two pairs does not
    count)."""
    rows = []
    at = pairs.find(wanted)
    while at >= 0:
        if at % PAIR_BYTES == 0:
            rows.append(int.from_bytes(pairs[at + DIGEST_BYTES : at + PAIR_BYTES], "big"))
            at = pairs.find(wanted, at + PAIR_BYTES)
        else:
            at = pairs.find(wanted, at + 1)
    return rows


def _by_file(meta: MetaStore, oid: str, rows: list[int]) -> dict[str, int]:
    """How many of ``rows`` are in each file of version ``oid`` (nothing for a single file)."""
    table = meta.select(
        "SELECT pairs FROM record_buckets WHERE bucket = :bucket AND oid = :oid",
        {"bucket": FILE_TABLE_BUCKET, "oid": oid},
    )
    if not table:
        return {}
    files = [FileRows(*entry) for entry in json.loads(bytes(table[0][0]))]
    firsts = [f.first_row for f in files]
    counts: dict[str, int] = {}
    for row in rows:
        path = files[bisect_right(firsts, row) - 1].path
        counts[path] = counts.get(path, 0) + 1
    return counts


def build_index(store_dir: Path, path: Path, column: str) -> RecordIndex:
    """The record index of the file or directory at ``path`` by ``column``. Reads the data but
    writes nothing except, on first use, the project secret. The column (a directory's columns,
    end to end) is hashed in one call and grouped without a Python object per row (see the
    module's docstring)."""
    if path.is_dir():
        values, files, skipped = _directory_column(path, column)
    else:
        values, files, skipped = key_column(path, column), [], []
    secret = project_secret(store_dir, create=True)
    index = index_digests(column, KeyHasher(secret).digests(values))
    return RecordIndex(index.column, index.rows, index.buckets, files, skipped)


def _directory_column(root: Path, column: str) -> tuple[list[bytes], list[FileRows], list[str]]:
    """The key columns of the files of the directory ``root`` that have it, end to end in path
    order, each file's rows in that numbering, and the files skipped."""
    from samerun.data.walk import walk  # the dataset's own listing: its files, sorted by path

    values: list[bytes] = []
    files: list[FileRows] = []
    skipped: list[str] = []
    first_row = 0
    for found in walk(root):
        try:
            read = key_column(Path(found.path), column)
        except _NotIndexed:
            skipped.append(found.rel)
            continue
        values += read
        files.append(FileRows(found.rel, first_row, len(read)))
        first_row += len(read)
    if not files:
        raise UsageError(
            f"{root.name}: none of its {len(skipped)} file(s) has a column {column!r} in a"
            f" format that can be indexed ({', '.join(INDEXABLE)})"
        )
    return values, files, skipped


def shown_files(paths: Sequence[str]) -> str:
    """``paths`` for a one-line message: the first :data:`SHOWN_FILES`, then how many more."""
    shown = ", ".join(paths[:SHOWN_FILES])
    more = len(paths) - SHOWN_FILES
    return f"{shown} and {more} more" if more > 0 else shown


def indexes_for(
    meta: MetaStore, store_dir: Path, datasets: Sequence[tuple[str, Path]], column: str | None
) -> list[RecordIndex | None]:
    """The record index of each (dataset, file) about to be added: by ``column`` when given,
    else by the column its last indexed version used (later versions are indexed the same way),
    else none. Every file is read and checked before the caller writes anything."""
    remembered = {v.dataset: v.key_column for v in versions(meta) if v.key_column is not None}
    chosen = [column or remembered.get(dataset) for dataset, _ in datasets]
    return [
        None if key is None else build_index(store_dir, path, key)
        for (_, path), key in zip(datasets, chosen, strict=True)
    ]
