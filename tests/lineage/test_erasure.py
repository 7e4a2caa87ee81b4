"""Erasure requests: recorded with the keyed hash only, on the audit trail, with a plan."""

from __future__ import annotations

from pathlib import Path

from samerun.lineage.audit import entries, verify
from samerun.lineage.erasure import request_erasure, requests_for
from samerun.lineage.records import key_hash, project_secret
from samerun.store.project import Project, open_store
from tests.conftest import Cli


def test_a_request_joins_the_trail_and_lists_what_to_clean(project: Path, cli: Cli) -> None:
    (project / "raw.jsonl").write_text('{"user": "u-77"}\n{"user": "u-78"}\n')
    assert cli("data", "add", "raw.jsonl", "--record-key", "user").exit_code == 0
    store = open_store(Project(project))
    try:
        digest = key_hash(project_secret(store.project.store_dir, create=False), "u-77")
        plan = request_erasure(store.meta, digest, reason="art. 17", actor="dpo")
        assert plan.to_clean == [f"raw.jsonl@{plan.lineage.versions[0].oid}"]
        assert plan.to_retrain == []
        (entry,) = [e for e in entries(store.meta) if e.kind == "erasure"]
        assert (entry.subject, entry.actor) == (plan.request.id, "dpo")
        assert entry.facts == {"key_hash": digest, "reason": "art. 17"}
        assert "u-77" not in str(entry)
        assert verify(store).intact
        assert [r.id for r in requests_for(store.meta, digest)] == [plan.request.id]
    finally:
        store.close()
