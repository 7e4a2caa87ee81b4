"""``samerun server`` as a real process: uvicorn on 127.0.0.1 and a free port, over the team's
PostgreSQL and a local object directory. It signs people in, serves API tokens made by its
admin commands, sends a signed-out browser to sign in, marks cookies Secure when told, serves
with several workers and stops cleanly; its admin commands refuse bad input in one line and
change nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
import psutil
import pytest
import sqlalchemy as sa

from samerun.store.engine import create_engine
from samerun.store.schema import members, projects, sessions, tokens, users
from tests.server.conftest import BETA_SECRET, Team


class Served(NamedTuple):
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def samerun(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``samerun`` command, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "samerun.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def serving(
    team: Team,
    tmp_path: Path,
    *options: str,
    stop: int = signal.SIGINT,
    port: int | None = None,
) -> Iterator[Served]:
    """``samerun server`` over the team's stores (on ``port``, else a free one), once
    ``/login`` answers; stopped with ``stop`` after, every process it started gone and nothing
    in its log but what it printed."""
    port = port or free_port()
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "samerun.cli", "server", "--port", str(port), *options],
            env={
                **os.environ,
                "SAMERUN_SERVER_METADATA": team.metadata,
                "SAMERUN_SERVER_OBJECTS": team.objects,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal for the test run does not reach it
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/login", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"samerun server did not start: {log.read_text()}")
        time.sleep(0.1)
    started = psutil.Process(process.pid).children(recursive=True)
    try:
        yield Served(url, process, log)
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"samerun server did not stop: {log.read_text()}") from None
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], "the server's workers outlived it"
    printed = log.read_text()
    assert "Traceback" not in printed, printed
    assert process.returncode in (0, -stop), printed  # uvicorn ends by the signal it got


def token_for(team: Team, user: str, label: str) -> str:
    """A token made by ``samerun server token create``, as an administrator would."""
    done = samerun("server", "token", "create", user, "--name", label, "--metadata", team.metadata)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.rsplit(" ", 1)[-1].strip()
    assert secret.startswith("srn_")
    return secret


def sign_in(client: httpx.Client, team: Team, user: str, origin: str) -> httpx.Response:
    return client.post(
        "/login",
        data={"name": user, "password": team.passwords[user]},
        headers={"origin": origin},
    )


def test_it_starts_signs_in_serves_tokens_and_sends_strangers_to_sign_in(
    team: Team, tmp_path: Path
) -> None:
    token = token_for(team, "reader", "process")
    with serving(team, tmp_path) as served:
        printed = served.log.read_text()
        assert printed.startswith(f"samerun server: serving on {served.url} (1 worker(s))\n")
        with httpx.Client(base_url=served.url, follow_redirects=False, timeout=30) as browser:
            page = browser.get("/login")
            assert page.status_code == 200
            assert 'name="password"' in page.text
            stranger = browser.get("/")
            assert stranger.status_code == 303
            assert stranger.headers["location"] == "/login?next=/"
            assert browser.get(f"/runs/{team.alpha_run}").status_code == 303
            assert browser.get("/api/v1/runs").status_code == 401
            listed = browser.get("/api/v1/runs", headers={"authorization": f"Bearer {token}"})
            assert listed.status_code == 200
            assert [r["id"] for r in listed.json()["runs"]] == [team.alpha_run]
            assert BETA_SECRET not in listed.text
            signed = sign_in(browser, team, "reader", served.url)
            assert signed.status_code == 303
            cookie = signed.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
            assert "secure" not in cookie
            assert browser.get("/").status_code == 200
        assert (
            samerun(
                "server",
                "token",
                "revoke",
                "reader",
                "--name",
                "process",
                "--metadata",
                team.metadata,
            ).returncode
            == 0
        )
        revoked = httpx.get(
            served.url + "/api/v1/runs", headers={"authorization": f"Bearer {token}"}
        )
        assert revoked.status_code == 401  # the running server reads the revocation at once
    log = served.log.read_text()
    for secret in (token, team.passwords["reader"]):
        assert secret not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_secure_cookies_and_workers(team: Team, tmp_path: Path, workers: int) -> None:
    with serving(
        team, tmp_path, "--secure-cookies", "--workers", str(workers), stop=signal.SIGTERM
    ) as served:
        if workers > 1:
            found = psutil.Process(served.process.pid).children(recursive=True)
            spawned = [p for p in found if "spawn_main" in " ".join(p.cmdline())]
            assert len(spawned) == workers  # uvicorn's worker processes
        host = served.url.removeprefix("http://")
        with httpx.Client(base_url=served.url, follow_redirects=False, timeout=30) as browser:
            assert sign_in(browser, team, "reader", served.url).status_code == 403  # not https
            signed = sign_in(browser, team, "reader", f"https://{host}")  # behind a TLS proxy
            assert signed.status_code == 303, signed.text
            cookie = signed.headers["set-cookie"].lower()
            assert "; secure" in cookie
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
        token = {"authorization": f"Bearer {team.tokens['reader']}"}
        for _ in range(8 * workers):  # each worker answers alike
            with httpx.Client(base_url=served.url, timeout=30) as fresh:  # a new connection
                listed = fresh.get("/api/v1/runs", headers=token)
                assert listed.status_code == 200
                assert [r["id"] for r in listed.json()["runs"]] == [team.alpha_run]
                assert fresh.get("/", follow_redirects=False).status_code == 303


def accounts_state(metadata: str) -> list[object]:
    engine = create_engine(metadata)
    try:
        with engine.connect() as conn:
            return [
                sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
                for table in (users, tokens, sessions, projects, members)
            ]
    finally:
        engine.dispose()


def test_the_admin_commands_refuse_bad_input_in_one_line_and_change_nothing(
    team: Team,
) -> None:
    store = ("--metadata", team.metadata)
    unreachable = f"postgresql+psycopg://samerun:hunter2@127.0.0.1:{free_port()}/samerun"
    before = accounts_state(team.metadata)
    for args, message in [
        (("token", "create", "nobody", "--name", "x", *store), "no user 'nobody'"),
        (("token", "revoke", "nobody", "--name", "test", *store), "no user 'nobody'"),
        (("member", "add", "alpha", "nobody", "reader", *store), "no user 'nobody'"),
        (("member", "add", "alpha", "reader", "owner", *store), "'owner' is not a role"),
        (("member", "add", "alpha", "reader", "Admin", *store), "'Admin' is not a role"),
        (("member", "add", "alpha", "reader", "", *store), "'' is not a role"),
        (("admin", "create", "alice", "--metadata", unreachable), "connection failed"),
        (("token", "create", "reader", "--name", "y", "--metadata", unreachable), "connection"),
    ]:
        done = samerun("server", *args)
        assert done.returncode != 0, args
        assert done.stdout == "", args
        lines = done.stderr.splitlines()
        assert len(lines) == 1, (args, done.stderr)
        assert message in lines[0], (args, done.stderr)
        assert "hunter2" not in done.stderr
    assert accounts_state(team.metadata) == before
