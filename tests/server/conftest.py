"""A team server over a real throwaway PostgreSQL: two projects with a run each, a user in
each role of project ``alpha``, an ``outsider`` who reads only ``beta``, each with a token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

import samerun
from samerun.manifest import Manifest
from samerun.server.app import serve_server_app
from samerun.server.auth import Accounts
from samerun.server.projects import ROLES, add_member, create_project, grant_objects
from samerun.store.engine import create_engine
from samerun.store.objects import open_object_store
from samerun.sync import run_objects
from tests.store.conftest import postgres_server, postgres_url, postgres_urls  # noqa: F401

BASE = "http://127.0.0.1"
#: A value only a run of project beta holds: no response to an alpha member may contain it.
BETA_SECRET = "beta-only-value-7f3a"


class Team(NamedTuple):
    metadata: str
    objects: str
    alpha_run: str
    beta_run: str
    passwords: dict[str, str]
    tokens: dict[str, str]


def record(name: str, marker: str) -> str:
    with samerun.start_run(name=name, params={"marker": marker}, seed=1) as run:
        samerun.log_metric("loss", len(marker) / 100, step=0)  # a series object of its own
    return run.id


def file_under(engine: sa.Engine, objects: str, run_id: str, project: str) -> None:
    """What a push does to a run recorded into the server's stores: its objects granted to
    ``project``, then the run filed there."""
    with engine.begin() as conn:
        query = sa.text("SELECT manifest FROM runs WHERE id = :id")
        manifest = Manifest.from_json(conn.execute(query, {"id": run_id}).scalar_one())
        conn.execute(
            sa.text("UPDATE runs SET project = :p WHERE id = :id"), {"p": project, "id": run_id}
        )
    grant_objects(engine, project, run_objects(open_object_store(objects), manifest))


@pytest.fixture
def team(
    postgres_url: str,  # noqa: F811
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Team:
    objects = str(tmp_path / "objects")
    monkeypatch.setenv("SAMERUN_METADATA_URL", postgres_url)
    monkeypatch.setenv("SAMERUN_OBJECTS_URL", objects)
    alpha_run, beta_run = record("alpha-run", "alpha-value"), record("beta-run", BETA_SECRET)
    engine = create_engine(postgres_url)
    create_project(engine, "alpha")
    create_project(engine, "beta")
    for run_id, name in ((alpha_run, "alpha"), (beta_run, "beta")):
        file_under(engine, objects, run_id, name)
    accounts = Accounts(engine)
    passwords, tokens = {}, {}
    for user, project_name, role in [
        *((r, "alpha", r) for r in ROLES),
        ("outsider", "beta", "reader"),
    ]:
        passwords[user] = accounts.create_user(user)
        add_member(engine, project_name, user, role)
        tokens[user] = accounts.create_token(user, "test").secret
    engine.dispose()
    return Team(postgres_url, objects, alpha_run, beta_run, passwords, tokens)


@pytest.fixture
def client(team: Team) -> Iterator[TestClient]:
    """The served app (Host check and headers included), started and stopped in-process."""
    app = serve_server_app(team.metadata, team.objects, "127.0.0.1")
    with TestClient(app, base_url=BASE, follow_redirects=False) as found:
        yield found


def sign_in(client: TestClient, team: Team, user: str) -> str:
    """Sign ``user`` in through the form; returns the page's CSRF token."""
    done = client.post(
        "/login",
        data={"name": user, "password": team.passwords[user]},
        headers={"origin": BASE},
    )
    assert done.status_code == 303, done.text
    token = client.get("/api/v1/session").json()["csrf_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def served(team: Team, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server listening on a free loopback port; the project's own store is local again."""
    monkeypatch.delenv("SAMERUN_METADATA_URL")
    monkeypatch.delenv("SAMERUN_OBJECTS_URL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = serve_server_app(team.metadata, team.objects, "127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)
