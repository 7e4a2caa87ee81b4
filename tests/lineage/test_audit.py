"""The audit trail on a real project: every record appended, every edit found with its entry."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from samerun.lineage.audit import AuditRecord, append, entries, verify
from samerun.registry import Registry
from samerun.store.meta import open_meta_store
from samerun.store.project import Project, Store, open_store
from tests.conftest import Cli
from tests.store.conftest import postgres_server, postgres_url, postgres_urls  # noqa: F401


def _record(cli: Cli, lr: str) -> str:
    done = cli("record", "--json", "-p", f"lr={lr}", "-o", "model.pkl", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    return str(json.loads(done.stdout)["id"])


@pytest.fixture
def runs(project: Path, cli: Cli) -> list[str]:
    """Two recorded runs, the second registered as churn v1 and moved to production."""
    found = [_record(cli, "0.1"), _record(cli, "0.2")]
    assert cli("model", "register", "churn", "--run", found[1]).exit_code == 0
    assert cli("model", "alias", "churn", "production", "1").exit_code == 0
    return found


@pytest.fixture
def store(project: Path) -> Iterator[Store]:
    opened = open_store(Project(project))
    try:
        yield opened
    finally:
        opened.close()


def _sql(project: Path, statement: str) -> None:
    with sqlite3.connect(project / ".samerun" / "meta.db") as db:
        db.execute(statement)


def _findings(project: Path) -> list[str]:
    store = open_store(Project(project))
    try:
        return [str(f) for f in verify(store).findings]
    finally:
        store.close()


def test_runs_model_versions_and_alias_moves_are_on_the_trail(
    runs: list[str], store: Store
) -> None:
    trail = entries(store.meta)
    assert [(e.kind, e.subject) for e in trail] == [
        ("run", runs[0]),
        ("run", runs[1]),
        ("model_version", "churn:1"),
        ("alias_move", "churn@production"),
    ]
    assert trail[3].oid == Registry(store).history("churn").events[0].hash  # linked, not copied
    report = verify(store)
    assert report.intact, report.findings
    assert (report.entries, report.objects_rehashed, report.before_trail) == (4, 2, [])


def test_a_metric_param_name_or_status_changed_in_sql_is_named_with_its_entry(
    runs: list[str], project: Path
) -> None:
    _sql(project, f"UPDATE metric_summaries SET last = 0.99 WHERE run_id = '{runs[0]}'")
    _sql(project, f"UPDATE params SET value = '0.5' WHERE run_id = '{runs[1]}' AND key = 'lr'")
    _sql(project, f"UPDATE runs SET name = 'best', status = 'failed' WHERE id = '{runs[1]}'")
    findings = _findings(project)
    assert any(f.startswith(f"entry 1 (run {runs[0]}): metric ") for f in findings)
    assert f"entry 2 (run {runs[1]}): param lr is 0.5 in the database, 0.2 on it" in findings
    assert f"entry 2 (run {runs[1]}): its name is 'best' in the database, None on it" in findings
    assert (
        f"entry 2 (run {runs[1]}): its status is failed in the database, finished on it" in findings
    )


def test_an_edited_manifest_and_a_deleted_run_are_named(runs: list[str], project: Path) -> None:
    _sql(
        project,
        f"UPDATE runs SET manifest = replace(manifest, '0.1', '0.3') WHERE id = '{runs[0]}'",
    )
    for table in ("params", "metric_summaries", "metrics", "artifacts", "tags"):
        _sql(project, f"DELETE FROM {table} WHERE run_id = '{runs[1]}'")
    _sql(project, f"DELETE FROM model_versions WHERE run_id = '{runs[1]}'")
    _sql(project, f"DELETE FROM runs WHERE id = '{runs[1]}'")
    assert _findings(project) == [
        f"entry 1 (run {runs[0]}): its manifest in the database was edited",
        f"entry 2 (run {runs[1]}): the run was deleted from the database",
        "entry 3 (model version churn:1): its row in model_versions was deleted",
    ]


def test_a_flipped_byte_in_a_manifest_object_is_found_by_re_hashing(
    runs: list[str], store: Store, project: Path
) -> None:
    oid = store.meta.select("SELECT manifest_oid FROM runs WHERE id = :id", {"id": runs[0]})[0][0]
    path = store.objects.path_of(oid)
    assert path is not None
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))
    assert _findings(project) == [f"entry 1 (run {runs[0]}): its manifest object {oid} was changed"]


def test_edited_or_deleted_entries_are_named(runs: list[str], project: Path) -> None:
    _sql(project, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3")
    _sql(project, "DELETE FROM audit_entries WHERE seq = 4")
    findings = _findings(project)
    assert "entry 3 (model_version churn:1): it was edited: it no longer matches its hash" in [
        f.replace("model version", "model_version", 1) for f in findings
    ]
    assert "entry 4 (the trail's head): entries after 3 were deleted" in findings
    _sql(project, "DELETE FROM audit_entries WHERE seq = 2")
    assert "entry 3 (model version churn:1): entries 2 before it were deleted" in _findings(project)


def test_runs_of_a_store_older_than_the_trail_are_listed_before_it(project: Path, cli: Cli) -> None:
    old = _record(cli, "0.1")
    _sql(project, "DELETE FROM audit_entries")  # as a store from before schema 0007
    _sql(project, "DELETE FROM audit_head")
    new = _record(cli, "0.2")
    store = open_store(Project(project))
    try:
        report, trail = verify(store), entries(store.meta)
    finally:
        store.close()
    assert report.intact, report.findings
    assert report.before_trail == [old]
    assert [e.subject for e in trail] == [new]


def test_an_erasure_request_is_appended_as_an_event_of_its_own(tmp_path: Path) -> None:
    meta = open_meta_store(f"sqlite:///{tmp_path}/meta.db", create=True)
    try:
        request = {"key": "customer_id", "hmac": "0" * 64, "reason": "GDPR art. 17"}
        entry = append(meta, AuditRecord.of_event("erasure", "1", request, actor="ana", at=2.0))
    finally:
        meta.close()
    assert (entry.seq, entry.kind, entry.facts) == (1, "erasure", request)
    assert entry.intact


def test_a_verdict_is_on_the_trail_and_an_edited_one_is_named(
    runs: list[str], store: Store, project: Path
) -> None:
    store.meta.add_verification(
        run_id=runs[0], replay_id=None, verdict="identical", details={"causes": []}
    )
    assert entries(store.meta)[-1].kind == "verification"
    assert verify(store).intact
    _sql(project, "UPDATE verifications SET verdict = 'diverged'")
    assert _findings(project) == [
        f"entry 5 (verification {runs[0]}): its row in verifications was edited"
    ]


def test_the_trail_of_a_postgresql_store_is_checked_the_same_way(
    postgres_url: str,  # noqa: F811
    project: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMERUN_METADATA_URL", postgres_url)
    run = _record(cli, "0.1")
    assert _findings(project) == []
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE metric_summaries SET last = 0.99"))
    engine.dispose()
    assert any(f.startswith(f"entry 1 (run {run}): metric ") for f in _findings(project))


def test_a_store_recorded_by_samerun_0_1_has_its_runs_before_the_trail(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = Path(__file__).parents[1] / "fixtures" / "store_0_1"
    root = tmp_path / "old"
    shutil.copytree(fixture / "project", root)
    shutil.copytree(fixture / "store", root / ".samerun")
    Project(root).init()  # what a fresh store has besides its data: the .gitignore
    monkeypatch.setenv("SAMERUN_ROOT", str(root))
    done = cli("audit", "verify", "--json", cwd=root)
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    with sqlite3.connect(root / ".samerun" / "meta.db") as db:
        old = sorted(run_id for (run_id,) in db.execute("SELECT id FROM runs"))
    assert (report["entries"], sorted(report["before_trail"])) == (0, old)
    shown = cli("audit", "verify", cwd=root).stdout
    assert f"{len(old)} run(s) recorded before the trail:" in shown
    assert "the trail has no entries yet" in shown


def _mover(root: str, start: multiprocessing.synchronize.Barrier) -> None:
    store = open_store(Project(Path(root)))
    try:
        registry = Registry(store)
        start.wait()
        for i in range(20):
            registry.set_alias("churn", "staging", 1, reason=str(i))
    finally:
        store.close()


def _eraser(root: str, start: multiprocessing.synchronize.Barrier) -> None:
    store = open_store(Project(Path(root)))
    try:
        start.wait()
        for i in range(20):
            append(store.meta, AuditRecord.of_event("erasure", str(i), {"n": i}, actor="b", at=1))
    finally:
        store.close()


def test_two_processes_appending_at_once_lose_nothing(runs: list[str], project: Path) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    writers = [context.Process(target=f, args=(str(project), start)) for f in (_mover, _eraser)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    store = open_store(Project(project))
    try:
        trail, report = entries(store.meta), verify(store)
    finally:
        store.close()
    assert report.intact, report.findings
    assert [e.seq for e in trail] == list(range(1, 45))
    kinds = [e.kind for e in trail[4:]]
    assert (kinds.count("alias_move"), kinds.count("erasure")) == (20, 20)


def test_a_model_version_inserted_in_sql_is_named(runs: list[str], project: Path) -> None:
    _sql(
        project,
        "INSERT INTO model_versions SELECT model, 2, run_id, files, description, tags,"
        " created_at + 1, 'mallory' FROM model_versions WHERE version = 1",
    )
    assert _findings(project) == [
        "no entry (model version churn:2): its row in model_versions was added after the trail"
        " began but is not on it"
    ]


def test_a_run_deleted_on_request_is_on_the_trail_not_a_finding(
    runs: list[str], project: Path, cli: Cli
) -> None:
    refused = cli("delete", runs[1], "--reason", "not needed")
    assert refused.exit_code == 1
    assert "model version churn:1 was registered from run" in refused.stderr
    store = open_store(Project(project))
    try:
        store.meta.add_verification(
            run_id=runs[0], replay_id=None, verdict="identical", details={"causes": []}
        )
    finally:
        store.close()
    done = cli("delete", runs[0], "--reason", "a smoke test")
    assert done.exit_code == 0, done.stderr
    assert f"deleted run {runs[0][:12]}" in done.stdout
    assert not (project / ".samerun" / "runs" / runs[0]).exists()
    assert _findings(project) == []
    shown = cli("audit", "verify")
    assert shown.exit_code == 0, shown.stderr
    assert f"1 run(s) deleted on request, on the trail: {runs[0][:12]}" in shown.stdout
    assert json.loads(cli("audit", "verify", "--json").stdout)["deleted"] == [runs[0]]
    assert runs[0] not in cli("runs").stdout
