"""SQLAlchemy engines for the metadata store, and which URLs are SQLite files.

Both the store (:mod:`samerun.store.meta`) and its schema migrations use these, so they live
below both. SQLAlchemy is imported only when an engine is made: read-only commands on SQLite
never make one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

#: How long a writer waits for SQLite's lock before giving up.
BUSY_TIMEOUT_S = 120.0


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///…`` URL, or None for any other URL."""
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


def create_engine(url: str) -> sa.Engine:
    """An engine whose transactions take the write lock up front on SQLite (no deadlocks)."""
    import sqlalchemy as sa  # on first use: read-only SQLite commands never pay for it

    if sqlite_path(url) is None:
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, poolclass=sa.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
