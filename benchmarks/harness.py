"""Shared plumbing for the benchmarks: interpreters, timed child processes, fixture projects."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORKLOADS = BENCH_DIR / "workloads"
SAMERUN_PY = REPO / ".venv" / "bin" / "python"
SAMERUN_CLI = REPO / ".venv" / "bin" / "samerun"
PEERS_PY = BENCH_DIR / ".venv-peers" / "bin" / "python"
# Another checkout's code, run with this .venv: SAMERUN_BENCH_SRC=/path/to/worktree/src goes first
# on every workload's PYTHONPATH (e.g. a `git worktree` of an older commit, to compare before and
# after a change with the same benchmark code). Unset: the code the .venv has installed.
SAMERUN_SRC = os.environ.get("SAMERUN_BENCH_SRC") or None

_GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid")


class BenchError(RuntimeError):
    """A workload failed or produced a wrong result; the message says which and why."""


@dataclass(frozen=True)
class Result:
    """One row of the results table.

    ``ratio`` is always "how many times better samerun is" (peer time / samerun time, or
    samerun throughput / peer throughput); ``target`` is the ratio to reach, or, for rows
    judged in absolute terms, ``limit_s`` is the wall time samerun must stay under.
    """

    name: str
    unit: str
    samerun: float
    peer: float | None
    ratio: float | None
    target: float | None = None
    limit_s: float | None = None
    valid: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if not self.valid:
            return False
        if self.limit_s is not None:
            return self.samerun < self.limit_s
        if self.target is not None:
            return self.ratio is not None and self.ratio >= self.target
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "samerun": self.samerun,
            "mlflow": self.peer,
            "ratio": self.ratio,
            "target_ratio": self.target,
            "limit_s": self.limit_s,
            "valid": self.valid,
            "met": self.met,
            "details": self.details,
        }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every workload: no samerun/MLflow settings leak in from outside."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SAMERUN_", "MLFLOW_", "PYTHON", "VIRTUAL_ENV"))
    }
    # MLflow 3 sends usage telemetry; there is no network here, so switch it off rather than let
    # it time out (this can only make MLflow faster).
    env.update({"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"})
    if SAMERUN_SRC:
        env["PYTHONPATH"] = SAMERUN_SRC
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Timed:
    wall_s: float
    stdout: str


def run_timed(argv: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None) -> Timed:
    """Run ``argv`` to completion in ``cwd``; its wall time as seen from here, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=dict(env) if env is not None else child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise BenchError(
            f"{' '.join(map(str, argv))} exited {done.returncode}:\n" + "\n".join(tail)
        )
    return Timed(wall, done.stdout)


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object a workload prints as its last line of stdout."""
    lines = stdout.strip().splitlines()
    if not lines:
        raise BenchError("the workload printed nothing")
    value = json.loads(lines[-1])
    if not isinstance(value, dict):
        raise BenchError(f"the workload printed {lines[-1]!r}, not a JSON object")
    return value


def repeat(times: int, measure: Callable[[int], float]) -> list[float]:
    """``measure(i)`` for i in range(times)."""
    return [measure(i) for i in range(times)]


@contextmanager
def scratch(label: str) -> Iterator[Path]:
    """A fresh temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"samerun-bench-{label}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *_GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


def committed_project(directory: Path, files: Mapping[str, str]) -> Path:
    """A git repository at ``directory`` holding ``files`` (name to text) in one commit."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    git(directory, "init", "--quiet", "--initial-branch=main")
    git(directory, "add", *files)
    git(directory, "commit", "--quiet", "-m", "a project")
    return directory


def make_project(directory: Path, workload: str) -> Path:
    """A git repository with one commit holding ``workloads/<workload>`` as ``train.py``.

    Returns the path of the train script.
    """
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "train.py"
    shutil.copyfile(WORKLOADS / workload, script)
    (directory / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    git(directory, "init", "--quiet", "--initial-branch=main")
    git(directory, "add", "train.py", ".gitignore")
    git(directory, "commit", "--quiet", "-m", "a tiny training script")
    return script


def mlflow_env(project: Path) -> dict[str, str]:
    """MLflow's SQLite tracking store in the project directory, as a user would configure it."""
    return child_env({"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"})


def run_workload(
    python: Path, script: Path, cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> tuple[float, dict[str, Any]]:
    """Run a workload script in a fresh interpreter: its wall time and its JSON report."""
    timed = run_timed([python, script, *args], cwd, env)
    return timed.wall_s, last_json(timed.stdout)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
