"""``samerun ui``: it prints the URL it serves (and serves it), and says in one line why not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import uvicorn

import samerun
from tests.conftest import Cli


@pytest.fixture
def recorded(project: Path) -> Path:
    with samerun.start_run(name="first"):
        samerun.log_metric("accuracy", 0.9)
    return project


@pytest.fixture
def port() -> int:
    """A free port, held by nobody once the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        found: int = probe.getsockname()[1]
    return found


def test_help_ends_with_an_example(cli: Cli) -> None:
    done = cli("ui", "--help")
    assert done.exit_code == 0
    text = done.stdout.split("\nOptions:", 1)[0]  # the help text, before the option list
    lines = [line.strip() for line in text.strip().splitlines()]
    assert lines[-3:] == [
        "Example:",
        "samerun ui",
        "samerun ui --port 8080 --store path/to/project",
    ]
    assert "[default: 127.0.0.1]" in done.stdout


def test_without_a_store_it_says_so_in_one_line(cli: Cli, tmp_path: Path) -> None:
    done = cli("ui", "--store", str(tmp_path))
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == f"error: no samerun store in {tmp_path}; record a run there first\n"


def test_an_unreadable_store_is_one_line_not_a_traceback(cli: Cli, recorded: Path) -> None:
    (recorded / ".samerun" / "meta.db").write_bytes(b"not a database" * 100)
    done = cli("ui", "--store", str(recorded))
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_one_line_and_no_url(cli: Cli, recorded: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = cli("ui", "--port", str(port), "--store", str(recorded))
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: cannot listen on 127.0.0.1 port {port}: Address already in use; "
        "choose another with --port (or --host)\n"
    )


def test_it_listens_where_told_and_prints_that_url(
    cli: Cli, recorded: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[socket.socket] = []

    def serve(_: uvicorn.Server, sockets: list[socket.socket]) -> None:
        served.extend(sockets)
        for sock in sockets:
            sock.close()

    monkeypatch.setattr(uvicorn.Server, "run", serve)
    done = cli("ui", "--host", "::1", "--port", str(port), "--store", str(recorded))
    assert done.exit_code == 0, done.stderr
    assert done.stdout == f"samerun ui: serving {recorded} on http://[::1]:{port}\n"
    assert [sock.family for sock in served] == [socket.AF_INET6]


def test_the_printed_url_serves_the_runs(recorded: Path, port: int) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "samerun.cli", "ui", "--port", str(port)],
        cwd=recorded,
        env={k: v for k, v in os.environ.items() if k != "SAMERUN_ROOT"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the port is bound: the URL answers
        assert line == f"samerun ui: serving {recorded} on http://127.0.0.1:{port}\n"
        url = line.rsplit(" ", 1)[1].strip()
        with urllib.request.urlopen(url + "/", timeout=30) as page:
            assert page.status == 200
            assert b"first" in page.read()
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: how it is stopped, not an error
        _, err = server.communicate(timeout=30)
    assert (server.returncode, err) == (0, "")
