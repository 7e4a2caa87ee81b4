"""The audit trail: append to it, and re-walk it.

The chain itself (its entries and how one is appended inside a write transaction) is
:mod:`samerun.store.trail`, since the store appends each run as it commits it; this module is
the API the library layer appends through, and :func:`verify`, which re-walks the chain.

:func:`verify` checks, in one pass:

- the chain: entries numbered 1, 2, ... without a gap, each sealed by its hash and naming the
  hash of the one before, the last one matching the recorded head;
- what each entry names: a run's manifest (in the database and as a stored object, re-hashed),
  a verification, a model version or an alias move (its row, re-hashed), an erasure request;
- the database against the chain: a run's name, status, params and metric summaries as
  ``runs``, the UI and the server show them, against the manifest the chain holds;
- runs without an entry. The trail starts at its first entry: runs of a store that existed
  before it (schema 0007) are listed as recorded *before the trail*, not as problems; a run
  that ended after the trail began and has no entry is one. A run still running has none yet.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from samerun._exceptions import ObjectCorrupt, ObjectNotFound
from samerun.hashing import hash_bytes, hash_json
from samerun.store.meta import param_rows
from samerun.store.trail import (
    AUDIT_KINDS,
    ENTRY_COLUMNS,
    ROW_SOURCES,
    AuditEntry,
    AuditKind,
    AuditRecord,
    append_in,
)
from samerun.summary import MetricSummary

if TYPE_CHECKING:
    from samerun.store.meta import MetaStore
    from samerun.store.project import Store

__all__ = [
    "AUDIT_KINDS",
    "AuditEntry",
    "AuditKind",
    "AuditRecord",
    "AuditReport",
    "Finding",
    "append",
    "append_in",
    "entries",
    "verify",
]


def append(meta: MetaStore, record: AuditRecord) -> AuditEntry:
    """Append ``record`` to the trail of ``meta`` in a write transaction of its own.

    A writer that stores the record in a table of its own appends with :func:`append_in` inside
    that transaction instead, so that the row and its entry are committed together.
    """
    with meta._write() as conn:
        return append_in(conn, record)


def entries(meta: MetaStore) -> list[AuditEntry]:
    """The trail's entries, oldest first."""
    names = ENTRY_COLUMNS.replace(" ", "").split(",")
    rows = meta.select(f"SELECT {ENTRY_COLUMNS} FROM audit_entries ORDER BY seq", {})
    return [AuditEntry.from_row(dict(zip(names, row, strict=True))) for row in rows]


@dataclass(frozen=True)
class Finding:
    """One thing that no longer matches the trail, with the entry it was checked against."""

    seq: int | None  # None: a run that should have an entry and has none
    subject: str
    problem: str

    def __str__(self) -> str:
        where = "no entry" if self.seq is None else f"entry {self.seq}"
        return f"{where} ({self.subject}): {self.problem}"


@dataclass(frozen=True)
class AuditReport:
    """The result of re-walking the trail."""

    entries: int
    started_at: float | None  # the first entry's time: where the trail starts
    head: str | None
    objects_rehashed: int
    before_trail: list[str] = field(default_factory=list)  # run ids recorded before it began
    deleted: list[str] = field(default_factory=list)  # run ids deleted with `samerun delete`
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "intact": self.intact}


