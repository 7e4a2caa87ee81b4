"""The team server's projects and who belongs to them, in which role.

A role is one of a closed set, checked where it comes in: a reader browses and pulls, a writer
also pushes runs and data, a maintainer also manages members, an admin also grants admin.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, NamedTuple, get_args

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from samerun._exceptions import UsageError
from samerun.server.auth import Accounts, checked_name
from samerun.store.schema import members, project_objects, projects, users

Role = Literal["reader", "writer", "maintainer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
#: Object ids per query when checking or granting objects (well inside SQLite's and
#: PostgreSQL's limits on bound parameters).
OIDS_PER_QUERY = 1000


class Member(NamedTuple):
    """A user's role in a project."""

    project: str
    user: str
    role: Role


def role(text: str) -> Role:
    """``text`` as a role, or a :class:`UsageError` listing the roles."""
    for known in ROLES:
        if text == known:
            return known
    raise UsageError(f"{text!r} is not a role; use one of {', '.join(ROLES)}")


def create_project(engine: sa.Engine, name: str) -> None:
    """Create project ``name`` (no members yet: add them with :func:`add_member`)."""
    checked_name(name, "project")
    with engine.begin() as conn:
        if conn.execute(sa.select(projects.c.name).where(projects.c.name == name)).first():
            raise UsageError(f"project {name!r} already exists")
        conn.execute(projects.insert().values(name=name, created_at=time.time()))


def add_member(engine: sa.Engine, project: str, user_name: str, given: Role) -> Member:
    """Give ``user_name`` role ``given`` in ``project`` (replacing the role it had)."""
    user = Accounts(engine).user(user_name)
    with engine.begin() as conn:
        if not conn.execute(sa.select(projects.c.name).where(projects.c.name == project)).first():
            raise UsageError(
                f"no project {project!r}; create it with `samerun server project create`"
            )
        conn.execute(
            members.delete().where(members.c.project == project, members.c.user_id == user.id)
        )
        conn.execute(members.insert().values(project=project, user_id=user.id, role=given))
    return Member(project, user_name, given)


def roles_of(engine: sa.Engine, user_id: int) -> dict[str, Role]:
    """Each project user ``user_id`` belongs to, and its role there."""
    query = sa.select(members.c.project, members.c.role).where(members.c.user_id == user_id)
    with engine.connect() as conn:
        return {str(project): role(str(found)) for project, found in conn.execute(query)}


def members_of(engine: sa.Engine, project: str) -> list[Member]:
    """The members of ``project``, by name."""
    query = (
        sa.select(users.c.name, members.c.role)
        .join(users, users.c.id == members.c.user_id)
        .where(members.c.project == project)
        .order_by(users.c.name)
    )
    with engine.connect() as conn:
        return [Member(project, str(name), role(str(found))) for name, found in conn.execute(query)]


def grant_objects(engine: sa.Engine, project: str, oids: Iterable[str]) -> None:
    """Let the members of ``project`` read objects ``oids`` (a writer of it sent their bytes);
    granting an object twice, or from two requests at once, grants it once."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    with engine.begin() as conn:
        for chunk in _chunks(list(oids)):
            rows = [{"project": project, "oid": oid} for oid in chunk]
            conn.execute(dialect.insert(project_objects).on_conflict_do_nothing(), rows)


def granted_objects(engine: sa.Engine, project: str, oids: Sequence[str]) -> set[str]:
    """Which of ``oids`` the members of ``project`` may read. An object stored for another
    project only is not among them: its id alone grants nothing."""
    found: set[str] = set()
    with engine.connect() as conn:
        for chunk in _chunks(list(oids)):
            query = sa.select(project_objects.c.oid).where(
                project_objects.c.project == project, project_objects.c.oid.in_(chunk)
            )
            found.update(str(oid) for oid in conn.scalars(query))
    return found


def objects_after(engine: sa.Engine, project: str, after: str, limit: int) -> list[str]:
    """Up to ``limit`` of the objects granted to ``project``, in id order, after ``after``."""
    query = (
        sa.select(project_objects.c.oid)
        .where(project_objects.c.project == project, project_objects.c.oid > after)
        .order_by(project_objects.c.oid)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [str(oid) for oid in conn.scalars(query)]


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), OIDS_PER_QUERY):
        yield items[start : start + OIDS_PER_QUERY]
