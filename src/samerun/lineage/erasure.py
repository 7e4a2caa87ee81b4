"""Erasure requests: recorded as events (who, when, why, the record's keyed hash — never the
raw value) and appended to the audit trail in the same transaction. History is never rewritten:
the answer to a request is the list of dataset versions to clean and model versions to retrain,
and, once a cleaned version is added and a model retrained, ``lineage record`` shows them clean.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from samerun.lineage.audit import AuditRecord, append_in
from samerun.lineage.graph import HOLDING, RecordLineage, record_lineage
from samerun.store.meta import MetaStore


@dataclass(frozen=True)
class ErasureRequest:
    """One recorded request to erase a record."""

    id: str
    key_hash: str
    actor: str
    at: float
    reason: str


@dataclass(frozen=True)
class ErasurePlan:
    """A recorded request and what it leaves to do."""

    request: ErasureRequest
    lineage: RecordLineage

    @property
    def to_clean(self) -> list[str]:
        """``dataset@oid`` of each version holding (or maybe holding) the record."""
        return [f"{v.dataset}@{v.oid}" for v in self.lineage.versions if v.state in HOLDING]

    @property
    def to_retrain(self) -> list[str]:
        return [f"{m.model}:{m.version}" for m in self.lineage.models]


def request_erasure(meta: MetaStore, digest: str, *, reason: str, actor: str) -> ErasurePlan:
    """Record an erasure request for the record whose keyed hash is ``digest``."""
    from samerun.store.schema import erasures  # SQLAlchemy: only when a request is written

    request = ErasureRequest(secrets.token_hex(8), digest, actor, time.time(), reason)
    event = {"key_hash": digest, "reason": reason}
    with meta._write() as conn:
        conn.execute(
            erasures.insert().values(
                id=request.id, key_hash=digest, actor=actor, at=request.at, reason=reason
            )
        )
        append_in(
            conn, AuditRecord.of_event("erasure", request.id, event, actor=actor, at=request.at)
        )
    return ErasurePlan(request, record_lineage(meta, digest))


def requests_for(meta: MetaStore, digest: str) -> list[ErasureRequest]:
    """The erasure requests recorded for the record, oldest first."""
    rows = meta.select(
        "SELECT id, key_hash, actor, at, reason FROM erasures WHERE key_hash = :d ORDER BY at",
        {"d": digest},
    )
    return [ErasureRequest(str(i), str(h), str(a), float(t), str(r)) for i, h, a, t, r in rows]