def verify(store: Store, *, noted: Sequence[str] = ()) -> AuditReport:
    """Re-walk the trail of ``store``, re-hash what it names and check the database against it.

    ``noted`` are entry hashes kept outside the store (a head printed by an earlier verify): the
    trail must still hold each, which a rewrite of the whole chain cannot fake.
    """
    chain = entries(store.meta)
    findings = _check_links(store.meta, chain)
    # a run deleted on request (`samerun delete`, a deletion entry) is gone on purpose: its
    # entries before that one name rows that no longer exist and are not checked against them
    deleted = {entry.subject: entry.seq for entry in chain if entry.kind == "deletion"}
    held = {entry.hash for entry in chain}
    findings += [
        Finding(None, "a noted entry", f"{digest} is no longer on the trail")
        for digest in noted
        if digest not in held
    ]
    rehashed = 0
    on_trail: set[str] = set()
    for entry in chain:
        if entry.kind in ("run", "verification") and entry.seq < deleted.get(entry.subject, 0):
            continue
        if entry.kind == "run":
            on_trail.add(entry.subject)
            found, hashed = _check_run(store, entry)
            findings += found
            rehashed += hashed
        elif entry.kind in ROW_SOURCES:
            findings += _check_row(store.meta, entry)
        elif hash_json(entry.facts) != entry.oid:
            findings.append(Finding(entry.seq, _label(entry), "its event no longer matches"))
    start = chain[0].at if chain else None
    before: list[str] = []
    for run_id, started_at, status in store.meta.select(
        "SELECT id, started_at, status FROM runs ORDER BY started_at, id", {}
    ):
        if run_id in on_trail or status == "running":
            continue
        if start is None or float(started_at) < start:
            before.append(run_id)
        else:
            findings.append(
                Finding(None, f"run {run_id}", "it ended after the trail began but is not on it")
            )
    findings += _rows_off_the_trail(store.meta, chain, start)
    head = chain[-1].hash if chain else None
    return AuditReport(len(chain), start, head, rehashed, before, list(deleted), findings)


def _rows_off_the_trail(
    meta: MetaStore, chain: list[AuditEntry], start: float | None
) -> list[Finding]:
    """Verifications, model versions and alias moves written since the trail began (inserted
    in SQL, say) that no entry names."""
    findings = []
    for kind, source in ROW_SOURCES.items():
        named = {
            tuple(entry.facts.get("key", {}).get(column) for column in source.key)
            for entry in chain
            if entry.kind == kind
        }
        for *key, written_at in meta.select(
            f"SELECT {', '.join(source.key)}, {source.written_at} FROM {source.table}", {}
        ):
            if tuple(key) in named or start is None or float(written_at) < start:
                continue
            shown = ":".join(str(part) for part in key)
            findings.append(
                Finding(
                    None,
                    f"{kind.replace('_', ' ')} {shown}",
                    f"its row in {source.table} was added after the trail began but is not on it",
                )
            )
    return findings


def _check_links(meta: MetaStore, chain: list[AuditEntry]) -> list[Finding]:
    findings = []
    previous: AuditEntry | None = None
    for entry in chain:
        expected = 1 if previous is None else previous.seq + 1
        if entry.seq != expected:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            findings.append(
                Finding(entry.seq, _label(entry), f"entries {missing} before it were deleted")
            )
        elif entry.prev_hash != (None if previous is None else previous.hash):
            findings.append(
                Finding(entry.seq, _label(entry), "it does not name the hash of the entry before")
            )
        if not entry.intact:
            findings.append(
                Finding(entry.seq, _label(entry), "it was edited: it no longer matches its hash")
            )
        previous = entry
    head = meta.select("SELECT seq, hash FROM audit_head", {})
    if head and (previous is None or (previous.seq, previous.hash) != (head[0][0], head[0][1])):
        last = 0 if previous is None else previous.seq
        findings.append(
            Finding(int(head[0][0]), "the trail's head", f"entries after {last} were deleted")
        )
    return findings


def _label(entry: AuditEntry) -> str:
    return f"{entry.kind.replace('_', ' ')} {entry.subject}"


