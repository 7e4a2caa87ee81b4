"""MLflow runs in and out, against real tracking stores written and read by MLflow's own client."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("mlflow")  # the dev extra installs it; a bare install has no MLflow

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

import samerun
from samerun._exceptions import InteropError
from samerun.data.workspace import DataContext, add
from samerun.integrations.mlflow import (
    RUN_ID_TAG,
    export_runs,
    find_experiments,
    import_runs,
    open_tracking,
)
from samerun.manifest import load_manifest
from samerun.store.project import Project, Store, open_store

COMMIT = "0123456789abcdef0123456789abcdef01234567"
START_MS = 1_700_000_000_000


def _mlflow_store(root: Path) -> tuple[str, MlflowClient, list[str]]:
    """A SQLite tracking store with two ended runs and a running one, logged by MLflow."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("churn", artifact_location=str(root / "artifacts"))
    files = root / "to-log"
    (files / "model").mkdir(parents=True)
    (files / "model" / "weights.bin").write_bytes(b"\x00\x01weights")
    (files / "model" / "MLmodel").write_text("flavor: none\n")
    (files / "report.txt").write_text("accuracy 0.9\n")
    ids = []
    for index, tags in enumerate(
        [{"mlflow.source.git.commit": COMMIT, "team": "risk"}, {"team": "growth"}]
    ):
        run = client.create_run(
            experiment, start_time=START_MS + index, tags=tags, run_name=f"r{index}"
        )
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param("lr", "0.05"), Param("optimizer", "adam")])
        for step in range(5):
            stamp = START_MS + 1000 * step
            client.log_batch(run_id, metrics=[Metric("loss", 1.0 / (step + 1), stamp, step)])
        client.log_artifact(run_id, str(files / "report.txt"))
        client.log_artifacts(run_id, str(files / "model"), artifact_path="model")
        client.set_terminated(
            run_id, status="FINISHED" if index == 0 else "FAILED", end_time=START_MS + 9000
        )
        ids.append(run_id)
    client.create_run(experiment, run_name="still-going")  # RUNNING: not imported
    return uri, client, ids


@pytest.fixture
def store(project: Path) -> Store:
    opened = open_store(Project(project), create=True)
    yield opened
    opened.close()


def _import(store: Store, uri: str) -> list:
    tracking = open_tracking(uri)
    return import_runs(store, tracking, find_experiments(tracking))


def test_import_keeps_params_metrics_tags_artifacts_and_commit_and_repeats_nothing(
    store: Store, tmp_path: Path
) -> None:
    uri, _, (first, second) = _mlflow_store(tmp_path / "mlflow")
    done = _import(store, uri)
    assert sorted(r.outcome for r in done) == ["created", "created", "running"]
    manifest = load_manifest(store, first)
    assert manifest.status == "finished"
    assert load_manifest(store, second).status == "failed"
    assert manifest.name == "r0"
    assert manifest.inputs.params == {"lr": 0.05, "optimizer": "adam"}
    assert manifest.inputs.code.commit == COMMIT
    assert manifest.started_at == START_MS / 1000
    # the whole history, with MLflow's steps and timestamps
    assert store.meta.metric_series(first, "loss") == [
        (step, 1.0 / (step + 1), (START_MS + 1000 * step) / 1000) for step in range(5)
    ]
    loss = manifest.outputs.metrics["loss"]
    assert (loss.count, loss.last, loss.step) == (5, 0.2, 4)
    artifacts = {a.path: a for a in manifest.outputs.artifacts}
    assert set(artifacts) == {"model", "report.txt"}
    assert artifacts["model"].kind == "dir"
    assert artifacts["model"].files == 2
    assert store.objects.get_bytes(artifacts["report.txt"].oid) == b"accuracy 0.9\n"
    assert store.meta.tags_of([first])[first]["team"] == "risk"
    # what MLflow never recorded is marked, and the code too when it had no commit
    assert manifest.imported is not None
    assert manifest.imported.unknown == ("command", "environment", "randomness", "data")
    second_imported = load_manifest(store, second).imported
    assert second_imported is not None
    assert "code" in second_imported.unknown
    # the run is listed like any other
    assert [r.id for r in store.meta.list_runs()] == [second, first]
    assert store.meta.list_runs()[0].seed is None  # the seed is unknown, not 0

    again = _import(store, uri)
    assert sorted(r.outcome for r in again) == ["running", "unchanged", "unchanged"]
    assert store.meta.count_runs() == 2
    assert store.meta.metric_count(first) == 5


