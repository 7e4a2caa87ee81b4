"""Nothing is lost and nothing secret is kept: kills mid-run, concurrent writers, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from samerun.store.project import Project, open_store
from tests.conftest import Cli, git

LAUNCH_TIMEOUT_S = 60.0


pytestmark = pytest.mark.usefixtures("venv_on_path")  # the launchers below run `python`


class Launched(list[subprocess.Popen[str]]):
    """Launchers a test started, and the commands they ran, to clean up after the test."""

    def __init__(self) -> None:
        super().__init__()
        self.children: list[psutil.Process] = []


@pytest.fixture
def launched() -> Iterator[Launched]:
    """Launchers started in the background; whatever of them is left running is killed."""
    processes = Launched()
    yield processes
    for process in processes:
        if process.poll() is None:
            processes.children.extend(_children(process.pid))
            process.kill()
            process.wait()
    for child in processes.children:
        _kill(child)
    for process in processes:
        process.communicate()


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    """SIGKILL ``process`` and wait until it is dead (a zombie counts: it runs no more code)."""
    deadline = time.monotonic() + 10
    try:
        process.send_signal(signal.SIGKILL)
        while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
    except psutil.Error:
        pass  # already gone


def launch(
    launched: Launched, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    # Processes: these tests kill a launcher or its child, or run several launchers at once.
    process = subprocess.Popen(
        [sys.executable, "-m", "samerun.cli", "record", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    launched.append(process)
    return process


def journaled_metrics(root: Path) -> dict[str, list[tuple[int, float]]]:
    """The metric records in the journal segments of every unfinished run, by key."""
    found: dict[str, list[tuple[int, float]]] = {}
    for segment in sorted(root.glob(".samerun/runs/*/journal-*.jsonl")):
        for line in segment.read_bytes().splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            record = json.loads(line)
            if record[0] == "m":
                found.setdefault(record[1], []).append((record[2], record[3]))
    return found


def wait_for_journaled_losses(
    root: Path, launcher: subprocess.Popen[str], count: int
) -> dict[str, list[tuple[int, float]]]:
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    while time.monotonic() < deadline:
        assert launcher.poll() is None, launcher.communicate()
        found = journaled_metrics(root)
        if len(found.get("loss", [])) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError("the run never journaled its metrics")


def training_child(launched: Launched, launcher: subprocess.Popen[str]) -> psutil.Process:
    (child,) = [p for p in _children(launcher.pid) if "train.py" in " ".join(p.cmdline())]
    launched.children.append(child)  # killed at the end should the test fail before that
    return child


def stored_series(root: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    store = open_store(Project(root))
    try:
        return [(step, value) for step, value, _ in store.meta.metric_series(run_id, key)]
    finally:
        store.close()


def show(cli: Cli, ref: str = "last", **env: str) -> Any:
    done = cli("show", ref, "--json", env=env)
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


SLOW_RUN = {"STEPS": "2000", "SLOW": "0.05", "WRITE_MODEL": "0"}


def test_sigkill_of_the_child_marks_the_run_killed_and_keeps_its_metrics(
    project: Path, cli: Cli, launched: Launched
) -> None:
    launcher = launch(launched, "--seed", "5", "--", "python", "train.py", env=SLOW_RUN)
    wait_for_journaled_losses(project, launcher, 3)
    child = training_child(launched, launcher)
    before_kill = journaled_metrics(project)["loss"]
    child.send_signal(signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=LAUNCH_TIMEOUT_S)

    assert launcher.returncode == 128 + signal.SIGKILL
    assert "Traceback" not in stderr
    manifest = show(cli)
    assert manifest["status"] == "killed"
    assert manifest["signal"] == signal.SIGKILL
    assert manifest["ended_at"] is not None
    stored = stored_series(project, manifest["id"], "loss")
    assert set(before_kill) <= set(stored), "a metric journaled before the kill was lost"
    assert manifest["outputs"]["metrics"]["loss"]["count"] == len(stored)
    assert not list(project.glob(".samerun/runs/*")), "the finished run left its journal behind"


def test_sigkill_of_the_launcher_is_reaped_as_failed_with_its_metrics(
    project: Path, cli: Cli, launched: Launched
) -> None:
    launcher = launch(launched, "--seed", "6", "--", "python", "train.py", env=SLOW_RUN)
    wait_for_journaled_losses(project, launcher, 3)
    child = training_child(launched, launcher)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(timeout=LAUNCH_TIMEOUT_S)  # reaped: the launcher's pid is really gone
    _kill(child)  # the orphan, whose journal is now final
    launcher.communicate(timeout=LAUNCH_TIMEOUT_S)  # the child held the pipes until now
    journaled = journaled_metrics(project)
    assert len(journaled["loss"]) >= 3

    grace = {"SAMERUN_HEARTBEAT_GRACE": "0.5"}
    (row,) = json.loads(cli("runs", "--json", env=grace).stdout)
    if row["status"] == "running":  # the last heartbeat was less than the grace ago
        time.sleep(0.6)
        (row,) = json.loads(cli("runs", "--json", env=grace).stdout)
    assert row["status"] == "failed"
    assert "died" in row["error"]

    manifest = show(cli, row["id"])
    assert manifest["status"] == "failed"
    assert stored_series(project, row["id"], "loss") == journaled["loss"]
    assert manifest["outputs"]["metrics"]["loss"]["count"] == len(journaled["loss"])
    assert row["metrics"]["loss"] == journaled["loss"][-1][1]


def test_eight_processes_record_into_one_fresh_store_at_once(
    project: Path, cli: Cli, launched: Launched
) -> None:
    assert not (project / ".samerun").exists()
    steps = 50
    env = {"STEPS": str(steps), "WRITE_MODEL": "0"}
    processes = [
        launch(launched, "--seed", str(i), "-n", f"worker-{i}", "--", "python", "train.py", env=env)
        for i in range(8)
    ]
    outcomes = [p.communicate(timeout=LAUNCH_TIMEOUT_S * 2) for p in processes]
    for process, (_, stderr) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, stderr
        assert "database is locked" not in stderr
        assert "Traceback" not in stderr

    done = cli("runs", "--all", "--json")
    assert done.exit_code == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 8
    assert {r["status"] for r in rows} == {"finished"}
    assert {r["seed"] for r in rows} == set(range(8))
    store = open_store(Project(project))
    try:
        for row in rows:
            assert store.meta.metric_count(row["id"]) == steps + 1  # losses + accuracy
            losses = store.meta.metric_series(row["id"], "loss")
            assert [step for step, _, _ in losses] == list(range(steps))
    finally:
        store.close()


SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET",
    "HF_TOKEN": "hf_SECRETHFTOKEN987",
    "TORCH_HUB_TOKEN": "thub_SECRETTORCHTOKEN55",  # allow-listed by TORCH_*, but secret-looking
}
REMOTE_TOKEN = "ghp_SECRETTOKEN123"


def test_no_secret_reaches_the_store(project: Path, cli: Cli) -> None:
    git(project, "remote", "add", "origin", f"https://user:{REMOTE_TOKEN}@github.com/x/y.git")
    env = {**SECRETS, "CUDA_VISIBLE_DEVICES": "3,1"}
    done = cli(
        "record",
        "--seed",
        "9",
        "--env",
        "HF_TOKEN",
        "--output",
        "model.pkl",
        "--",
        "python",
        "train.py",
        env=env,
    )
    assert done.exit_code == 0, done.stderr
    manifest = show(cli)
    assert manifest["status"] == "finished"
    env_vars = manifest["inputs"]["env_vars"]
    assert env_vars["CUDA_VISIBLE_DEVICES"] == "3,1"
    assert env_vars["HF_TOKEN"] == "<redacted>"
    assert env_vars["TORCH_HUB_TOKEN"] == "<redacted>"
    assert "AWS_SECRET_ACCESS_KEY" not in env_vars
    assert manifest["inputs"]["code"]["remote"] == "https://github.com/x/y.git"

    secrets = [*SECRETS.values(), REMOTE_TOKEN]
    everything = b""
    files = [path for path in (project / ".samerun").rglob("*") if path.is_file()]
    assert any(path.name.startswith("meta.db") for path in files)
    for path in files:
        data = path.read_bytes()
        everything += data
        for secret in secrets:
            assert secret.encode() not in data, f"{secret} reached {path}"
    assert b"<redacted>" in everything
    assert b"https://github.com/x/y.git" in everything
    assert b"3,1" in everything
    for secret in secrets:  # and no output of samerun itself shows them either
        assert secret not in done.stderr
