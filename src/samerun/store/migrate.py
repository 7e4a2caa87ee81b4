"""Create a fresh metadata schema fast, and upgrade older stores with Alembic migrations.

A new store is built straight from :mod:`samerun.store.schema` and stamped with the head
revision; Alembic (slow to import) is loaded only when an existing store is behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from samerun._exceptions import StoreError
from samerun.store.engine import create_engine

if TYPE_CHECKING:
    import sqlalchemy as sa

    from samerun.store.meta import MetaStore

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The Alembic revision a store created by this version of samerun is at. It lives here, not in
#: schema.py, so that read-only commands can check it without importing SQLAlchemy.
SCHEMA_REVISION = "0009"
#: PostgreSQL advisory lock ("samerun" in hex) taken by every schema change, so that processes
#: creating or upgrading one store at once wait for each other. SQLite needs none: its
#: transactions begin IMMEDIATE, which takes the write lock up front.
_SCHEMA_LOCK = 0x73616D6572756E


def _lock_schema(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")


def _create_schema(conn: sa.Connection) -> None:
    import sqlalchemy as sa

    from samerun.store.schema import metadata

    metadata.create_all(conn)
    version = sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), primary_key=True),
    )
    version.create(conn, checkfirst=True)
    conn.execute(version.insert().values(version_num=SCHEMA_REVISION))


def create_sqlite(url: str, path: Path) -> None:
    """Create the SQLite database at ``path`` so that a concurrent creator can never clash.

    The schema is built in a private file and hard-linked into place: the first process wins,
    the others find a complete database and throw their copy away.
    """
    import sqlalchemy as sa

    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.new")
    with sqlite3.connect(scratch) as setup:  # WAL lets readers work while a run writes
        setup.execute("PRAGMA journal_mode=WAL")
    setup.close()
    engine = create_engine(f"sqlite:///{scratch}")
    try:
        with engine.begin() as conn:
            _create_schema(conn)
        engine.dispose()
        with contextlib.suppress(FileExistsError):
            os.link(scratch, path)
    except sa.exc.SQLAlchemyError as err:
        raise StoreError(f"cannot create the metadata store {url}: {err}") from err
    finally:
        engine.dispose()
        for leftover in (scratch, scratch.with_name(scratch.name + "-wal")):
            leftover.unlink(missing_ok=True)
        scratch.with_name(scratch.name + "-shm").unlink(missing_ok=True)


def ensure_current(store: MetaStore, *, create: bool) -> None:
    """Bring ``store`` to :data:`SCHEMA_REVISION`, or explain why it cannot be used."""
    revision = store.schema_revision()
    if revision == SCHEMA_REVISION:
        return
    if revision is None:
        if not create:
            raise StoreError(f"{store.shown_url} holds no samerun schema; run `samerun init` first")
        import sqlalchemy as sa

        with store._write() as conn:  # errors become one-line StoreErrors
            _lock_schema(conn)
            if not sa.inspect(conn).has_table("alembic_version"):  # else another process won
                _create_schema(conn)
        return
    known = known_revisions()
    if revision not in known:
        raise StoreError(
            f"{store.shown_url} is at schema revision {revision}, which this samerun does not "
            "know; upgrade samerun"
        )
    upgrade(store.engine)


def known_revisions() -> list[str]:
    """Revision ids of the migration files, oldest first (their names start with the id)."""
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    return [name.split("_", 1)[0] for name in names]


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``'s database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        _lock_schema(conn)  # a concurrent upgrader goes first; Alembic then finds it done
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
