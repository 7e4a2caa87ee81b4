"""``verify --env``: replay inside a virtual environment, the recorded one rebuilt or the user's.

The run depends on a real package from the index: ``packaging.version.parse("nightly")`` gives
a ``LegacyVersion`` under packaging 21.3 and raises ``InvalidVersion`` from 22.0 on. Recorded
with 21.3, replayed where 22.0 is installed, the run diverges; replayed in the restored
environment, it comes back identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from samerun.verify.replay import _replay_environment
from tests.conftest import Cli, git
from tests.test_manifest import make_manifest

RUN = """\
from packaging.version import parse
try:
    observed = type(parse("nightly")).__name__
except Exception as err:
    observed = type(err).__name__
with open("observed.txt", "w") as handle:
    handle.write(observed)
"""


def venv_with(root: Path, requirement: str) -> Path:
    """A virtual environment with ``requirement`` (and its dependencies) from the index."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install"]
    subprocess.run([*pip, "--quiet", "--no-input", requirement], check=True)
    return root


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Venv A with packaging 21.3, venv B with packaging 22.0."""
    root = tmp_path_factory.mktemp("venvs")
    return venv_with(root / "a", "packaging==21.3"), venv_with(root / "b", "packaging==22.0")


def on_path(venv: Path) -> dict[str, str]:
    """PATH with ``venv`` first, as when it is activated; samerun's own tools after it."""
    rest = [str(venv / "bin"), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    return {"PATH": os.pathsep.join(rest)}


def verify(cli: Cli, run: str, *args: str, env: dict[str, str]) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    done = cli("verify", run, "--json", *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.exit_code, json.loads(done.stdout), done.stderr


@pytest.fixture
def recorded_in_a(project: Path, cli: Cli, venvs: tuple[Path, Path]) -> str:
    """``python run.py`` recorded with venv A first on PATH."""
    (project / "run.py").write_text(RUN)
    (project / ".gitignore").write_text("observed.txt\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "run")
    done = cli(
        "record", "--json", "--output", "observed.txt", "--", "python", "run.py",
        env=on_path(venvs[0]),
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert (project / "observed.txt").read_text() == "LegacyVersion"
    return str(json.loads(done.stdout)["id"])


@pytest.mark.slow
def test_verify_env_restore_replays_with_the_recorded_packages(
    project: Path, cli: Cli, venvs: tuple[Path, Path], recorded_in_a: str
) -> None:
    run, b = recorded_in_a, on_path(venvs[1])
    code, result, _ = verify(cli, run, env=b)
    assert (code, result["verdict"]) == (1, "diverged")
    assert "package packaging 21.3 → 22.0" in result["environment_drift"]

    code, result, stderr = verify(cli, run, "--env", "restore", env=b)
    assert (code, result["verdict"]) == (0, "identical"), result
    assert result["environment_drift"] == []
    restored = project / ".samerun" / "envs" / run
    assert f"replayed inside the virtual environment {restored}" in result["notes"]
    assert "samerun: creating a virtual environment with Python" in stderr
    assert "samerun: installing 2 packages" in stderr  # packaging and pyparsing
    assert list(venvs[1].glob("lib/python*/site-packages/packaging-22.0.dist-info"))  # untouched

    code, result, stderr = verify(cli, run, "--env", "restore", env=b)
    assert (code, result["verdict"]) == (0, "identical")
    assert f"samerun: reusing the environment restored at {restored}\n" in stderr
    assert "creating a virtual environment" not in stderr


@pytest.mark.slow
def test_verify_env_path_replays_inside_the_users_environment(
    cli: Cli, venvs: tuple[Path, Path], recorded_in_a: str
) -> None:
    a, b = venvs
    code, result, _ = verify(cli, recorded_in_a, "--env", str(a), env=on_path(b))
    assert (code, result["verdict"]) == (0, "identical")
    assert result["environment_drift"] == []


def test_the_replay_environment_puts_the_environment_first_and_drops_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin")
    monkeypatch.setenv("VIRTUAL_ENV", "/elsewhere/venv")
    monkeypatch.setenv("PYTHONHOME", "/elsewhere")
    env, notes = _replay_environment(make_manifest(), tmp_path)
    assert env["PATH"] == f"{tmp_path / 'bin'}{os.pathsep}/usr/bin"
    assert "VIRTUAL_ENV" not in env
    assert "PYTHONHOME" not in env
    assert notes == [f"replayed inside the virtual environment {tmp_path}"]
    plain, _ = _replay_environment(make_manifest(), None)
    assert (plain["PATH"], plain["VIRTUAL_ENV"]) == ("/usr/bin", "/elsewhere/venv")
