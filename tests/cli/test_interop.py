"""``samerun import mlflow`` and ``samerun export mlflow`` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("mlflow")  # the dev extra installs it; a bare install has no MLflow

from tests.cli.test_app import assert_one_clear_line
from tests.conftest import Cli
from tests.integrations.test_mlflow import _mlflow_store


def test_imported_runs_are_listed_shown_and_not_replayable_with_the_reason(
    project: Path, cli: Cli, tmp_path: Path
) -> None:
    uri, _, (first, second) = _mlflow_store(tmp_path / "mlflow")
    done = cli("import", "mlflow", "--tracking-uri", uri, "--experiment", "churn")
    assert done.exit_code == 0, done.stderr
    assert "2 runs imported" in done.stdout
    assert "1 still running" in done.stdout
    again = cli("import", "mlflow", "--tracking-uri", uri, "--json")
    assert sorted(r["outcome"] for r in json.loads(again.stdout)) == [
        "running",
        "unchanged",
        "unchanged",
    ]
    listed = cli("runs", "--json")
    assert {r["id"] for r in json.loads(listed.stdout)} >= {first}
    shown = cli("show", first[:8])
    assert "Imported" in shown.stdout
    assert "environment" in shown.stdout
    compared = cli("diff", second[:8], first[:8])
    assert "input layers that differ: code" in " ".join(compared.stdout.split())
    verified = cli("verify", first[:8], "--json")
    assert verified.exit_code == 2
    report = json.loads(verified.stdout)
    assert report["verdict"] == "not-replayable"
    (reason,) = report["missing"]
    assert "imported from MLflow" in reason
    assert "environment" in reason
    assert "seeds" in reason


def test_a_tracking_uri_that_is_not_mlflow_gets_one_line_and_changes_nothing(
    project: Path, cli: Cli, tmp_path: Path
) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    refused = cli("import", "mlflow", "--tracking-uri", f"sqlite:///{other}")
    assert_one_clear_line(refused, "not an MLflow tracking store", "app.db")
    assert other.read_bytes() == before
    assert not (project / ".samerun").exists()  # not even a store was made


def test_export_then_export_again(project: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("record", "--seed", "3", "--", "python", "train.py").exit_code == 0
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = cli("export", "mlflow", "last", "--tracking-uri", uri, "--json")
    assert first.exit_code == 0, first.stderr
    (exported,) = json.loads(first.stdout)
    assert exported["created"]
    assert exported["experiment"] == "Default"
    again = cli("export", "mlflow", "last", "--tracking-uri", uri)
    assert "already in MLflow" in again.stdout
    assert exported["mlflow_run"] in again.stdout
    manifest = cli("export", "last")  # the manifest, as `samerun export RUN` always printed it
    assert json.loads(manifest.stdout)["id"] == exported["run_id"]
    assert_one_clear_line(cli("export", "mlflow", "nope", "--tracking-uri", uri), "nope")
