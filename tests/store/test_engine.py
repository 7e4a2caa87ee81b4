from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from samerun.store.engine import create_engine, sqlite_path


def test_sqlite_path_names_the_file_of_a_sqlite_url_only() -> None:
    assert sqlite_path("sqlite:////srv/samerun/meta.db") == Path("/srv/samerun/meta.db")
    assert sqlite_path("postgresql+psycopg://u@db/samerun") is None


def test_a_sqlite_engine_enforces_foreign_keys_and_locks_on_begin(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # BEGIN IMMEDIATE: the write lock is taken when the transaction starts, before any
            # write, so two writers never both hold a read lock and deadlock upgrading it
            other = sqlite3.connect(tmp_path / "m.db", timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    finally:
        engine.dispose()
