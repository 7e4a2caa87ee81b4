"""Fixtures for the web UI: a project whose store holds varied runs, and a real ``samerun ui``
server (uvicorn, in its own process, on 127.0.0.1) over it.

``ui_store`` is built once per test session: six runs with params, metrics (one of 100,000
steps), tags, a dirty run whose recorded patch contains ``<script>``, a replay with a verdict,
and artifacts of every previewed kind (text, JSON, CSV, PNG, HTML, a pickle, a directory).
Tests read it; a test that writes builds its own.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, git

#: A 1x1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
#: What a hostile name, param, tag, metric key or patch line carries.
XSS = '<script>alert("xss")</script>'

TRAIN = (
    f"PNG_HEX = {PNG.hex()!r}\n"
    + """\
import json, os, pathlib, random
import samerun

run = samerun.start_run()
params = samerun.get_params()
random.seed(run.seed)
lr = float(params.get("lr", 0.1))
steps = int(os.environ.get("STEPS", "50"))
for step in range(steps):
    samerun.log_metric("loss", 1.0 / (step + 1) + lr * random.random() * 1e-3, step=step)
samerun.log_metric("accuracy", 0.8 + lr)
samerun.log_metric(os.environ.get("ODD_METRIC", "f1"), 0.5)
out = pathlib.Path("out")
(out / "plots").mkdir(parents=True, exist_ok=True)
(out / "notes.txt").write_text("line one\\nline two\\n")
(out / "metrics.json").write_text(json.dumps({"accuracy": 0.8 + lr}))
(out / "table.csv").write_text("a,b\\n1,2\\n3,4\\n")
(out / "page.html").write_text("<h1>report</h1><script>parent.alert(1)</script>")
(out / "plots" / "dot.png").write_bytes(bytes.fromhex(PNG_HEX))
(out / "model.pkl").write_bytes(b"\\x80\\x04not unpickled")
"""
)


@dataclass(frozen=True)
class UiStore:
    """The recorded project and what a test needs to know about its runs."""

    root: Path
    runs: dict[str, str]  # run name -> id
    long_run: str  # the run with a 100,000-step metric "loss"
    dirty_run: str  # the run whose patch holds XSS


PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _samerun(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "samerun.cli", *args],
        cwd=root,
        # `python` on PATH is this interpreter, as in an activated virtual environment: runs
        # record `python train.py` as a user types it, not this machine's interpreter path.
        env={**os.environ, **GIT_ENV, "PATH": PATH, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _record(root: Path, name: str, *params: str, env: dict[str, str] | None = None) -> str:
    args = ["record", "--json", "--name", name, "--seed", "7", "--output", "out"]
    for param in params:
        args += ["-p", param]
    printed = _samerun(root, *args, "--", "python", "train.py", env=env)
    run_id: str = json.loads(printed)["id"]
    return run_id


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UiStore:
    root = tmp_path_factory.mktemp("ui") / "project"
    root.mkdir()
    saved = {k: os.environ.get(k) for k in GIT_ENV}
    os.environ.update(GIT_ENV)
    try:
        git(root, "init", "-q", "-b", "main")
        (root / "train.py").write_text(TRAIN)
        (root / ".gitignore").write_text("out/\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "train")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    runs = {}
    for index, lr in enumerate((0.1, 0.2, 0.05, 0.1)):
        runs[f"run-{index}"] = _record(root, f"run-{index}", f"lr={lr}", f"depth={index}")
    long_run = _record(root, "long", "lr=0.1", env={"STEPS": "100000"})
    runs["long"] = long_run
    (root / "train.py").write_text(TRAIN + f"# {XSS}\n")
    dirty = _record(root, XSS, f"note={XSS}", env={"ODD_METRIC": XSS})
    runs["dirty"] = dirty
    _samerun(root, "tag", dirty, f"owner={XSS}")
    _samerun(root, "verify", runs["run-0"])
    user = {"SAMERUN_USER": "alice"}
    for index in (0, 1):
        _samerun(root, "model", "register", "churn", "--run", runs[f"run-{index}"], env=user)
    moves = (("1", "beats the baseline on holdout"), ("2", "retrained on November data"))
    for version, reason in moves:
        args = ("model", "alias", "churn", "production", version, "--reason", reason)
        _samerun(root, *args, env=user)
    return UiStore(root, runs, long_run, dirty)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class UiServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    port: int
    store: UiStore


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``samerun ui`` over ``root`` on a free port, once it answers. Its output goes to a file
    next to the project (a pipe nobody reads would stall a server that logs a lot)."""
    port = free_port()
    log = (root.parent / f"ui-{port}.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "samerun.cli", "ui", "--port", str(port), "--store", str(root)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the server holds its own descriptor
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/keys", timeout=2):
                return server, port
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                server.wait()
                printed = (root.parent / f"ui-{port}.log").read_text(errors="replace")
                raise AssertionError(f"samerun ui did not start: {printed}") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def ui_server(ui_store: UiStore) -> Iterator[UiServer]:
    server, port = start_server(ui_store.root)
    try:
        yield UiServer(f"http://127.0.0.1:{port}", port, ui_store)
    finally:
        server.terminate()
        server.wait(timeout=10)
