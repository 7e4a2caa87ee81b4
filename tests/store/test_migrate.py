"""Schema creation and migrations, on a real SQLite file and a real PostgreSQL server.

A new store is built straight from ``schema.py`` (the fast path); an old one is upgraded by the
Alembic migrations. Both roads must end at the same schema, from every earlier revision.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from samerun.store import migrate
from samerun.store.engine import create_engine, sqlite_path
from samerun.store.meta import RunRow, open_meta_store
from samerun.store.migrate import SCHEMA_REVISION

UrlFactory = Callable[[], str]

RUN_ID = "0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000.5

#: Rows an old store holds before it is upgraded; columns a revision lacks are left out.
SEED: dict[str, list[dict[str, Any]]] = {
    "runs": [
        {
            "id": RUN_ID,
            "name": "old run",
            "status": "finished",
            "started_at": T0,
            "ended_at": T0 + 3,
            "exit_code": 0,
            "signal": None,
            "error": None,
            "seed": 42,
            "commit_sha": "c" * 40,
            "dirty": True,
            "input_fp": "blake3:" + "1" * 64,
            "output_fp": "blake3:" + "2" * 64,
            "hostname": "old-host",
            "pid": 99,
            "pid_started": T0 - 1,
            "summary": json.dumps({"loss": 0.25}),
            "manifest": '{"schema":"samerun.run/1"}',
            "manifest_oid": "blake3:" + "3" * 64,
        }
    ],
    "params": [{"run_id": RUN_ID, "key": "lr", "value": "0.1"}],
    "metrics": [
        {"run_id": RUN_ID, "key": "loss", "step": 0, "value": 1.0, "timestamp": T0 + 1},
        {"run_id": RUN_ID, "key": "loss", "step": 1, "value": None, "timestamp": T0 + 2},
    ],
    "artifacts": [{"run_id": RUN_ID, "path": "model.pkl", "oid": "blake3:" + "4" * 64,
                   "size": 10, "kind": "file"}],
}  # fmt: skip


def schema_of(url: str) -> dict[str, dict[str, Any]]:
    """Tables, columns (type, nullability), keys and indexes, as the database reports them."""
    engine = create_engine(url)
    try:
        inspector = sa.inspect(engine)
        schema: dict[str, dict[str, Any]] = {}
        for table in sorted(inspector.get_table_names()):
            schema[table] = {
                "columns": {
                    c["name"]: (c["type"].compile(dialect=engine.dialect), c["nullable"])
                    for c in inspector.get_columns(table)
                },
                "primary_key": sorted(inspector.get_pk_constraint(table)["constrained_columns"]),
                "foreign_keys": sorted(
                    f"{fk['constrained_columns']} -> {fk['referred_table']}{fk['referred_columns']}"
                    for fk in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(uc["column_names"]) for uc in inspector.get_unique_constraints(table)
                ),
            }
        return schema
    finally:
        engine.dispose()


def revision_of(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def migrated_store(url: str, revision: str) -> None:
    """Bring an empty database to ``revision`` with the Alembic migrations alone."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, revision)
    finally:
        engine.dispose()


