"""The SQL metadata store, on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from samerun._exceptions import RunNotFound, RunStateError, StoreError
from samerun.store.meta import (
    MetaStore,
    RunCompletion,
    RunRow,
    create_engine,
    open_meta_store,
    sqlite_path,
)
from samerun.store.migrate import SCHEMA_REVISION
from samerun.summary import MetricSummary

T0 = 1_700_000_000.25
MALFORMED = "a run reference is an id, a unique id prefix, or `last`"


def make_row(run_id: str, started_at: float = T0, **changes: Any) -> RunRow:
    row = RunRow(
        id=run_id,
        name=None,
        status="running",
        started_at=started_at,
        ended_at=None,
        exit_code=None,
        signal=None,
        error=None,
        seed=2**40 + 7,
        commit_sha="a" * 40,
        dirty=False,
        input_fp="blake3:" + "1" * 64,
        output_fp=None,
        hostname="host-1",
        pid=4242,
        pid_started=T0 - 1.5,
    )
    return dataclasses.replace(row, **changes)


def make_completion(**changes: Any) -> RunCompletion:
    done = RunCompletion(
        status="finished",
        name="baseline",
        ended_at=T0 + 12.5,
        exit_code=0,
        signal=None,
        error=None,
        input_fp="blake3:" + "2" * 64,
        output_fp="blake3:" + "3" * 64,
        manifest='{"schema":"samerun.run/1","status":"finished"}',
        manifest_oid="blake3:" + "4" * 64,
        summary={"loss": 0.125, "accuracy": 0.9},
        params={"lr": 0.1, "model": {"depth": 3}, "name": "adam", "flag": True},
        metric_summaries={
            "loss": MetricSummary(0.5, 1, 2, 0.5, 1.0, "blake3:" + "6" * 64),
            "acc": MetricSummary(0.75, 0, 1, 0.75, 0.75, "blake3:" + "7" * 64),
        },
        metrics=[("loss", 0, 1.0, T0 + 1), ("loss", 1, 0.5, T0 + 2), ("acc", 0, 0.75, T0 + 3)],
        artifacts=[("model.pkl", "blake3:" + "5" * 64, 123, "file")],
    )
    return dataclasses.replace(done, **changes)


def rid(prefix: str) -> str:
    """A 32-character run id starting with ``prefix``."""
    return (prefix + "0" * 32)[:32]


@pytest.fixture
def store(meta_url: str) -> Iterator[MetaStore]:
    opened = open_meta_store(meta_url, create=True)
    yield opened
    opened.close()


def query(store: MetaStore, sql: str, **args: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), args)]


def params_of(store: MetaStore, run_id: str) -> dict[str, Any]:
    return store.params_of([run_id])[run_id]


def artifacts_of(store: MetaStore, run_id: str) -> list[tuple[Any, ...]]:
    sql = "SELECT path, oid, size, kind FROM artifacts WHERE run_id = :id ORDER BY path"
    return query(store, sql, id=run_id)


# -- opening ----------------------------------------------------------------------------------
def test_a_new_store_is_empty_and_at_the_current_revision(store: MetaStore) -> None:
    assert store.schema_revision() == SCHEMA_REVISION
    assert store.count_runs() == 0
    assert store.list_runs() == []
    assert store.running_runs() == []


def test_reopening_a_store_keeps_its_runs(meta_url: str) -> None:
    first = open_meta_store(meta_url, create=True)
    first.insert_run(make_row(rid("ab")), "{}")
    first.close()
    for create in (True, False):
        again = open_meta_store(meta_url, create=create)
        try:
            assert [r.id for r in again.list_runs()] == [rid("ab")]
            assert again.schema_revision() == SCHEMA_REVISION
        finally:
            again.close()


def test_a_missing_sqlite_store_is_not_created_without_create(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "meta.db"
    with pytest.raises(StoreError, match=r"no metadata store at .*samerun init"):
        open_meta_store(f"sqlite:///{path}")
    assert not path.exists()
    assert not path.parent.exists()


@pytest.mark.postgres
def test_an_empty_postgres_database_is_not_a_store_without_create(postgres_url: str) -> None:
    with pytest.raises(StoreError, match=r"holds no samerun schema.*samerun init"):
        open_meta_store(postgres_url)
    engine = sa.create_engine(postgres_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_is_a_store_error(postgres_url: str) -> None:
    """Not "holds no samerun schema": an unreachable database is reported as what it is."""
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    for create in (False, True):
        with pytest.raises(StoreError, match='database "no_such_database" does not exist'):
            open_meta_store(missing, create=create)


def test_a_store_at_an_unknown_newer_revision_is_refused(meta_url: str) -> None:
    store = open_meta_store(meta_url, create=True)
    store.insert_run(make_row(rid("ab")), "{}")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    for create in (False, True):
        with pytest.raises(StoreError, match=r"schema revision 9999.*upgrade samerun"):
            open_meta_store(meta_url, create=create)
    engine = create_engine(meta_url)
    try:  # refused, not touched
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
                ("9999",)
            ]
            assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one() == 1
    finally:
        engine.dispose()


def test_sqlite_path_reads_only_sqlite_urls(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path}/m.db") == tmp_path / "m.db"
    assert sqlite_path("postgresql+psycopg://u@127.0.0.1:5432/db") is None


def test_a_new_sqlite_store_is_in_wal_mode_and_leaves_no_scratch_files(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    open_meta_store(f"sqlite:///{store_dir}/meta.db", create=True).close()
    assert {p.name for p in store_dir.iterdir()} <= {"meta.db", "meta.db-wal", "meta.db-shm"}
    with sqlite3.connect(store_dir / "meta.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


# -- rows and references -----------------------------------------------------------------------
def test_an_inserted_run_reads_back_equal(store: MetaStore) -> None:
    row = make_row(rid("0123abcd"), name="first", dirty=True, summary={"loss": 0.5})
    other = make_row(rid("f"), seed=None, commit_sha=None, dirty=None)
    store.insert_run(row, '{"a": 1}')
    store.insert_run(other, '{"b": 2}')
    assert store.resolve(row.id) == row
    assert store.resolve(other.id) == other
    assert store.manifest_json(row.id) == '{"a": 1}'
    assert store.count_runs() == 2
    assert {r.id for r in store.running_runs()} == {row.id, other.id}


def test_inserting_the_same_id_twice_is_a_store_error(store: MetaStore) -> None:
    store.insert_run(make_row(rid("ab")), "{}")
    with pytest.raises(StoreError, match="metadata store"):
        store.insert_run(make_row(rid("ab"), name="again"), "{}")
    assert store.count_runs() == 1
    assert store.resolve(rid("ab")).name is None


def test_resolve_by_unique_prefix_any_case_and_spacing(store: MetaStore) -> None:
    store.insert_run(make_row(rid("abc1")), "{}")
    store.insert_run(make_row(rid("abc2")), "{}")
    store.insert_run(make_row(rid("def")), "{}")
    assert store.resolve("abc1").id == rid("abc1")
    assert store.resolve("d").id == rid("def")
    assert store.resolve("  ABC2 ").id == rid("abc2")
    assert store.resolve(rid("abc2")).id == rid("abc2")


def test_resolve_last_is_the_most_recently_started_run(store: MetaStore) -> None:
    store.insert_run(make_row(rid("aa"), started_at=T0 + 5), "{}")
    store.insert_run(make_row(rid("bb"), started_at=T0 + 9), "{}")
    store.insert_run(make_row(rid("cc"), started_at=T0 + 1), "{}")
    assert store.resolve("last").id == rid("bb")


def test_resolve_last_in_an_empty_store(store: MetaStore) -> None:
    with pytest.raises(RunNotFound, match="'last': the store has no runs yet") as info:
        store.resolve("last")
    assert info.value.ref == "last"


def test_resolve_an_ambiguous_prefix(store: MetaStore) -> None:
    store.insert_run(make_row(rid("abc1")), "{}")
    store.insert_run(make_row(rid("abc2")), "{}")
    with pytest.raises(RunNotFound, match="'abc': more than one run starts with it"):
        store.resolve("abc")


@pytest.mark.parametrize("ref", ["abd", rid("abc2"), "f"])
def test_resolve_an_unknown_reference(store: MetaStore, ref: str) -> None:
    store.insert_run(make_row(rid("abc1")), "{}")
    with pytest.raises(RunNotFound, match=f"'{ref}': no run matches it; see `samerun runs`"):
        store.resolve(ref)


@pytest.mark.parametrize("ref", ["", "   ", "xyz", "abc%", "ab_", "abc'--"])
def test_resolve_a_malformed_reference(store: MetaStore, ref: str) -> None:
    store.insert_run(make_row(rid("abc1")), "{}")
    with pytest.raises(
        RunNotFound, match="a run reference is an id, a unique id prefix, or `last`"
    ):
        store.resolve(ref)


def test_manifest_of_an_unknown_run(store: MetaStore) -> None:
    with pytest.raises(RunNotFound, match=rid("ee")):
        store.manifest_json(rid("ee"))


def test_list_runs_newest_first_with_limit_and_offset(store: MetaStore) -> None:
    started = {"a1": T0 + 3, "b2": T0 + 1, "c3": T0 + 3, "d4": T0 + 2, "e5": T0 + 0.5}
    for prefix, at in started.items():
        store.insert_run(make_row(rid(prefix), started_at=at), "{}")
    expected = [rid(p) for p in ("a1", "c3", "d4", "b2", "e5")]  # ties broken by id
    assert [r.id for r in store.list_runs()] == expected
    assert [r.id for r in store.list_runs(limit=2)] == expected[:2]
    assert [r.id for r in store.list_runs(limit=2, offset=2)] == expected[2:4]
    assert [r.id for r in store.list_runs(limit=10, offset=4)] == expected[4:]
    assert store.list_runs(limit=3, offset=5) == []
    assert store.list_runs(limit=0) == []
    assert store.count_runs() == 5


# -- completing a run --------------------------------------------------------------------------
def test_complete_run_writes_the_row_params_metrics_and_artifacts(store: MetaStore) -> None:
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    done = make_completion()
    assert store.complete_run(run_id, done) is True

    row = store.resolve(run_id)
    assert row.status == "finished"
    assert row.name == "baseline"
    assert row.ended_at == T0 + 12.5
    assert row.duration_s == 12.5
    assert row.exit_code == 0
    assert row.input_fp == done.input_fp
    assert row.output_fp == done.output_fp
    assert row.summary == {"loss": 0.125, "accuracy": 0.9}
    assert store.manifest_json(run_id) == done.manifest
    assert query(store, "SELECT manifest_oid FROM runs") == [(done.manifest_oid,)]
    assert store.running_runs() == []

    assert params_of(store, run_id) == {"lr": 0.1, "model.depth": 3, "name": "adam", "flag": True}
    assert store.metric_summaries([run_id])[run_id] == done.metric_summaries
    assert store.metric_series(run_id, "loss") == [(0, 1.0, T0 + 1), (1, 0.5, T0 + 2)]
    assert store.metric_series(run_id, "acc") == [(0, 0.75, T0 + 3)]
    assert store.metric_series(run_id, "missing") == []
    assert store.metric_count(run_id) == 3
    assert artifacts_of(store, run_id) == [("model.pkl", "blake3:" + "5" * 64, 123, "file")]


def test_complete_run_only_once(store: MetaStore) -> None:
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    assert store.complete_run(run_id, make_completion()) is True
    late = make_completion(
        status="failed",
        exit_code=1,
        params={"lr": 99},
        metrics=[("loss", 7, 9.0, T0 + 50)],
        artifacts=[("other.bin", "blake3:" + "6" * 64, 1, "file")],
    )
    assert store.complete_run(run_id, late) is False
    row = store.resolve(run_id)
    assert (row.status, row.exit_code) == ("finished", 0)
    assert params_of(store, run_id)["lr"] == 0.1
    assert store.metric_count(run_id) == 3
    assert [a[0] for a in artifacts_of(store, run_id)] == ["model.pkl"]


def test_complete_run_of_an_unknown_run_writes_nothing(store: MetaStore) -> None:
    assert store.complete_run(rid("ee"), make_completion()) is False
    assert query(store, "SELECT count(*) FROM params") == [(0,)]
    assert query(store, "SELECT count(*) FROM metrics") == [(0,)]


def test_complete_run_is_one_transaction(store: MetaStore) -> None:
    """A failure half-way (a duplicate artifact path) leaves the run exactly as it was."""
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    twice = ("model.pkl", "blake3:" + "5" * 64, 123, "file")
    with pytest.raises(StoreError, match="metadata store"):
        store.complete_run(run_id, make_completion(artifacts=[twice, twice]))
    row = store.resolve(run_id)
    assert (row.status, row.ended_at, row.name) == ("running", None, None)
    assert params_of(store, run_id) == {}
    assert store.metric_count(run_id) == 0
    assert store.manifest_json(run_id) == "{}"
    assert store.complete_run(run_id, make_completion()) is True  # still completable


def test_complete_run_with_nothing_logged(store: MetaStore) -> None:
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    done = make_completion(
        status="failed", exit_code=None, signal=9, summary={}, params={}, metrics=[], artifacts=[]
    )
    assert store.complete_run(run_id, done) is True
    row = store.resolve(run_id)
    assert (row.status, row.signal, row.exit_code, row.summary) == ("failed", 9, None, {})
    assert store.metric_count(run_id) == 0


def test_nan_and_infinite_metrics_round_trip(store: MetaStore) -> None:
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    values = [1.5, math.nan, -0.0, math.inf, -math.inf, 5e-324, math.nan]
    done = make_completion(
        metrics=[("loss", step, v, T0 + step) for step, v in enumerate(values)],
        summary={"loss": math.nan, "best": math.inf},
    )
    assert store.complete_run(run_id, done) is True
    series = store.metric_series(run_id, "loss")
    assert [s for s, _, _ in series] == list(range(len(values)))
    got = [v for _, v, _ in series]
    assert [math.isnan(v) for v in got] == [math.isnan(v) for v in values]
    assert [v for v in got if not math.isnan(v)] == [v for v in values if not math.isnan(v)]
    summary = store.resolve(run_id).summary
    assert math.isnan(summary["loss"])
    assert summary["best"] == math.inf


def test_many_metrics_are_all_stored(store: MetaStore) -> None:
    run_id = rid("ab")
    store.insert_run(make_row(run_id), "{}")
    n = 50_000
    metrics = ((f"m{i % 5}", i // 5, i * 0.5, T0 + i) for i in range(n))  # a generator
    assert store.complete_run(run_id, make_completion(metrics=metrics)) is True
    assert store.metric_count(run_id) == n
    series = store.metric_series(run_id, "m3")
    assert len(series) == n // 5
    assert series[0] == (0, 1.5, T0 + 3)
    assert series[-1] == (n // 5 - 1, (n - 2) * 0.5, T0 + n - 2)
    assert [s for s, _, _ in series] == list(range(n // 5))


def test_metrics_of_one_run_stay_with_it(store: MetaStore) -> None:
    for prefix, value in (("aa", 1.0), ("bb", 2.0)):
        store.insert_run(make_row(rid(prefix)), "{}")
        done = make_completion(metrics=[("loss", 0, value, T0)])
        assert store.complete_run(rid(prefix), done) is True
    assert store.metric_series(rid("aa"), "loss") == [(0, 1.0, T0)]
    assert store.metric_series(rid("bb"), "loss") == [(0, 2.0, T0)]


def test_run_row_to_dict() -> None:
    row = make_row(rid("ab"), ended_at=T0 + 2, summary={"loss": 0.5})
    data = row.to_dict()
    assert data["id"] == rid("ab")
    assert data["duration_s"] == 2.0
    assert data["commit"] == "a" * 40
    assert data["input_fingerprint"] == row.input_fp
    assert data["metrics"] == {"loss": 0.5}
    assert make_row(rid("ab")).duration_s is None
    assert RunRow.from_sql(tuple(make_row(rid("ab")).to_sql().values())) == make_row(rid("ab"))


def test_errors_never_show_the_database_password() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as raised:
        open_meta_store("postgresql+psycopg://me:s3cret@127.0.0.1:1/none", create=True)
    assert "s3cret" not in str(raised.value)
    assert "127.0.0.1" in str(raised.value)


def test_closing_after_writes_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    """Every reader would scan a log as big as the last run's metrics on open."""
    db = tmp_path / "meta.db"
    store = open_meta_store(f"sqlite:///{db}", create=True)
    store.insert_run(make_row(rid("ab")), "{}")
    many = [("loss", step, 1.0 / (step + 1), T0 + step) for step in range(20_000)]
    store.complete_run(rid("ab"), make_completion(metrics=many))
    assert store.metric_count(rid("ab")) == 20_000
    store.close()
    assert not db.with_name("meta.db-wal").exists()


