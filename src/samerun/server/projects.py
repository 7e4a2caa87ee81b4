"""The team server's projects and who belongs to them, in which role.

A role is one of a closed set, checked where it comes in: a reader browses and pulls, a writer
also pushes runs and data, a maintainer also manages members, an admin also grants admin.
"""

from __future__ import annotations

import time
from typing import Literal, NamedTuple, get_args

import sqlalchemy as sa

from samerun._exceptions import UsageError
from samerun.server.auth import Accounts, checked_name
from samerun.store.schema import members, projects, users

Role = Literal["reader", "writer", "maintainer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)


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