def seed_rows(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.begin() as conn:
            for name, rows in SEED.items():
                table = tables.tables[name]
                conn.execute(
                    table.insert(), [{k: v for k, v in r.items() if k in table.c} for r in rows]
                )
    finally:
        engine.dispose()


def fresh_store(url: str) -> None:
    open_meta_store(url, create=True).close()


def test_revisions_are_known_oldest_first_and_end_at_the_schema_revision() -> None:
    known = migrate.known_revisions()
    assert known
    assert known == sorted(known)
    assert len(set(known)) == len(known)
    assert known[-1] == SCHEMA_REVISION


@pytest.mark.parametrize("revision", migrate.known_revisions())
def test_every_revision_upgrades_to_the_fresh_schema(meta_urls: UrlFactory, revision: str) -> None:
    fresh_url, migrated_url = meta_urls(), meta_urls()
    fresh_store(fresh_url)
    migrated_store(migrated_url, revision)
    assert revision_of(migrated_url) == [revision]

    migrated_store(migrated_url, "head")
    assert revision_of(migrated_url) == [SCHEMA_REVISION]
    fresh = schema_of(fresh_url)
    assert {"runs", "params", "metrics", "artifacts", "alembic_version"} <= set(fresh)
    assert schema_of(migrated_url) == fresh


def test_migrating_a_fresh_store_changes_nothing(meta_url: str) -> None:
    """The fast path stamps the head revision, so Alembic finds nothing left to do."""
    fresh_store(meta_url)
    before = schema_of(meta_url)
    migrated_store(meta_url, "head")
    assert revision_of(meta_url) == [SCHEMA_REVISION]
    assert schema_of(meta_url) == before


@pytest.mark.parametrize("revision", migrate.known_revisions())
def test_an_old_store_is_upgraded_on_open_and_keeps_its_rows(
    meta_urls: UrlFactory, revision: str
) -> None:
    url = meta_urls()
    migrated_store(url, revision)
    seed_rows(url)

    store = open_meta_store(url)  # no create: an existing store is upgraded, never rebuilt
    try:
        assert store.schema_revision() == SCHEMA_REVISION
        assert store.count_runs() == 1
        row = store.resolve("last")
        assert row == RunRow.from_sql([SEED["runs"][0].get(c) for c in RunRow.__dataclass_fields__])
        assert store.manifest_json(RUN_ID) == SEED["runs"][0]["manifest"]
        series = store.metric_series(RUN_ID, "loss")
        assert series[0] == (0, 1.0, T0 + 1)
        assert series[1][0] == 1
        assert math.isnan(series[1][1])
        with store.engine.connect() as conn:
            params = conn.execute(sa.text("SELECT run_id, key, value FROM params")).all()
            artifacts = conn.execute(sa.text("SELECT run_id, path, oid FROM artifacts")).all()
        assert [tuple(p) for p in params] == [(RUN_ID, "lr", "0.1")]
        assert [tuple(a) for a in artifacts] == [(RUN_ID, "model.pkl", "blake3:" + "4" * 64)]
    finally:
        store.close()
    fresh_url = meta_urls()
    fresh_store(fresh_url)
    assert schema_of(url) == schema_of(fresh_url)


def test_a_record_index_older_than_0009_becomes_not_indexed_never_clean(meta_url: str) -> None:
    """Its HMAC-SHA256 entries cannot be re-keyed (the raw values were never stored): a version
    left with its key column and no buckets would read as indexed without the record."""
    migrated_store(meta_url, "0008")
    engine = create_engine(meta_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO dataset_versions VALUES ('d.csv', 'blake3:v1', :t, NULL, 'id', 3)"
                ),
                {"t": T0},
            )
            conn.execute(sa.text("INSERT INTO record_buckets VALUES ('abcd', 'blake3:v1', 'e:0')"))
    finally:
        engine.dispose()
    migrated_store(meta_url, "head")
    store = open_meta_store(meta_url)
    try:
        assert store.select("SELECT key_column, row_count FROM dataset_versions", {}) == [
            (None, None)
        ]
        assert store.select("SELECT count(*) FROM record_buckets", {}) == [(0,)]
    finally:
        store.close()


