"""The audit trail through the library: appends, and re-walking the chain."""

from __future__ import annotations

from pathlib import Path

from samerun.lineage.audit import AuditRecord, append
from samerun.store.meta import open_meta_store


def test_an_erasure_request_is_appended_as_an_event_of_its_own(tmp_path: Path) -> None:
    meta = open_meta_store(f"sqlite:///{tmp_path}/meta.db", create=True)
    try:
        request = {"key": "customer_id", "hmac": "0" * 64, "reason": "GDPR art. 17"}
        entry = append(meta, AuditRecord.of_event("erasure", "1", request, actor="ana", at=2.0))
    finally:
        meta.close()
    assert (entry.seq, entry.kind, entry.facts) == (1, "erasure", request)
    assert entry.intact
