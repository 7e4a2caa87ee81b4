"""Grow a tracking store to thousands of runs fast: copy its real runs with plain SQL.

Recording 10,000 runs through either API would take far longer than the benchmark itself, so
one run is recorded for real and its rows (the run and everything keyed by it: params, metrics,
tags…) are copied under new ids, each copy started one second before the previous one.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass(frozen=True)
class RunSchema:
    """Where a tool keeps its runs: the table, its id column, the column other tables use."""

    runs_table: str
    id_column: str
    child_column: str
    time_columns: tuple[str, ...]
    per_second: float  # time units in one second (1000 for milliseconds)


SAMERUN = RunSchema("runs", "id", "run_id", ("started_at", "ended_at"), 1.0)
MLFLOW = RunSchema("runs", "run_uuid", "run_uuid", ("start_time", "end_time"), 1000.0)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _tables_with(conn: sqlite3.Connection, column: str) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [name for name in names if column in _columns(conn, name)]


def _copy_rows(
    conn: sqlite3.Connection,
    table: str,
    key: str,
    source: str,
    new_ids: Sequence[str],
    shift: tuple[tuple[str, float], ...] = (),
) -> int:
    """Copy ``table``'s rows whose ``key`` is ``source`` once per new id; rows written.

    ``shift`` names time columns and how far back each successive copy moves them.
    """
    columns = _columns(conn, table)
    rows = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (source,)).fetchall()
    at = {name: i for i, name in enumerate(columns)}
    copies: list[tuple[Any, ...]] = []
    for n, new_id in enumerate(new_ids, start=1):
        for row in rows:
            values = list(row)
            values[at[key]] = new_id
            for column, step in shift:
                if values[at[column]] is not None:
                    values[at[column]] -= n * step
            copies.append(tuple(values))
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", copies)
    return len(copies)


def clone_run(db: Path, schema: RunSchema, total: int) -> str:
    """Make the store at ``db``, which holds exactly one run, hold ``total``; returns its id."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute(f"SELECT {schema.id_column} FROM {schema.runs_table}").fetchall()
        if len(found) != 1:
            raise ValueError(f"{db} holds {len(found)} runs; expected exactly one to copy")
        source = str(found[0][0])
        new_ids = [uuid.uuid4().hex for _ in range(total - 1)]
        shift = tuple((column, schema.per_second) for column in schema.time_columns)
        _copy_rows(conn, schema.runs_table, schema.id_column, source, new_ids, shift)
        for table in _tables_with(conn, schema.child_column):
            if table != schema.runs_table:
                _copy_rows(conn, table, schema.child_column, source, new_ids)
        conn.commit()
    return source


def count_runs(db: Path, schema: RunSchema) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {schema.runs_table}").fetchone()[0])


def grow_postgres(url: str, schema: RunSchema, copies: int, leave_out: Sequence[str]) -> int:
    """Copy every run of the PostgreSQL database at ``url`` ``copies`` times, in SQL; runs now.

    Each copy's id is the MD5 of the source id and the copy's number (32 hex digits, like both
    tools' ids) and it starts as many days before its source as that number. Tables named in
    ``leave_out`` (per-point metric histories, which searches never read) and generated key
    columns are not copied.
    """
    new_id = "md5({column} || '-' || copy.n)"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        found = conn.execute(
            "SELECT table_name, column_name, column_default, is_identity"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " ORDER BY table_name, ordinal_position"
        ).fetchall()
        columns: dict[str, list[str]] = {}
        for table, column, default, identity in found:
            if identity != "YES" and not str(default or "").startswith("nextval("):
                columns.setdefault(table, []).append(column)
        keyed = [t for t, cols in columns.items() if schema.child_column in cols]
        tables = [schema.runs_table, *(t for t in keyed if t != schema.runs_table)]
        for table in tables:
            if table in leave_out:
                continue
            key = schema.id_column if table == schema.runs_table else schema.child_column
            picked = []
            for column in columns[table]:
                if column == key:
                    picked.append(new_id.format(column=column))
                elif table == schema.runs_table and column in schema.time_columns:
                    picked.append(f"{column} - copy.n * {86_400 * schema.per_second}")
                else:
                    picked.append(column)
            names = ", ".join(columns[table])
            conn.execute(
                f"INSERT INTO {table} ({names}) SELECT {', '.join(picked)}"
                f" FROM {table} CROSS JOIN generate_series(1, {int(copies)}) AS copy(n)"
            )
        total = conn.execute(f"SELECT count(*) FROM {schema.runs_table}").fetchone()
    return int(total[0]) if total else 0
