"""The audit trail's entries, and how one is appended: one hash chain for the whole store.

Every run manifest (when a run ends, is pushed or is imported), verification, model version,
alias move and erasure request is appended as an entry that names what it records by hash, and
the hash of the entry before it. :mod:`samerun.lineage.audit` re-walks the chain.

An entry records one of three things, by its kind:

- a run: ``oid`` is the hash of the run's canonical manifest (the object the store keeps);
- a row another table keeps (a verification, a model version, an alias move): ``oid`` is the hash
  of that row's columns, :data:`ROW_SOURCES` says which, and ``facts["key"]`` finds the row. An
  alias move's columns are the registry's own chained event without its hash, so its ``oid`` *is*
  the event's hash: the registry's chain is linked into this one, not copied;
- an event held only here (an erasure request, a run's deletion): ``facts`` is the event and
  ``oid`` its hash.

Appends run inside the transaction that writes the record, so a record and its entry are
committed together or not at all. The chain's head is read inside that transaction after taking
the chain's lock (on SQLite the write lock ``BEGIN IMMEDIATE`` already holds, on PostgreSQL an
advisory lock), so two processes appending at once are put in order: no fork, nothing lost. Every
transaction takes that lock last, so one holding it never waits for another lock (no deadlock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from samerun.hashing import hash_bytes, hash_json

if TYPE_CHECKING:
    import sqlalchemy as sa

AuditKind = Literal["run", "verification", "model_version", "alias_move", "erasure", "deletion"]
AUDIT_KINDS: tuple[AuditKind, ...] = get_args(AuditKind)

#: PostgreSQL advisory lock taken by every append ("trail" in hex); SQLite needs none.
_TRAIL_LOCK = 0x747261696C


@dataclass(frozen=True)
class RowSource:
    """Where the row an entry records lives: its table, the columns that find it, the columns
    its hash covers (a fixed list, so that a later column never changes old hashes) and the
    column saying when it was written (a row written since the trail began must be on it)."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    written_at: str

    def digest(self, values: Mapping[str, Any]) -> str:
        return hash_json({column: values[column] for column in self.columns})


ROW_SOURCES: dict[AuditKind, RowSource] = {
    "verification": RowSource(
        "verifications",
        ("id",),
        ("id", "run_id", "replay_id", "verdict", "created_at", "details"),
        "created_at",
    ),
    "model_version": RowSource(
        "model_versions",
        ("model", "version"),
        ("model", "version", "run_id", "files", "description", "tags", "created_at", "created_by"),
        "created_at",
    ),
    "alias_move": RowSource(
        "alias_events",
        ("model", "seq"),
        (
            "model",
            "seq",
            "alias",
            "kind",
            "from_version",
            "to_version",
            "actor",
            "at",
            "reason",
            "prev_hash",
        ),
        "at",
    ),
}


@dataclass(frozen=True)
class AuditRecord:
    """What a writer appends: the kind of thing recorded, which one, and its hash."""

    kind: AuditKind
    subject: str  # a run id, ``model:version``, ``model@alias``, an erasure request's id
    oid: str
    actor: str = ""
    at: float = field(default_factory=time.time)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_run(cls, run_id: str, manifest: str, *, at: float) -> AuditRecord:
        """A run's manifest (its canonical JSON text) as the run ends or arrives."""
        return cls("run", run_id, hash_bytes(manifest.encode()), at=at)

    @classmethod
    def of_row(
        cls, kind: AuditKind, subject: str, values: Mapping[str, Any], *, actor: str, at: float
    ) -> AuditRecord:
        """A row of :data:`ROW_SOURCES`'s table for ``kind``, as it was written."""
        source = ROW_SOURCES[kind]
        key = {column: values[column] for column in source.key}
        return cls(kind, subject, source.digest(values), actor, at, {"key": key})

    @classmethod
    def of_event(
        cls, kind: AuditKind, subject: str, event: Mapping[str, Any], *, actor: str, at: float
    ) -> AuditRecord:
        """An event whose only record is this entry: ``event`` (JSON values) and its hash."""
        return cls(kind, subject, hash_json(dict(event)), actor, at, dict(event))


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain: a record, its place and the hash of the link before it."""

    seq: int  # 1, 2, ...: the chain's order
    kind: AuditKind
    subject: str
    oid: str
    actor: str
    at: float
    facts: dict[str, Any]
    prev_hash: str | None
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: every field but the hash itself."""
        values = asdict(self)
        del values["hash"]
        return values

    @property
    def intact(self) -> bool:
        return hash_json(self.body()) == self.hash

    @classmethod
    def sealed(cls, record: AuditRecord, *, seq: int, prev_hash: str | None) -> AuditEntry:
        # ``at`` as the float the database gives back, so that the hash is found again
        values = {**asdict(record), "at": float(record.at), "seq": seq, "prev_hash": prev_hash}
        return cls(**values, hash=hash_json(values))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditEntry:
        return cls(
            seq=int(row["seq"]),
            kind=row["kind"],
            subject=row["subject"],
            oid=row["oid"],
            actor=row["actor"],
            at=float(row["at"]),
            facts=json.loads(row["facts"]),
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def to_row(self) -> dict[str, Any]:
        return {**asdict(self), "facts": json.dumps(self.facts, sort_keys=True)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The columns of ``audit_entries``, in :meth:`AuditEntry.from_row`'s names.
ENTRY_COLUMNS = "seq, kind, subject, oid, actor, at, facts, prev_hash, hash"


def append_in(conn: sa.Connection, record: AuditRecord) -> AuditEntry:
    """Append ``record`` to the chain inside ``conn``'s write transaction, as its last step."""
    import sqlalchemy as sa  # start-up: reads never import SQLAlchemy

    from samerun.store.schema import audit_entries, audit_head

    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_TRAIL_LOCK})")
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).first()
    if head is None:  # the first append, or a lost head row: continue from the last entry
        head = conn.execute(
            sa.select(audit_entries.c.seq, audit_entries.c.hash)
            .order_by(audit_entries.c.seq.desc())
            .limit(1)
        ).first()
        conn.execute(audit_head.delete())
        conn.execute(audit_head.insert().values(id=1, seq=0, hash=""))
    seq, prev_hash = (0, None) if head is None else (int(head.seq), head.hash)
    entry = AuditEntry.sealed(record, seq=seq + 1, prev_hash=prev_hash)
    conn.execute(audit_entries.insert().values(**entry.to_row()))
    conn.execute(audit_head.update().values(seq=entry.seq, hash=entry.hash))
    return entry