def test_a_store_that_is_not_mlflows_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = other.read_bytes()
    with pytest.raises(InteropError, match=r"not an MLflow tracking store.*experiments"):
        open_tracking(f"sqlite:///{other}")
    assert other.read_bytes() == before  # MLflow never got to create its tables in it
    (tmp_path / "text.db").write_text("not a database at all\n")
    with pytest.raises(InteropError, match="not an MLflow tracking store"):
        open_tracking(f"sqlite:///{tmp_path / 'text.db'}")
    with pytest.raises(InteropError, match="no MLflow tracking store"):
        open_tracking(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(InteropError, match="holds no experiment"):
        open_tracking(str(tmp_path))
    uri, _, _ = _mlflow_store(tmp_path / "mlflow")
    with pytest.raises(InteropError, match=r"no experiment 'nope'; it has: .*churn"):
        find_experiments(open_tracking(uri), "nope")


def test_export_writes_everything_in_batches_and_a_repeat_creates_nothing(
    project: Path, store: Store, tmp_path: Path
) -> None:
    (project / "out").mkdir()
    (project / "out" / "model.bin").write_bytes(b"model bytes")
    (project / "data" / "raw").mkdir(parents=True)
    (project / "data" / "raw" / "rows.csv").write_text("a,b\n1,2\n")
    add(DataContext.of(Project(project)), ["data/raw"])
    with samerun.start_run(name="wide", params={"p": {f"k{i}": i for i in range(150)}}) as run:
        for step in range(2500):  # more than one log_batch may carry
            samerun.log_metric("loss", 1.0 / (step + 1), step=step)
        samerun.log_artifact("out/model.bin")
        samerun.log_artifact("out")
    store.meta.set_tags(run.id, {"stage": "candidate"})
    uri = f"sqlite:///{tmp_path / 'exported.db'}"

    (exported,) = export_runs(store, [run.id], uri, experiment="samerun")
    assert exported.created
    client = MlflowClient(tracking_uri=uri)
    mlflow_run = client.get_run(exported.mlflow_run)
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.info.run_name == "wide"
    assert len(mlflow_run.data.params) == 150
    assert mlflow_run.data.params["p.k7"] == "7"
    history = client.get_metric_history(exported.mlflow_run, "loss")
    assert sorted(m.step for m in history) == list(range(2500))
    tags = mlflow_run.data.tags
    manifest = load_manifest(store, run.id)
    assert tags[RUN_ID_TAG] == run.id
    assert tags["samerun.seed"] == str(manifest.inputs.randomness.seed)
    assert tags["samerun.commit"] == manifest.inputs.code.commit
    assert tags["stage"] == "candidate"
    listed = {a.path for a in client.list_artifacts(exported.mlflow_run)}
    assert listed == {"out"}
    inner = {a.path for a in client.list_artifacts(exported.mlflow_run, "out")}
    assert inner == {"out/model.bin"}
    local = Path(client.download_artifacts(exported.mlflow_run, "out/model.bin", str(tmp_path)))
    assert local.read_bytes() == b"model bytes"

    (dataset,) = mlflow_run.inputs.dataset_inputs
    assert dataset.dataset.name == "data/raw"
    assert manifest.inputs.data[0].read in dataset.dataset.source

    (again,) = export_runs(store, [run.id], uri, experiment="samerun")
    assert not again.created
    assert again.mlflow_run == exported.mlflow_run
    experiment = client.get_experiment_by_name("samerun")
    assert len(client.search_runs([experiment.experiment_id])) == 1
    # and importing it back finds that it came from here
    tracking = open_tracking(uri)
    (back,) = import_runs(store, tracking, find_experiments(tracking, "samerun"))
    assert back.outcome == "from-samerun"
    assert back.run_id == run.id