def _future_migrations(root: Path) -> tuple[Path, str]:
    """A copy of the migrations plus one newer revision that adds a column and an index."""
    migrations = root / "migrations"
    shutil.copytree(
        migrate.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    head = migrate.known_revisions()[-1]
    new = f"{int(head) + 1:04d}"
    (migrations / "versions" / f"{new}_add_note.py").write_text(
        textwrap.dedent(
            f'''\
            """Test-only revision: runs get a note.

            Revision ID: {new}
            """

            import sqlalchemy as sa
            from alembic import op

            revision = "{new}"
            down_revision = "{head}"
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
                op.add_column("runs", sa.Column("note", sa.Text, nullable=True))
                op.create_index("ix_runs_name", "runs", ["name"])
            '''
        )
    )
    return migrations, new


def test_a_store_behind_the_code_is_upgraded_by_the_migrations_on_open(
    meta_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a store one revision behind runs the new migration and keeps every row."""
    migrated_store(meta_url, "head")
    seed_rows(meta_url)
    migrations, new = _future_migrations(tmp_path)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrations)
    monkeypatch.setattr(migrate, "SCHEMA_REVISION", new)

    for _ in range(2):  # the second open finds the store current
        store = open_meta_store(meta_url)
        try:
            assert store.schema_revision() == new
            assert store.resolve(RUN_ID[:6]).name == "old run"
            assert store.metric_count(RUN_ID) == 2
        finally:
            store.close()
    schema = schema_of(meta_url)
    assert schema["runs"]["columns"]["note"][1] is True
    assert ("ix_runs_name", ("name",), False) in schema["runs"]["indexes"]
    assert revision_of(meta_url) == [new]


# -- concurrent creation and upgrade --------------------------------------------------------
#: Opens each store named on the command line (creating it when needed) and adds one run, all
#: processes starting at once. With a migrations directory and revision given, it plays a newer
#: samerun whose schema is one revision ahead.
_OPENER = textwrap.dedent(
    """\
    import os, sys, time
    from pathlib import Path

    import sqlalchemy  # imported up front: the schema changes, not the imports, must race
    from alembic import command  # noqa: F401
    from samerun.store import migrate, schema  # noqa: F401
    from samerun.store.meta import RunRow, open_meta_store

    worker, ready, go, migrations, revision, *urls = sys.argv[1:]
    if migrations != "-":
        migrate.MIGRATIONS_DIR, migrate.SCHEMA_REVISION = Path(migrations), revision
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    for url in urls:
        store = open_meta_store(url, create=True)
        run_id = f"{int(worker):02x}" * 16
        store.insert_run(
            RunRow(run_id, None, "running", float(worker), None, None, None, None, None, None,
                   None, "blake3:0", None, "host", os.getpid(), 0.0),
            "{}",
        )
        store.close()
    """
)
N_PROCS = 3
WORKER_RUN_IDS = {f"{w:02x}" * 16 for w in range(N_PROCS)}


def open_all_at_once(
    tmp_path: Path, urls: list[str], migrations: str = "-", rev: str = "-"
) -> None:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{w}" for w in range(N_PROCS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(w), str(ready[w]), str(go), migrations, rev, *urls],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(N_PROCS)
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_processes_creating_one_store_at_once_all_succeed(
    meta_urls: UrlFactory, tmp_path: Path
) -> None:
    urls = [meta_urls() for _ in range(3)]
    open_all_at_once(tmp_path, urls)

    for url in urls:
        store = open_meta_store(url)
        try:
            assert store.schema_revision() == SCHEMA_REVISION
            assert {r.id for r in store.list_runs()} == WORKER_RUN_IDS
        finally:
            store.close()
        assert revision_of(url) == [SCHEMA_REVISION]
        path = sqlite_path(url)
        if path is not None:
            leftovers = {p.name for p in path.parent.iterdir()}
            assert leftovers <= {"meta.db", "meta.db-wal", "meta.db-shm"}
            with sqlite3.connect(path) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            conn.close()


def test_processes_upgrading_one_store_at_once_all_succeed(
    meta_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated_store(meta_url, "head")
    seed_rows(meta_url)
    migrations, new = _future_migrations(tmp_path)
    open_all_at_once(tmp_path, [meta_url], str(migrations), new)

    assert revision_of(meta_url) == [new]
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrations)
    monkeypatch.setattr(migrate, "SCHEMA_REVISION", new)
    store = open_meta_store(meta_url)
    try:
        assert {r.id for r in store.list_runs()} == {RUN_ID, *WORKER_RUN_IDS}
    finally:
        store.close()
    assert "note" in schema_of(meta_url)["runs"]["columns"]
