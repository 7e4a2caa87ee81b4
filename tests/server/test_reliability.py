"""The team server under failure and load, as real processes over PostgreSQL: a server
SIGKILLed in the middle of a push (the client retries, the push completes, nothing duplicated
or half-visible) and 50 clients pushing at once (every run and metric point there, no 5xx)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import samerun
from samerun.hashing import hash_file
from samerun.store.engine import create_engine
from samerun.store.objects import open_object_store
from samerun.store.project import Project, open_store
from samerun.sync import Remote, push
from tests.conftest import Cli
from tests.server.conftest import Team
from tests.server.test_process import free_port, serving

#: Artifacts of the run pushed while the server is killed, and their size: enough packs of
#: uploads (``samerun.sync.PACK_BYTES`` each) that the kill lands in the middle of them.
ARTIFACTS = 300
ARTIFACT_BYTES = 256 * 1024
CLIENTS = 50
POINTS = 200


@pytest.fixture
def local_store(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own store is local again (the team fixture pointed it at the server's)."""
    monkeypatch.delenv("SAMERUN_METADATA_URL")
    monkeypatch.delenv("SAMERUN_OBJECTS_URL")


def record_run(project: Path, name: str, artifacts: int, points: int, size: int = 16 * 1024) -> str:
    out = project / "out" / name
    out.mkdir(parents=True)
    with samerun.start_run(name=name, params={"name": name}, seed=1) as run:
        for step in range(points):
            samerun.log_metric("loss", 1.0 / (step + 1), step=step)
        for index in range(artifacts):
            path = out / f"part-{index:04}.bin"
            seed = f"{name}-{index}-".encode()
            path.write_bytes((seed * (size // len(seed) + 1))[:size])
            samerun.log_artifact(path)
    return run.id


def server_rows(team: Team, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(team.metadata)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def granted(team: Team) -> int:
    found = server_rows(team, "SELECT count(*) FROM project_objects WHERE project = 'alpha'")
    return int(str(found[0][0]))


def test_a_push_survives_the_server_being_killed_in_the_middle(
    cli: Cli, project: Path, tmp_path: Path, team: Team, local_store: None
) -> None:
    run_id = record_run(project, "big", ARTIFACTS, 10, ARTIFACT_BYTES)
    port = free_port()
    before = granted(team)
    with serving(team, tmp_path, port=port, stop=signal.SIGKILL) as first:
        assert cli("login", first.url, "--token", team.tokens["writer"]).exit_code == 0
        pushing = subprocess.Popen(
            [sys.executable, "-m", "samerun.cli", "push", "--project", "alpha"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while granted(team) < before + 20:
            assert pushing.poll() is None, "the push ended before the server could be killed"
            assert time.monotonic() < deadline, "the push sent nothing"
            time.sleep(0.02)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()
    sent_before_the_kill = granted(team) - before
    assert sent_before_the_kill < ARTIFACTS, "the push was done before the kill: make it bigger"
    # Killed mid-push: the run is not on the server, not even in part.
    assert server_rows(team, "SELECT id FROM runs WHERE id = :id", id=run_id) == []
    assert server_rows(team, "SELECT path FROM artifacts WHERE run_id = :id", id=run_id) == []
    with serving(team, tmp_path, port=port):  # back, on the same address, within the retries
        out, err = pushing.communicate(timeout=120)
        assert pushing.returncode == 0, err
        assert f"{run_id}  pushed" in out
    assert server_rows(team, "SELECT count(*) FROM runs WHERE id = :id", id=run_id) == [(1,)]
    artifacts = server_rows(team, "SELECT oid FROM artifacts WHERE run_id = :id", id=run_id)
    assert len(artifacts) == ARTIFACTS
    stored = open_object_store(team.objects)
    for (oid,) in artifacts:
        path = stored.path_of(str(oid))
        assert path is not None
        assert hash_file(path) == oid


def test_fifty_clients_pushing_at_once_lose_nothing(
    project: Path, tmp_path: Path, team: Team, local_store: None
) -> None:
    runs = [record_run(project, f"client-{i}", 2, POINTS) for i in range(CLIENTS)]
    with serving(team, tmp_path, "--workers", "2") as served:

        def one_client(run_id: str) -> bool:
            store = open_store(Project(project))
            remote = Remote(served.url, team.tokens["writer"])
            try:
                (done,) = push(store, remote, "alpha", [run_id])
                return done.created
            finally:
                remote.close()
                store.close()

        with ThreadPoolExecutor(CLIENTS) as pool:
            created = list(pool.map(one_client, runs))
        assert created == [True] * CLIENTS
        auth = {"authorization": f"Bearer {team.tokens['reader']}"}
        with httpx.Client(base_url=served.url, headers=auth, timeout=60) as client:
            for run_id in runs:
                history = client.get(f"/api/v1/runs/{run_id}/metrics/loss/history")
                assert history.status_code == 200, history.text
                found = history.json()
                assert found["points"] == POINTS
                steps = [bucket["last_step"] for bucket in found["buckets"]]
                assert steps == list(range(POINTS))
        log = served.log.read_text()
    held = server_rows(
        team, "SELECT count(*) FROM runs WHERE project = 'alpha' AND name LIKE 'client-%'"
    )
    assert held == [(CLIENTS,)]
    assert " 500 " not in log
    assert "Traceback" not in log
