"""The registry's rows: reads as plain SQL through the metadata store's reader, writes in one
write transaction each (``BEGIN IMMEDIATE`` on SQLite, a row lock on the model elsewhere), each
ending with its entry in the audit trail (:mod:`samerun.store.trail`).

An alias event reads the chain's previous hash inside the transaction that appends it, so two
processes moving one alias at once are put in order, and neither event is lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from samerun.manifest import Artifact
from samerun.registry.model import AliasEvent, EventKind, ModelSummary, ModelVersion
from samerun.store.trail import AuditRecord, append_in

if TYPE_CHECKING:
    import sqlalchemy as sa

    from samerun.store.meta import MetaStore

_VERSION_COLUMNS = "model, version, run_id, files, description, tags, created_at, created_by"
_EVENT_COLUMNS = (
    "model, seq, alias, kind, from_version, to_version, actor, at, reason, prev_hash, hash"
)


def _version(row: Sequence[Any]) -> ModelVersion:
    model, number, run_id, files, description, tags, created_at, created_by = row
    return ModelVersion(
        model,
        int(number),
        run_id,
        [Artifact.from_dict(f) for f in json.loads(files)],
        description,
        json.loads(tags),
        float(created_at),
        created_by,
    )


def _event(row: Sequence[Any]) -> AliasEvent:
    model, seq, alias, kind, before, after, actor, at, reason, prev_hash, digest = row
    return AliasEvent(
        model,
        int(seq),
        alias,
        kind,
        before,
        int(after),
        actor,
        float(at),
        reason,
        prev_hash,
        digest,
    )


class RegistryStore:
    """The registry tables of one open metadata store."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    # -- reads ---------------------------------------------------------------------------------
    def model_exists(self, name: str) -> bool:
        return bool(self.meta.select("SELECT 1 FROM models WHERE name = :m", {"m": name}))

    def project_of(self, name: str) -> str | None:
        """The team-server project of model ``name``: its first version's run's (None for a
        model of a local store, or one with no version)."""
        rows = self.meta.select(
            "SELECT r.project FROM model_versions v JOIN runs r ON r.id = v.run_id"
            " WHERE v.model = :m AND v.version = 1",
            {"m": name},
        )
        return rows[0][0] if rows else None

    def summaries(self, projects: Sequence[str] | None = None) -> list[ModelSummary]:
        """Every model (of ``projects`` only, when given: filtered in the query)."""
        where, args = "", {}
        if projects is not None:
            marks = ", ".join(f":p{i}" for i in range(len(projects)))
            where = (
                " WHERE m.name IN (SELECT v1.model FROM model_versions v1 JOIN runs r"
                f" ON r.id = v1.run_id WHERE v1.version = 1 AND r.project IN ({marks or 'NULL'}))"
            )
            args = {f"p{i}": project for i, project in enumerate(projects)}
        models = self.meta.select(
            "SELECT m.name, m.created_at, count(v.version) FROM models m"
            f" LEFT JOIN model_versions v ON v.model = m.name{where}"
            " GROUP BY m.name, m.created_at ORDER BY m.name",
            args,
        )
        aliases: dict[str, dict[str, int]] = {}
        for model, alias, version in self.meta.select(
            "SELECT model, alias, version FROM model_aliases ORDER BY model, alias", {}
        ):
            aliases.setdefault(model, {})[alias] = int(version)
        return [
            ModelSummary(name, float(at), int(count), aliases.get(name, {}))
            for name, at, count in models
        ]

    def version(self, name: str, number: int) -> ModelVersion | None:
        rows = self.meta.select(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE model = :m AND version = :v",
            {"m": name, "v": number},
        )
        return _version(rows[0]) if rows else None

    def latest(self, name: str) -> int | None:
        rows = self.meta.select(
            "SELECT max(version) FROM model_versions WHERE model = :m", {"m": name}
        )
        return None if rows[0][0] is None else int(rows[0][0])

    def versions(self, name: str) -> list[ModelVersion]:
        rows = self.meta.select(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE model = :m ORDER BY version",
            {"m": name},
        )
        return [_version(row) for row in rows]

    def alias_target(self, name: str, alias: str) -> int | None:
        rows = self.meta.select(
            "SELECT version FROM model_aliases WHERE model = :m AND alias = :a",
            {"m": name, "a": alias},
        )
        return int(rows[0][0]) if rows else None

    def aliases(self, name: str) -> dict[str, int]:
        rows = self.meta.select(
            "SELECT alias, version FROM model_aliases WHERE model = :m ORDER BY alias", {"m": name}
        )
        return {alias: int(version) for alias, version in rows}

    def aliases_at(self, name: str, at: float) -> dict[str, int]:
        """Where each alias pointed at ``at``: the last event of each alias up to then."""
        rows = self.meta.select(
            "SELECT e.alias, e.to_version FROM alias_events e JOIN"
            " (SELECT alias, max(seq) AS seq FROM alias_events WHERE model = :m AND at <= :t"
            " GROUP BY alias) last ON e.seq = last.seq WHERE e.model = :m ORDER BY e.alias",
            {"m": name, "t": at},
        )
        return {alias: int(version) for alias, version in rows}

    def events(
        self, name: str, *, alias: str | None = None, until: float | None = None
    ) -> list[AliasEvent]:
        """The model's alias events in chain order, of ``alias`` and up to ``until`` if given."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM alias_events WHERE model = :m"
        args: dict[str, Any] = {"m": name}
        if alias is not None:
            sql += " AND alias = :a"
            args["a"] = alias
        if until is not None:
            sql += " AND at <= :t"
            args["t"] = until
        return [_event(row) for row in self.meta.select(sql + " ORDER BY seq", args)]

    def protected(self, name: str) -> list[str]:
        """The aliases of model ``name`` only maintainers may move."""
        rows = self.meta.select(
            "SELECT alias FROM alias_protections WHERE model = :m ORDER BY alias", {"m": name}
        )
        return [str(alias) for (alias,) in rows]

    def head(self, name: str) -> str | None:
        rows = self.meta.select("SELECT head FROM models WHERE name = :m", {"m": name})
        return rows[0][0] if rows else None

    def used_objects(self) -> set[str]:
        """Every object a model version's files name (a directory's tree; gc expands it)."""
        return {
            f.oid
            for (files,) in self.meta.select("SELECT files FROM model_versions", {})
            for f in (Artifact.from_dict(d) for d in json.loads(files))
        }

    # -- writes --------------------------------------------------------------------------------
    def add_version(
        self,
        name: str,
        run_id: str,
        files: Sequence[Artifact],
        description: str,
        tags: dict[str, str],
        created_at: float,
        created_by: str,
    ) -> ModelVersion:
        """Create the model when new and append its next version, in one transaction."""
        import sqlalchemy as sa  # start-up: reads never import SQLAlchemy

        from samerun.store.schema import model_versions, models

        with self.meta._write() as conn:
            exists, _ = _lock_model(conn, name)
            if not exists:
                conn.execute(models.insert().values(name=name, created_at=created_at, head=None))
            latest = conn.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model == name
                )
            ).scalar()
            version = ModelVersion(
                name,
                (latest or 0) + 1,
                run_id,
                list(files),
                description,
                dict(tags),
                created_at,
                created_by,
            )
            values = {
                "model": name,
                "version": version.version,
                "run_id": run_id,
                "files": json.dumps([f.to_dict() for f in files], sort_keys=True),
                "description": description,
                "tags": json.dumps(tags, sort_keys=True),
                "created_at": created_at,
                "created_by": created_by,
            }
            conn.execute(model_versions.insert().values(**values))
            subject = f"{name}:{version.version}"
            record = AuditRecord.of_row(
                "model_version", subject, values, actor=created_by, at=created_at
            )
            append_in(conn, record)
        return version

    def append_event(
        self,
        name: str,
        alias: str,
        to_version: int,
        *,
        kind: EventKind,
        actor: str,
        at: float,
        reason: str,
    ) -> AliasEvent:
        """Point ``alias`` at ``to_version`` by appending an event to the model's chain.

        The previous hash, the next sequence number and where the alias pointed are all read
        inside the transaction that writes the event: a concurrent mover waits for it.
        """
        import sqlalchemy as sa  # start-up: reads never import SQLAlchemy

        from samerun.store.schema import alias_events, model_aliases, models

        with self.meta._write() as conn:
            _, head = _lock_model(conn, name)
            seq = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(alias_events.c.seq), 0)).where(
                    alias_events.c.model == name
                )
            ).scalar_one()
            where = sa.and_(model_aliases.c.model == name, model_aliases.c.alias == alias)
            before = conn.execute(sa.select(model_aliases.c.version).where(where)).scalar()
            event = AliasEvent.sealed(
                model=name,
                seq=int(seq) + 1,
                alias=alias,
                kind=kind,
                from_version=before,
                to_version=to_version,
                actor=actor,
                at=at,
                reason=reason,
                prev_hash=head,
            )
            conn.execute(alias_events.insert().values(**event.to_dict()))
            conn.execute(model_aliases.delete().where(where))
            conn.execute(
                model_aliases.insert().values(
                    model=name, alias=alias, version=to_version, seq=event.seq
                )
            )
            conn.execute(models.update().where(models.c.name == name).values(head=event.hash))
            record = AuditRecord.of_row(
                "alias_move", f"{name}@{alias}", event.to_dict(), actor=actor, at=at
            )
            append_in(conn, record)  # its oid is the event's hash: the two chains are linked
        return event

    def set_protected(self, name: str, alias: str, on: bool, *, actor: str, at: float) -> None:
        """Protect ``alias`` of model ``name`` (``on``) or lift its protection."""
        import sqlalchemy as sa  # start-up: reads never import SQLAlchemy

        from samerun.store.schema import alias_protections

        where = sa.and_(alias_protections.c.model == name, alias_protections.c.alias == alias)
        with self.meta._write() as conn:
            _lock_model(conn, name)
            conn.execute(alias_protections.delete().where(where))
            if on:
                conn.execute(
                    alias_protections.insert().values(
                        model=name, alias=alias, protected_by=actor, protected_at=at
                    )
                )


def _lock_model(conn: sa.Connection, name: str) -> tuple[bool, str | None]:
    """Whether the model exists, and its chain head; its row is locked for this transaction."""
    import sqlalchemy as sa

    from samerun.store.schema import models

    row = conn.execute(
        sa.select(models.c.head).where(models.c.name == name).with_for_update()
    ).first()
    return (False, None) if row is None else (True, row.head)
