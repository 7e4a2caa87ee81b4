"""The recorder: a request checked once, a run begun and completed, a dead run reaped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from samerun._exceptions import ConfigError, UsageError
from samerun.manifest import load_manifest
from samerun.recorder import (
    RunRequest,
    begin,
    complete,
    prepare,
    reap_stale,
)
from samerun.store.project import Project, Store, open_store


@pytest.fixture
def store(project: Path) -> Store:
    opened = open_store(Project(project), create=True)
    yield opened  # type: ignore[misc]
    opened.close()


def request(**changes: object) -> RunRequest:
    base: dict[str, object] = {"argv": ["python", "train.py"], "interpreter": None}
    return RunRequest(**{**base, **changes})  # type: ignore[arg-type]


def test_prepare_checks_everything_and_chooses_the_seed_once(project: Path) -> None:
    prepared = prepare(
        project, request(config="config.yaml", params={"model.lr": 0.5}, outputs=["out/model.pkl"])
    )
    assert prepared.params == {"model.lr": 0.5, "model.depth": 3, "epochs": 2}
    assert prepared.config is not None
    assert prepared.config.path == "config.yaml"
    assert prepared.outputs == ["out/model.pkl"]
    assert prepared.seed_source == "drawn"
    assert prepare(project, request(seed=7)).seed == 7
    assert prepare(project, request(seed=7)).seed_source == "given"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"outputs": ["."]}, UsageError, "--output cannot be the whole project"),
        ({"inputs": ["missing.csv"]}, UsageError, "--input missing.csv: name an existing file"),
        ({"config": "nope.yaml"}, ConfigError, "config file"),
        ({"seed": "-1"}, UsageError, "seed"),
    ],
)
def test_bad_requests_fail_in_prepare_before_anything_is_written(
    project: Path, changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        prepare(project, request(**changes))
    assert not (project / ".samerun").exists()


def test_begin_records_the_prepared_seed_and_complete_finishes_the_run(store: Store) -> None:
    root = store.project.root
    prepared = prepare(root, request(seed=11, config="config.yaml"))
    manifest = begin(store, request(seed=11), prepared, environ={"PYTHONHASHSEED": "0"})
    assert manifest.status == "running"
    assert manifest.inputs.randomness.seed == 11
    assert manifest.inputs.randomness.python_hash_seed == "0"
    assert manifest.inputs.config is not None
    assert store.objects.exists(manifest.inputs.config.hash)
    final = complete(store, manifest, status="finished", exit_code=0)
    assert final.status == "finished"
    assert load_manifest(store, manifest.id) == final
    assert not store.project.run_dir(manifest.id).exists()  # the journal is folded in


def test_a_declared_output_never_written_fails_the_run(store: Store) -> None:
    root = store.project.root
    ask = request(outputs=["model.pkl"])
    manifest = begin(store, ask, prepare(root, ask), environ={})
    final = complete(store, manifest, status="finished", exit_code=0)
    assert final.status == "failed"
    assert final.error == "declared output model.pkl was never written"


def test_a_run_whose_process_died_is_reaped_as_failed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = store.project.root
    manifest = begin(store, request(), prepare(root, request()), environ={})
    monkeypatch.setattr("samerun.recorder._owner_alive", lambda _row: False)
    monkeypatch.setenv("SAMERUN_HEARTBEAT_GRACE", "0")
    assert reap_stale(store) == [manifest.id]
    reaped = load_manifest(store, manifest.id)
    assert reaped.status == "failed"
    assert reaped.error is not None
    assert f"(pid {os.getpid()}) died" in reaped.error
