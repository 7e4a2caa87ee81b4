from __future__ import annotations

import pytest

from samerun._exceptions import UsageError
from samerun.server.auth import Accounts
from samerun.server.projects import (
    OIDS_PER_QUERY,
    Member,
    add_member,
    create_project,
    grant_objects,
    granted_objects,
    members_of,
    objects_after,
    role,
    roles_of,
)
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


def test_objects_are_granted_per_project_once_and_listed_in_pages(postgres_url: str) -> None:
    open_meta_store(postgres_url, create=True).close()
    engine = create_engine(postgres_url)
    create_project(engine, "vision")
    create_project(engine, "nlp")
    oids = [f"blake3:{i:064x}" for i in range(2 * OIDS_PER_QUERY + 5)]
    grant_objects(engine, "vision", oids)
    grant_objects(engine, "vision", oids[:10])  # again: no duplicate, no error
    assert granted_objects(engine, "vision", oids) == set(oids)
    assert granted_objects(engine, "nlp", oids) == set()
    first = objects_after(engine, "vision", "", 3)
    assert first == oids[:3]
    assert objects_after(engine, "vision", first[-1], 3) == oids[3:6]
    assert objects_after(engine, "vision", oids[-1], 3) == []
    assert objects_after(engine, "nlp", "", 3) == []
