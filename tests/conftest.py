"""Shared fixtures: a real git project in tmp_path, and the ``samerun`` CLI run in this process
(``cli``) or, where the process boundary is what a test is about, as a subprocess."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import NamedTuple, Protocol

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


#: The test suite's own settings (CI sets them), kept when samerun's variables are cleared.
KEPT_SETTINGS = ("SAMERUN_REQUIRE_POSTGRES", "SAMERUN_REQUIRE_BROWSER", "SAMERUN_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's samerun variables, git identity or home."""
    for name in list(os.environ):
        if name.startswith("SAMERUN_") and name not in KEPT_SETTINGS:
            monkeypatch.delenv(name)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))


def age(*paths: Path, seconds: int = 100) -> None:
    """Move the mtime of each file (every file under a directory) into the past.

    Files written just now are never trusted from the stat cache, and are hashed again once
    linked into the store; tests of the other paths age their files first.
    """
    for path in paths:
        for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
            st = file.stat()
            os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))


def fresh(*paths: Path) -> None:
    """Make files look written just now, however slowly the test runs: mtime a second ahead."""
    for path in paths:
        ahead = time.time_ns() + 1_000_000_123
        os.utime(path, ns=(ahead, ahead))


@pytest.fixture
def links_protected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read-only files protect the store here, as for a normal user even when tests run as root.

    Hard links into the store are made only then; tests of linking use this fixture.
    """
    from samerun.store.objects import LocalObjectStore

    monkeypatch.setattr(LocalObjectStore, "read_only_protects", lambda _self: True)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit (train.py, config.yaml), as the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text(TRAIN_SCRIPT)
    (root / "config.yaml").write_text("model:\n  lr: 0.1\n  depth: 3\nepochs: 2\n")
    (root / ".gitignore").write_text("*.pkl\nout/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(root)
    return root


#: A training script that uses the API: attaches to the launcher's run when there is one.
TRAIN_SCRIPT = """\
import os, random, sys, time
import samerun

run = samerun.start_run()
random.seed(run.seed)
params = samerun.get_params()
steps = int(os.environ.get("STEPS", "5"))
for step in range(steps):
    samerun.log_metric("loss", 1.0 / (step + 1) + random.random() * 1e-3, step=step)
    if os.environ.get("SLOW"):
        time.sleep(float(os.environ["SLOW"]))
if os.environ.get("WRITE_MODEL", "1") == "1":
    with open("model.pkl", "wb") as handle:
        handle.write(repr(sorted(params.items())).encode())
samerun.log_metric("accuracy", 0.9)
print("trained", params)
"""


def forget_seeding(patch: pytest.MonkeyPatch) -> None:
    """Through ``patch``, the seeding state of a fresh process: nothing seeded, nothing deferred."""
    from samerun import seeding, tracking
    from samerun.capture import randomness

    patch.setattr(seeding, "_last", None)
    patch.setattr(randomness, "_in_use", None)
    patch.setattr(tracking, "_deferred", [])


@pytest.fixture
def venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python`` on PATH is the test interpreter, as in an activated virtual environment."""
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


@dataclass(frozen=True)
class CliResult:
    """What ``samerun ARGS`` did: its exit code and what it (and the commands it ran) printed."""

    exit_code: int
    stdout: str
    stderr: str


class Cli(Protocol):
    def __call__(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> CliResult: ...


@pytest.fixture
def cli(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, venv_on_path: None
) -> Cli:
    """Run ``samerun ARGS`` in this process through :func:`samerun.cli.main`.

    Each call starts as a fresh ``samerun`` process would and leaves this process as it was:
    ``cwd`` and ``env`` hold for the call only; the Rich consoles, which ``samerun.cli.render``
    caches with ``functools.cache`` and which read the terminal's settings when built, are built
    anew; the ``samerun`` logger's handler, which the CLI installs, is removed again; seeding
    starts from nothing. Output is captured at the file descriptors, so what a recorded command
    prints (it inherits them) is in ``stdout`` and ``stderr`` too.
    """
    from samerun.cli import main, render

    logger = logging.getLogger("samerun")

    def run(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> CliResult:
        printed = capfd.readouterr()  # the test's own output, kept apart from the command's
        with monkeypatch.context() as patch:
            if cwd is not None:
                patch.chdir(cwd)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            forget_seeding(patch)
            patch.setattr(logger, "handlers", list(logger.handlers))
            patch.setattr(logger, "propagate", logger.propagate)
            render.console.cache_clear()
            render.error_console.cache_clear()
            try:
                main(list(args))
            except SystemExit as exited:
                code = exited.code
            else:
                raise AssertionError("samerun.cli.main returned instead of exiting")
        stdout, stderr = capfd.readouterr()
        sys.stdout.write(printed.out)  # back where pytest reports it
        sys.stderr.write(printed.err)
        exit_code = code if isinstance(code, int) else 0 if code is None else 1
        return CliResult(exit_code, stdout, stderr)

    return run


CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def samerun_cli(venv_on_path: None) -> CliRunner:
    """Run the real ``samerun`` command in a subprocess; returns the completed process.

    Only for tests about the process itself (its exit status as a shell sees it, signals, what
    it imports at start-up); every other test calls the CLI in this process with ``cli``.
    """

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "samerun.cli", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def s3_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real S3 protocol server (moto) on 127.0.0.1, with an empty bucket."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import boto3
    import s3fs

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3")
    urllib.request.urlopen(  # moto keeps buckets per process: start from an empty server
        urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    ).close()
    client.create_bucket(Bucket="datasets")
    try:
        yield "s3://datasets/team"
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


class Received(NamedTuple):
    headers: dict[str, str]
    body: bytes


class Receiver(NamedTuple):
    """A webhook receiver on a loopback port: what it was sent, and the statuses it answers
    with in turn (204 once they run out)."""

    url: str
    received: list[Received]
    answers: list[int]

    def wait_for(self, count: int) -> list[Received]:
        deadline = time.monotonic() + 20
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} arrived"
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got: list[Received] = []
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(answers.pop(0) if answers else 204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_port}/hook", got, answers)
    server.shutdown()
    server.server_close()
