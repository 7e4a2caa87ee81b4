"""Runs recorded by samerun 0.1.0 still load, list, show and diff, with unchanged fingerprints.

tests/fixtures/store_0_1/make.sh says how the store was recorded; it is never regenerated.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import samerun
from samerun.manifest import Manifest
from samerun.store.project import Project
from tests.conftest import Cli

FIXTURE = Path(__file__).parent / "fixtures" / "store_0_1"


def _recorded() -> list[tuple[str, str, str, str | None]]:
    """(id, manifest JSON, input fingerprint, output fingerprint) of every run, as stored."""
    with sqlite3.connect(f"{(FIXTURE / 'store' / 'meta.db').as_uri()}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, manifest, input_fp, output_fp FROM runs").fetchall()


@pytest.fixture
def old_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "project", root)
    shutil.copytree(FIXTURE / "store", root / ".samerun")
    Project(root).init()  # what a fresh store has besides its data: the .gitignore
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAMERUN_ROOT", str(root))
    return root


@pytest.mark.parametrize(("run_id", "text", "input_fp", "output_fp"), _recorded())
def test_each_manifest_round_trips_to_its_bytes_and_fingerprints(
    run_id: str, text: str, input_fp: str, output_fp: str | None
) -> None:
    manifest = Manifest.from_json(text)
    assert manifest.canonical().decode() == text
    assert manifest.input_fingerprint == input_fp
    assert manifest.output_fingerprint == output_fp
    assert json.loads(text)["fingerprints"] == {"inputs": input_fp, "outputs": output_fp}


def test_runs_lists_every_old_run(old_project: Path, cli: Cli) -> None:
    listed = json.loads(cli("runs", "--all", "--json").stdout)
    assert {r["name"] for r in listed} >= {"baseline", "higher-lr", "broken"}
    by_name = {r["name"]: r for r in listed}
    assert by_name["baseline"]["verification"]["verdict"] == "identical"
    assert by_name["broken"]["status"] == "failed"


def test_old_runs_are_filtered_and_sorted_by_their_params_and_metrics(
    old_project: Path, cli: Cli
) -> None:
    done = cli("runs", "--filter", "params.lr > 0.2 and metrics.accuracy > 0.5", "--json")
    assert done.exit_code == 0, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)] == ["higher-lr"]
    ordered = cli("runs", "--filter", "metrics.loss > 0", "--sort", "metrics.loss", "--json")
    assert json.loads(ordered.stdout)[0]["name"] == "higher-lr"
    history = samerun.get_run(_id_of("baseline"), project=old_project).metric_history("loss")
    assert history.points == 20


def test_show_and_diff_read_old_runs(old_project: Path, cli: Cli) -> None:
    ids = {name: run_id for run_id, name in _names()}
    shown = cli("show", ids["baseline"])
    assert shown.exit_code == 0, shown.stderr
    assert "config.yaml" in shown.stdout
    assert "data/train.csv" in shown.stdout
    assert "identical" in shown.stdout
    diff = json.loads(cli("diff", ids["baseline"], ids["higher-lr"], "--json").stdout)
    assert diff["causes"] == ["code", "params"]  # the first run left metrics.json untracked
    assert diff["a"] == ids["baseline"]


def _id_of(name: str) -> str:
    return next(run_id for run_id, run_name in _names() if run_name == name)


def _names() -> list[tuple[str, str]]:
    with sqlite3.connect(f"{(FIXTURE / 'store' / 'meta.db').as_uri()}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, name FROM runs").fetchall()