# -- deleting ---------------------------------------------------------------------------------
def test_a_deleted_run_and_its_replays_leave_no_row_and_an_entry_each(store: MetaStore) -> None:
    run_id, replay_id, kept = rid("ab"), rid("cd"), rid("ef")
    for ref, started, origin in (
        (run_id, T0, None),
        (replay_id, T0 + 60, run_id),
        (kept, T0, None),
    ):
        store.insert_run(make_row(ref, started, replay_of=origin), "{}")
        assert store.complete_run(ref, make_completion())
    store.add_verification(run_id=run_id, replay_id=replay_id, verdict="identical", details={})
    store.set_tags(run_id, {"stage": "smoke"})
    assert store.delete_run(run_id, reason="a smoke test", actor="ana") == [run_id, replay_id]
    assert [row.id for row in store.list_runs()] == [kept]
    for table in ("params", "metrics", "metric_summaries", "artifacts", "tags", "verifications"):
        assert query(store, f"SELECT DISTINCT run_id FROM {table}") in ([], [(kept,)])
    sql = "SELECT subject, actor FROM audit_entries WHERE kind = 'deletion' ORDER BY seq"
    assert query(store, sql) == [(run_id, "ana"), (replay_id, "ana")]


def test_a_run_still_running_or_whose_output_is_a_dataset_version_is_not_deleted(
    store: MetaStore,
) -> None:
    running, producer = rid("ab"), rid("cd")
    store.insert_run(make_row(running), "{}")
    store.insert_run(make_row(producer), "{}")
    assert store.complete_run(producer, make_completion())
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO dataset_versions (dataset, oid, added_at, producer_run) "
                "VALUES ('features.csv', :oid, 1.0, :run)"
            ),
            {"oid": "blake3:" + "9" * 64, "run": producer},
        )
    entries = query(store, "SELECT count(*) FROM audit_entries")
    with pytest.raises(RunStateError, match="still running"):
        store.delete_run(running, reason="x", actor="ana")
    with pytest.raises(RunStateError, match=r"dataset features\.csv has a version run"):
        store.delete_run(producer, reason="x", actor="ana")
    assert store.count_runs() == 2
    assert params_of(store, producer) != {}
    assert query(store, "SELECT count(*) FROM audit_entries") == entries
