"""SQL metadata store: runs, params, metrics and artifacts, for queries.

Writes go through SQLAlchemy Core (SQLite by default, PostgreSQL by URL). Reads are plain SQL
text run through a :class:`_Reader`: for SQLite that is the standard library's ``sqlite3``, so
read-only commands such as ``samerun runs`` do not pay for importing SQLAlchemy.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from samerun._exceptions import RunNotFound, RunStateError, StoreError
from samerun.capture.code import strip_url_credentials
from samerun.capture.params import flatten
from samerun.status import EndStatus, RunStatus, Verdict, run_status, verdict
from samerun.store import migrate, trail
from samerun.store.engine import BUSY_TIMEOUT_S, create_engine, sqlite_path
from samerun.summary import MetricSummary, VerificationRecord

if TYPE_CHECKING:
    import sqlalchemy as sa

RUN_COLUMNS = (
    "id, name, status, started_at, ended_at, exit_code, signal, error, seed, commit_sha, dirty,"
    " input_fp, output_fp, hostname, pid, pid_started, summary, replay_of, verdict, verified_at"
)


@dataclass(frozen=True)
class RunRow:
    """One row of the ``runs`` table: what listing and reference resolution need."""

    id: str
    name: str | None
    status: RunStatus
    started_at: float
    ended_at: float | None
    exit_code: int | None
    signal: int | None
    error: str | None
    seed: int | None
    commit_sha: str | None
    dirty: bool | None
    input_fp: str
    output_fp: str | None
    hostname: str
    pid: int
    pid_started: float
    summary: dict[str, float] = field(default_factory=dict)
    replay_of: str | None = None
    verdict: Verdict | None = None  # of the latest verification
    verified_at: float | None = None

    @classmethod
    def from_sql(cls, row: Sequence[Any]) -> RunRow:
        return cls(*cls.sql_values(row))

    @staticmethod
    def sql_values(row: Sequence[Any]) -> list[Any]:
        """The field values of a ``SELECT RUN_COLUMNS`` row, checked and decoded, in order."""
        values = list(row)
        values[2] = run_status(values[2])
        values[10] = None if values[10] is None else bool(values[10])
        values[16] = json.loads(values[16]) if values[16] else {}
        values[18] = None if values[18] is None else verdict(values[18])
        return values

    def to_sql(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in RUN_COLUMNS.replace(" ", "").split(",")}
        values["summary"] = json.dumps(self.summary) if self.summary else None
        return values

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "error": self.error,
            "seed": self.seed,
            "commit": self.commit_sha,
            "dirty": self.dirty,
            "input_fingerprint": self.input_fp,
            "output_fingerprint": self.output_fp,
            "metrics": self.summary,
            "replay_of": self.replay_of,
            "verification": None
            if self.verdict is None
            else {"verdict": self.verdict, "at": self.verified_at},
        }


@dataclass(frozen=True)
class RunCompletion:
    """Everything written when a run ends, in one transaction."""

    status: EndStatus
    name: str | None
    ended_at: float
    exit_code: int | None
    signal: int | None
    error: str | None
    input_fp: str
    output_fp: str | None
    manifest: str
    manifest_oid: str | None
    summary: dict[str, float]
    params: dict[str, Any]
    metric_summaries: Mapping[str, MetricSummary]
    metrics: Iterable[tuple[str, int, float, float]]
    artifacts: Sequence[tuple[str, str, int, str]]


class _Reader(Protocol):
    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class _SqliteReader:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn = sqlite3.connect(
            f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"metadata store {self._path}: {err}") from err

    def close(self) -> None:
        self._conn.close()


class _SqlAlchemyReader:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        import sqlalchemy as sa

        try:
            with self._engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params)]
        except sa.exc.SQLAlchemyError as err:
            url = self._engine.url.render_as_string(hide_password=True)
            raise StoreError(f"metadata store {url}: {_first_line(err)}") from err

    def close(self) -> None:
        self._engine.dispose()


class MetaStore:
    """The metadata store at one URL. Open with :func:`open_meta_store`."""

    def __init__(self, url: str, reader: _Reader) -> None:
        self.url = url
        #: The URL as errors show it: without a password or token.
        self.shown_url = strip_url_credentials(url)
        self._reader = reader
        self._engine: sa.Engine | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self._reader.close()
        if self._engine is not None:
            if sqlite_path(self.url) is not None:
                # While the read-only reader was open, no write of this process was the last
                # connection to close, so SQLite kept the write-ahead log: after a run of a
                # million metric values, a log of 120 MiB that every later reader scans on open
                # (66 ms). Closing one more connection now, last, folds the log back into the
                # database and removes it, unless another process has the store open.
                self._engine.connect().close()
            self._engine.dispose()

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except Exception as err:
            if type(err).__module__.startswith("sqlalchemy"):
                raise StoreError(f"metadata store {self.shown_url}: {_first_line(err)}") from err
            raise

    # -- writes --------------------------------------------------------------------------------
    def insert_run(self, row: RunRow, manifest: str) -> None:
        from samerun.store.schema import runs

        values = row.to_sql()
        with self._write() as conn:
            conn.execute(runs.insert().values(**values, manifest=manifest))

    def complete_run(self, run_id: str, done: RunCompletion) -> bool:
        """Write the end of a run if it is still ``running``; False if someone else already did."""
        with self._write() as conn:
            if not _end_run(conn, run_id, done):
                return False
            _insert_outputs(conn, run_id, done)
            trail.append_in(conn, trail.AuditRecord.of_run(run_id, done.manifest, at=done.ended_at))
        return True

    def import_run(self, row: RunRow, done: RunCompletion, *, project: str | None) -> None:
        """Insert a run recorded elsewhere, whole (row, end, params, metrics, artifacts), filed
        under team-server ``project``, in one transaction: readers see all of it or none."""
        from samerun.store.schema import runs

        values = {**row.to_sql(), "status": "running", "manifest": done.manifest}
        with self._write() as conn:
            conn.execute(runs.insert().values(**values, project=project))
            _end_run(conn, row.id, done)
            _insert_outputs(conn, row.id, done)
            trail.append_in(conn, trail.AuditRecord.of_run(row.id, done.manifest, at=time.time()))

    def delete_run(self, run_id: str, *, reason: str, actor: str) -> list[str]:
        """Delete a finished run and its replays (ids returned, the run first) with their
        params, metrics, artifacts, tags and verifications, and append a deletion entry for each
        to the audit trail in the same transaction, so `audit verify` tells a deletion someone
        asked for from one made in SQL. Their files stay in the object store until ``gc``.

        Refused, with nothing changed, while a run is still running, when a model version was
        registered from it, or when a dataset version is its output (lineage needs the run).
        """
        import sqlalchemy as sa

        from samerun.store import schema
        from samerun.store.schema import dataset_versions, model_versions, runs

        with self._write() as conn:
            found = conn.execute(
                sa.select(runs.c.id, runs.c.status, runs.c.manifest_oid)
                .where((runs.c.id == run_id) | (runs.c.replay_of == run_id))
                .order_by(runs.c.started_at)
            ).all()
            doomed = sorted(found, key=lambda row: row.id != run_id)  # the run, then its replays
            ids = [row.id for row in doomed]
            if not ids or ids[0] != run_id:
                raise RunNotFound(run_id)
            running = [row.id for row in doomed if row.status == "running"]
            if running:
                raise RunStateError(
                    f"run {running[0][:12]} is still running; delete it once it ends"
                )
            used = conn.execute(
                sa.select(model_versions.c.model, model_versions.c.version).where(
                    model_versions.c.run_id.in_(ids)
                )
            ).first()
            if used is not None:
                raise RunStateError(
                    f"model version {used.model}:{used.version} was registered from run "
                    f"{run_id[:12]}: a version's run is kept for its lineage and rollback"
                )
            produced = conn.execute(
                sa.select(dataset_versions.c.dataset).where(
                    dataset_versions.c.producer_run.in_(ids)
                )
            ).first()
            if produced is not None:
                raise RunStateError(
                    f"dataset {produced.dataset} has a version run {run_id[:12]} wrote: lineage "
                    "follows derived data through the run"
                )
            for table in (
                schema.params,
                schema.metric_summaries,
                schema.metrics,
                schema.artifacts,
                schema.tags,
                schema.verifications,
            ):
                conn.execute(table.delete().where(table.c.run_id.in_(ids)))
            conn.execute(runs.delete().where(runs.c.id.in_(ids)))
            at = time.time()
            for row in doomed:
                event = {"manifest": row.manifest_oid, "reason": reason}
                record = trail.AuditRecord.of_event("deletion", row.id, event, actor=actor, at=at)
                trail.append_in(conn, record)
        return ids

    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        """Set (or, with None, remove) tags of a run; they are labels, not part of its record."""
        import sqlalchemy as sa

        from samerun.store.schema import tags as table

        with self._write() as conn:
            for key, value in tags.items():
                where = sa.and_(table.c.run_id == run_id, table.c.key == key)
                conn.execute(table.delete().where(where))
                if value is not None:
                    conn.execute(table.insert().values(run_id=run_id, key=key, value=value))

    def add_verification(
        self, *, run_id: str, replay_id: str | None, verdict: Verdict, details: dict[str, Any]
    ) -> None:
        """Append a verification to the run's history and make it the run's latest verdict."""
        from samerun.store.schema import runs, verifications

        at = time.time()
        values: dict[str, Any] = {
            "run_id": run_id,
            "replay_id": replay_id,
            "verdict": verdict,
            "created_at": at,
            "details": json.dumps(details, default=str),
        }
        with self._write() as conn:
            insert = verifications.insert().values(**values).returning(verifications.c.id)
            values["id"] = conn.execute(insert).scalar_one()
            conn.execute(
                runs.update().where(runs.c.id == run_id).values(verdict=verdict, verified_at=at)
            )
            record = trail.AuditRecord.of_row("verification", run_id, values, actor="", at=at)
            trail.append_in(conn, record)

    # -- reads ---------------------------------------------------------------------------------
    def count_runs(self) -> int:
        return int(self._reader.rows("SELECT count(*) FROM runs", {})[0][0])

    def list_runs(self, limit: int | None = None, offset: int = 0) -> list[RunRow]:
        sql = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id"
        args: dict[str, Any] = {}
        if limit is not None:
            sql += " LIMIT :limit OFFSET :offset"
            args = {"limit": limit, "offset": offset}
        return [RunRow.from_sql(r) for r in self._reader.rows(sql, args)]

    def running_runs(self) -> list[RunRow]:
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE status = 'running'"
        return [RunRow.from_sql(r) for r in self._reader.rows(sql, {})]

    def resolve(self, ref: str) -> RunRow:
        """A run by full id, unique id prefix, or ``last``: the most recently started run that
        is not a replay (a replay belongs to its original, whose history holds its verdict)."""
        ref = ref.strip()
        if ref == "last":
            sql = (
                f"SELECT {RUN_COLUMNS} FROM runs WHERE replay_of IS NULL"
                " ORDER BY started_at DESC, id LIMIT 1"
            )
            found = self._reader.rows(sql, {})
            if not found:
                raise RunNotFound(ref, "the store has no runs yet")
            return RunRow.from_sql(found[0])
        if not ref or any(c not in "0123456789abcdef" for c in ref.lower()):
            raise RunNotFound(ref, "a run reference is an id, a unique id prefix, or `last`")
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE id >= :lo AND id < :hi LIMIT 2"
        lo = ref.lower()
        rows = self._reader.rows(sql, {"lo": lo, "hi": lo + "g"})
        if not rows:
            raise RunNotFound(ref)
        if len(rows) > 1:
            raise RunNotFound(ref, "more than one run starts with it; give more characters")
        return RunRow.from_sql(rows[0])

    def manifest_json(self, run_id: str) -> str:
        rows = self._reader.rows("SELECT manifest FROM runs WHERE id = :id", {"id": run_id})
        if not rows:
            raise RunNotFound(run_id)
        return str(rows[0][0])

    def metric_series(self, run_id: str, key: str) -> list[tuple[int, float, float]]:
        sql = (
            "SELECT step, value, timestamp FROM metrics WHERE run_id = :id AND key = :key"
            " ORDER BY step, timestamp"
        )
        return [
            (int(s), math.nan if v is None else float(v), float(t))
            for s, v, t in self._reader.rows(sql, {"id": run_id, "key": key})
        ]

    def metric_count(self, run_id: str) -> int:
        sql = "SELECT count(*) FROM metrics WHERE run_id = :id"
        return int(self._reader.rows(sql, {"id": run_id})[0][0])

    def verifications(self, run_id: str) -> list[VerificationRecord]:
        """The run's verification history, oldest first."""
        sql = (
            "SELECT replay_id, verdict, created_at, details FROM verifications"
            " WHERE run_id = :id ORDER BY created_at, id"
        )
        return [
            VerificationRecord(r, verdict(v), t, json.loads(d))
            for r, v, t, d in self._reader.rows(sql, {"id": run_id})
        ]

    def select(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a read-only query built by :mod:`samerun.query` (named ``:parameters``)."""
        return self._reader.rows(sql, dict(params))

    def metric_summaries(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricSummary]]:
        """Each run's metric summaries, by run id and key (for a page of runs)."""
        found: dict[str, dict[str, MetricSummary]] = {run_id: {} for run_id in run_ids}
        for run_id, key, last, step, low, high, count, series in self._for_runs(
            "SELECT run_id, key, last, step, min, max, count, series FROM metric_summaries", run_ids
        ):
            found[run_id][key] = MetricSummary(
                last=_nan(last),
                step=step,
                count=count,
                min=_nan(low),
                max=_nan(high),
                series=series,
            )
        return found

    def params_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each run's params as flat dotted keys, by run id (for a page of runs)."""
        found: dict[str, dict[str, Any]] = {run_id: {} for run_id in run_ids}
        rows = self._for_runs("SELECT run_id, key, value FROM params", run_ids)
        # One parse of all the values as one JSON array: a page of 10,000 runs holds 200,000.
        values = json.loads(f"[{','.join(value for _, _, value in rows)}]")
        for (run_id, key, _), value in zip(rows, values, strict=True):
            found[run_id][key] = value
        return found

    def tags_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each run's tags, by run id."""
        found: dict[str, dict[str, str]] = {run_id: {} for run_id in run_ids}
        for run_id, key, value in self._for_runs("SELECT run_id, key, value FROM tags", run_ids):
            found[run_id][key] = value
        return found

    def keys(self, table: str) -> list[str]:
        """Every distinct key of ``params``, ``metric_summaries`` or ``tags``, sorted."""
        if table not in ("params", "metric_summaries", "tags"):
            raise ValueError(f"no keys table {table!r}")
        return sorted(str(k) for (k,) in self._reader.rows(f"SELECT DISTINCT key FROM {table}", {}))

    def run_rows(self, run_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """The ``RUN_COLUMNS`` rows of ``run_ids``, in that order.

        Listings sort and filter on narrow rows first, then read the page's whole rows here:
        ``replay_of``, ``verdict`` and ``verified_at`` sit after the manifest in each row, so
        reading them walks the manifest's kilobytes, which for the 2,000 matches of a filter
        over 10,000 runs cost 150 ms.
        """
        rows = self._for_runs(f"SELECT {RUN_COLUMNS} FROM runs", run_ids, column="id", order="")
        by_id = {row[0]: row for row in rows}
        return [by_id[run_id] for run_id in run_ids]

    def _for_runs(
        self, select: str, run_ids: Sequence[str], *, column: str = "run_id", order: str = "key"
    ) -> list[tuple[Any, ...]]:
        """``select`` restricted to ``run_ids``, in batches that stay under SQL's bind limits."""
        rows: list[tuple[Any, ...]] = []
        ordered = f" ORDER BY {order}" if order else ""
        for start in range(0, len(run_ids), 500):
            batch = run_ids[start : start + 500]
            marks = ", ".join(f":r{i}" for i in range(len(batch)))
            args = {f"r{i}": run_id for i, run_id in enumerate(batch)}
            rows += self._reader.rows(f"{select} WHERE {column} IN ({marks}){ordered}", args)
        return rows

    def schema_revision(self) -> str | None:
        try:
            rows = self._reader.rows("SELECT version_num FROM alembic_version", {})
        except StoreError:
            self._reader.rows("SELECT 1", {})  # unreachable, not just empty: let that error out
            return None
        return str(rows[0][0]) if rows else None


def _end_run(conn: sa.Connection, run_id: str, done: RunCompletion) -> bool:
    """Mark run ``run_id`` ended as ``done`` says, if it is still ``running``."""
    import sqlalchemy as sa

    from samerun.store.schema import runs

    updated = conn.execute(
        runs.update()
        .where(sa.and_(runs.c.id == run_id, runs.c.status == "running"))
        .values(
            status=done.status,
            name=done.name,
            input_fp=done.input_fp,
            ended_at=done.ended_at,
            exit_code=done.exit_code,
            signal=done.signal,
            error=done.error,
            output_fp=done.output_fp,
            manifest=done.manifest,
            manifest_oid=done.manifest_oid,
            summary=json.dumps(done.summary, allow_nan=True),
        )
    )
    return bool(updated.rowcount == 1)


def _insert_outputs(conn: sa.Connection, run_id: str, done: RunCompletion) -> None:
    """The rows of what run ``run_id`` ended with: params, metrics and artifacts."""
    from samerun.store.schema import artifacts, metric_summaries, params

    leaves = param_rows(done.params)
    if leaves:
        conn.execute(
            params.insert(),
            [
                {"run_id": run_id, "key": k, "value": v, "number": n, "text": t}
                for k, v, n, t in leaves
            ],
        )
    if done.metric_summaries:
        conn.execute(
            metric_summaries.insert(),
            [
                {
                    "run_id": run_id,
                    "key": key,
                    "last": _finite(m.last),
                    "step": m.step,
                    "min": _finite(m.min),
                    "max": _finite(m.max),
                    "count": m.count,
                    "series": m.series,
                }
                for key, m in done.metric_summaries.items()
            ],
        )
    _insert_metrics(conn, run_id, done.metrics)
    if done.artifacts:
        conn.execute(
            artifacts.insert(),
            [
                {"run_id": run_id, "path": p, "oid": o, "size": s, "kind": k}
                for p, o, s, k in done.artifacts
            ],
        )


def _insert_metrics(
    conn: sa.Connection, run_id: str, items: Iterable[tuple[str, int, float, float]]
) -> None:
    """Insert metric rows through the driver's executemany: Core's per-row dicts cost 2x."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = "run_id, key, step, value, timestamp"
    sql = f"INSERT INTO metrics ({columns}) VALUES ({', '.join([mark] * 5)})"
    rows = [
        (run_id, key, step, None if math.isnan(value) else value, ts)
        for key, step, value, ts in items
    ]
    for start in range(0, len(rows), 50_000):
        conn.exec_driver_sql(sql, rows[start : start + 50_000])


def param_rows(params: Mapping[str, Any]) -> list[tuple[str, str, float | None, str]]:
    """(dotted key, JSON text, number or None, text) for each leaf of nested ``params``.

    A number's ``number`` is the number; a string's ``text`` is the string itself, any other
    value's is its JSON text. Empty mappings and lists are leaves too.
    """
    rows = []
    for key, value in flatten(params).items():
        text = json.dumps(value, sort_keys=True)
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        rows.append(
            (
                key,
                text,
                None if number is None else float(number),
                value if isinstance(value, str) else text,
            )
        )
    return rows


def _finite(value: float) -> float | None:
    """SQLite cannot store a NaN REAL: NaN is written as NULL."""
    return None if math.isnan(value) else value


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err)
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def open_meta_store(url: str, *, create: bool = False) -> MetaStore:
    """Open the metadata store at ``url``; create or upgrade its schema when needed."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            if not create:
                raise StoreError(f"no metadata store at {path}; run `samerun init` first")
            migrate.create_sqlite(url, path)
        store = MetaStore(url, _SqliteReader(path))
    else:
        store = MetaStore(url, _SqlAlchemyReader(create_engine(url)))
    migrate.ensure_current(store, create=create)
    return store
