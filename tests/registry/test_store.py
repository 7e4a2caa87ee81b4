"""The registry's rows under concurrency and tampering: nothing lost, every edit found."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.store.conftest import postgres_server, postgres_url, postgres_urls  # noqa: F401

from samerun.registry import Registry
from samerun.registry.store import RegistryStore
from samerun.store.project import Project, open_store

MOVES = 20


def _mover(root: str, version: int, start: multiprocessing.synchronize.Barrier) -> None:
    store = open_store(Project(Path(root)))
    try:
        registry = Registry(store)
        start.wait()
        for i in range(MOVES):
            registry.set_alias("churn", "production", version, reason=f"{version}-{i}")
    finally:
        store.close()


@pytest.fixture
def on_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The project's metadata in a throwaway PostgreSQL database (asked before the store)."""
    monkeypatch.setenv("SAMERUN_METADATA_URL", postgres_url)


def test_two_processes_moving_one_alias_lose_nothing(
    record: Callable[..., str], registry: Registry, project: Path
) -> None:
    _two_movers(record, registry, project)


def test_two_processes_moving_one_alias_on_postgresql_lose_nothing(
    on_postgres: None, record: Callable[..., str], registry: Registry, project: Path
) -> None:
    assert registry.store.meta.engine.dialect.name == "postgresql"
    _two_movers(record, registry, project)


def _two_movers(record: Callable[..., str], registry: Registry, project: Path) -> None:
    run = record()
    registry.register("churn", run)
    registry.register("churn", run)
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    movers = [context.Process(target=_mover, args=(str(project), v, start)) for v in (1, 2)]
    for mover in movers:
        mover.start()
    for mover in movers:
        mover.join(60)
        assert mover.exitcode == 0
    events = registry.history("churn").events
    assert len(events) == 2 * MOVES
    assert [e.seq for e in events] == list(range(1, 2 * MOVES + 1))
    assert sorted(e.reason for e in events) == sorted(
        f"{v}-{i}" for v in (1, 2) for i in range(MOVES)
    )
    for before, after in itertools.pairwise(events):
        assert after.from_version == before.to_version  # each read where the last one left it
    assert registry.aliases("churn") == {"production": events[-1].to_version}
    assert registry.check_history("churn").intact


def _sql(project: Path, statement: str) -> None:
    with sqlite3.connect(project / ".samerun" / "meta.db") as db:
        db.execute(statement)


def test_an_edited_or_deleted_event_is_named(
    record: Callable[..., str], registry: Registry, project: Path
) -> None:
    run = record()
    for _ in range(3):
        registry.register("churn", run)
    for version in (1, 2, 3):
        registry.set_alias("churn", "production", version)
    _sql(project, "UPDATE alias_events SET to_version = 1, actor = 'mallory' WHERE seq = 2")
    problems = registry.check_history("churn").problems
    assert problems == [
        "event 2 (production → v1) was edited: its content no longer matches its hash"
    ]
    _sql(project, "DELETE FROM alias_events WHERE seq = 3")
    problems = registry.check_history("churn").problems
    assert any("a later event was deleted" in p for p in problems)


def test_used_objects_are_the_version_files(record: Callable[..., str], registry: Registry) -> None:
    version = registry.register("churn", record())
    assert RegistryStore(registry.store.meta).used_objects() == {version.files[0].oid}
