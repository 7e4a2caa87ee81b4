from __future__ import annotations

import pytest

from samerun._exceptions import UsageError
from samerun.server.auth import Accounts
from samerun.server.projects import Member, add_member, create_project, members_of, role, roles_of
from samerun.store.engine import create_engine
from samerun.store.meta import open_meta_store


def test_members_get_one_role_per_project(postgres_url: str) -> None:
    open_meta_store(postgres_url, create=True).close()
    engine = create_engine(postgres_url)
    Accounts(engine).create_user("alice")
    create_project(engine, "vision")
    add_member(engine, "vision", "alice", "reader")
    add_member(engine, "vision", "alice", "writer")  # replaces the role
    assert members_of(engine, "vision") == [Member("vision", "alice", "writer")]
    assert roles_of(engine, Accounts(engine).user("alice").id) == {"vision": "writer"}
    with pytest.raises(UsageError, match="no project 'nlp'"):
        add_member(engine, "nlp", "alice", "reader")
    with pytest.raises(UsageError, match="already exists"):
        create_project(engine, "vision")


def test_a_role_is_one_of_the_closed_set() -> None:
    assert role("maintainer") == "maintainer"
    with pytest.raises(UsageError, match="use one of reader, writer, maintainer, admin"):
        role("owner")
