"""``samerun env show|check|diff`` as a user meets them (export and restore: tests/env/)."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_app import assert_one_clear_line
from tests.conftest import Cli

SCRIPT = "print('hello')"


@pytest.fixture
def bare_python(tmp_path: Path) -> Path:
    """The interpreter of a virtual environment with no packages at all."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


def record(cli: Cli, name: str, python_dir: Path | None = None) -> str:
    env = None if python_dir is None else {"PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}"}
    done = cli("record", "--name", name, "--json", "--", "python", "-c", SCRIPT, env=env)
    assert done.exit_code == 0, done.stderr
    run_id: str = json.loads(done.stdout)["id"]
    return run_id


def test_show_lists_every_package_with_its_origin(project: Path, cli: Cli) -> None:
    record(cli, "here")
    shown = cli("env", "show", "last")
    assert shown.exit_code == 0, shown.stderr
    assert "blake3" in shown.stdout
    assert "index" in shown.stdout
    assert "editable" in shown.stdout  # samerun itself, installed from this checkout
    as_json = json.loads(cli("env", "show", "last", "--json").stdout)
    assert as_json["origins"]["samerun"]["editable"] is True
    assert as_json["packages"]["click"]


def test_check_passes_here_and_fails_with_the_differences_elsewhere(
    project: Path, cli: Cli, bare_python: Path
) -> None:
    record(cli, "here")
    same = cli("env", "check", "last")
    assert same.exit_code == 0, same.stderr
    assert "matches" in same.stdout
    other = cli("env", "check", "last", "--python", str(bare_python), "--json")
    assert other.exit_code == 1
    report = json.loads(other.stdout)
    assert report["matches"] is False
    removed = {d["key"] for d in report["differences"] if d["kind"] == "removed"}
    assert "package blake3" in removed


def test_diff_names_the_packages_that_differ(project: Path, cli: Cli, bare_python: Path) -> None:
    first = record(cli, "full")
    second = record(cli, "bare", bare_python.parent)
    done = cli("env", "diff", first, second)
    assert done.exit_code == 0, done.stderr
    assert "package blake3" in done.stdout
    assert "removed" in done.stdout.splitlines()[-1]
    same = cli("env", "diff", first, first)
    assert "environments: identical" in same.stdout
    changes = json.loads(cli("env", "diff", first, second, "--json").stdout)["changes"]
    assert any(c["key"] == "package blake3" and c["kind"] == "removed" for c in changes)


def test_an_unknown_run_or_format_is_one_clear_line(project: Path, cli: Cli) -> None:
    record(cli, "here")
    assert_one_clear_line(cli("env", "show", "nope"), "nope")
    done = cli("env", "export", "last", "--format", "wheelhouse")
    assert done.exit_code == 2
    assert "wheelhouse" in done.stderr
    assert "Traceback" not in done.stderr


def test_restore_builds_an_environment_that_checks_clean_and_is_reused(
    project: Path, cli: Cli, bare_python: Path, tmp_path: Path
) -> None:
    record(cli, "bare", bare_python.parent)
    target = tmp_path / "restored"
    done = cli("env", "restore", "last", "--path", str(target))
    assert done.exit_code == 0, done.stderr
    assert f"source {target}/bin/activate" in done.stdout
    assert cli("env", "check", "last", "--python", str(target / "bin" / "python")).exit_code == 0
    again = cli("env", "restore", "last", "--path", str(target))
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("reused")
    as_json = json.loads(cli("env", "restore", "last", "--path", str(target), "--json").stdout)
    assert as_json["reused"] is True
    assert as_json["python"] == str(target / "bin" / "python")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    assert_one_clear_line(
        cli("env", "restore", "last", "--path", str(occupied)), str(occupied), "already exists"
    )
    assert list(occupied.iterdir()) == []


def test_export_writes_the_lock_and_names_what_it_left_out(project: Path, cli: Cli) -> None:
    record(cli, "here")
    done = cli("env", "export", "last", "-o", "requirements.lock")
    assert done.exit_code == 0, done.stderr
    lock = (project / "requirements.lock").read_text()
    assert "\nclick==" in lock
    # samerun itself is installed editable from a directory outside this project.
    assert "samerun" in done.stderr
    assert "cannot be fetched again" in done.stderr
    printed = cli("env", "export", "last", "--format", "dockerfile")
    assert printed.stdout.startswith("# syntax=docker/dockerfile:1")
    assert 'CMD ["python", "-c", "print(\'hello\')"]' in printed.stdout


def test_verify_env_restore_refuses_another_platform_unless_forced(
    project: Path, cli: Cli, bare_python: Path
) -> None:
    record(cli, "bare", bare_python.parent)
    with sqlite3.connect(project / ".samerun" / "meta.db") as db:
        db.execute(
            "UPDATE runs SET manifest = replace(manifest, :here, :there)",
            {"here": f'"machine":"{platform.machine()}"', "there": '"machine":"sparc64"'},
        )
    refused = cli("verify", "last", "--env", "restore")
    assert refused.exit_code == 1
    assert "sparc64" in refused.stderr
    assert not (project / ".samerun" / "envs").exists() or not any(
        (project / ".samerun" / "envs").iterdir()
    )
    forced = cli("verify", "last", "--env", "restore", "--force", "--json")
    assert "as forced" in forced.stderr
    report = json.loads(forced.stdout)
    assert report["verdict"] == "identical"
    assert "machine sparc64 → x86_64" in " ".join(report["environment_drift"]).replace(
        platform.machine(), "x86_64"
    )