def _check_run(store: Store, entry: AuditEntry) -> tuple[list[Finding], int]:
    """The run's row and manifest object against the entry; the rows shown against the
    manifest. Also how many objects were re-hashed."""

    def found(problem: str) -> Finding:
        return Finding(entry.seq, _label(entry), problem)

    rows = store.meta.select(
        "SELECT name, status, manifest, manifest_oid FROM runs WHERE id = :id",
        {"id": entry.subject},
    )
    if not rows:
        return [found("the run was deleted from the database")], 0
    name, status, text, manifest_oid = rows[0]
    findings = []
    rehashed = 0
    if manifest_oid is not None:
        try:
            store.objects.get_bytes(manifest_oid)  # re-hashed as it is read
            rehashed = 1
        except ObjectNotFound:
            findings.append(found(f"its manifest object {manifest_oid} is missing"))
        except ObjectCorrupt:
            findings.append(found(f"its manifest object {manifest_oid} was changed"))
        if manifest_oid != entry.oid:
            findings.append(found("the manifest it names is not the one on the trail"))
    if hash_bytes(str(text).encode()) != entry.oid:
        return [*findings, found("its manifest in the database was edited")], rehashed
    manifest = _Shown.from_json(text)
    if name != manifest.name:
        findings.append(found(f"its name is {name!r} in the database, {manifest.name!r} on it"))
    if status != manifest.status:
        findings.append(found(f"its status is {status} in the database, {manifest.status} on it"))
    findings += [found(p) for p in _param_changes(store.meta, entry.subject, manifest)]
    findings += [found(p) for p in _metric_changes(store.meta, entry.subject, manifest)]
    return findings, rehashed


@dataclass(frozen=True)
class _Shown:
    """What ``runs``, the UI and the server show of a run, as its manifest records it: read
    from the JSON alone, since building a whole Manifest (each package's origin) took 85% of
    the time of a verify."""

    name: str | None
    status: str
    params: dict[str, Any]
    metrics: dict[str, MetricSummary]

    @classmethod
    def from_json(cls, text: str) -> _Shown:
        data = json.loads(text)
        metrics = data["outputs"]["metrics"]
        return cls(
            data["name"],
            data["status"],
            data["inputs"]["params"],
            {key: MetricSummary.from_dict(m) for key, m in metrics.items()},
        )


def _param_changes(meta: MetaStore, run_id: str, manifest: _Shown) -> Iterable[str]:
    held = dict(meta.select("SELECT key, value FROM params WHERE run_id = :id", {"id": run_id}))
    recorded = {key: value for key, value, _, _ in param_rows(manifest.params)}
    for key in sorted(held.keys() | recorded.keys()):
        if held.get(key) != recorded.get(key):
            yield (
                f"param {key} is {held.get(key, 'absent')} in the database,"
                f" {recorded.get(key, 'absent')} on it"
            )


def _metric_changes(meta: MetaStore, run_id: str, manifest: _Shown) -> Iterable[str]:
    rows = meta.select(
        "SELECT key, last, min, max, count, step, series FROM metric_summaries WHERE run_id = :id",
        {"id": run_id},
    )
    held = {key: (_nan(a), _nan(b), _nan(c), int(n), int(s), o) for key, a, b, c, n, s, o in rows}
    recorded = {
        key: (m.last, m.min, m.max, m.count, m.step, m.series)
        for key, m in manifest.metrics.items()
    }
    for key in sorted(held.keys() | recorded.keys()):
        if not _same(held.get(key), recorded.get(key)):
            shown = {
                k: "absent" if v is None else f"last {v[0]}"
                for k, v in (("db", held.get(key)), ("trail", recorded.get(key)))
            }
            yield f"metric {key} is {shown['db']} in the database, {shown['trail']} on it"


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _same(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> bool:
    """Equal summaries, NaN equal to NaN (SQL stores NaN as NULL)."""
    if a is None or b is None:
        return a is b
    return all(
        (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        or x == y
        for x, y in zip(a, b, strict=True)
    )


def _check_row(meta: MetaStore, entry: AuditEntry) -> list[Finding]:
    source = ROW_SOURCES[entry.kind]
    key = entry.facts.get("key", {})
    where = " AND ".join(f"{column} = :{column}" for column in source.key)
    rows = meta.select(
        f"SELECT {', '.join(source.columns)} FROM {source.table} WHERE {where}",
        {column: key.get(column) for column in source.key},
    )
    if not rows:
        return [Finding(entry.seq, _label(entry), f"its row in {source.table} was deleted")]
    if source.digest(dict(zip(source.columns, rows[0], strict=True))) != entry.oid:
        return [Finding(entry.seq, _label(entry), f"its row in {source.table} was edited")]
    return []
