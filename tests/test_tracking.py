from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import samerun
from samerun._exceptions import PathOutsideProject, RunStateError, UsageError
from samerun.manifest import load_manifest
from samerun.series import decode_series
from samerun.store.project import Project, open_store


def open_project_store(root: Path):  # type: ignore[no-untyped-def]
    return open_store(Project(root))


def test_with_block_records_params_metrics_and_artifacts(project: Path) -> None:
    (project / "model.pkl").write_bytes(b"weights")
    with samerun.start_run(name="baseline", params={"lr": 0.05}, seed=7) as run:
        for step in range(2000):
            samerun.log_metric("loss", 1 / (step + 1), step=step)
        samerun.log_metrics({"acc": 0.5, "f1": 0.4})
        samerun.log_param("optimizer", "sgd")
        samerun.log_artifact("model.pkl")
    final = run.final
    assert final is not None
    assert final.status == "finished"
    assert final.name == "baseline"
    assert final.inputs.params == {"lr": 0.05, "optimizer": "sgd"}
    assert final.inputs.randomness.seed == 7
    assert final.outputs.metrics["loss"].count == 2000
    assert final.outputs.metrics["loss"].last == 1 / 2000
    assert [a.path for a in final.outputs.artifacts] == ["model.pkl"]
    store = open_project_store(project)
    try:
        assert store.meta.metric_count(run.id) == 2002
        assert load_manifest(store, run.id) == final
        steps, values = decode_series(store.objects.get_bytes(final.outputs.metrics["loss"].series))
        assert steps == list(range(2000))
        assert values[0] == 1.0
        assert store.objects.get_bytes(final.outputs.artifacts[0].oid) == b"weights"
        row = store.meta.resolve(run.id[:6])
        assert row.status == "finished"
        assert row.commit_sha == final.inputs.code.commit
        assert row.summary == {"acc": 0.5, "f1": 0.4, "loss": 1 / 2000}
    finally:
        store.close()
    assert not (project / ".samerun" / "runs" / run.id).exists()


def test_artifact_is_stored_as_it_was_when_logged(project: Path) -> None:
    (project / "model.pkl").write_bytes(b"v1")
    with samerun.start_run() as run:
        samerun.log_artifact(project / "model.pkl")
        (project / "model.pkl").write_bytes(b"v2")
    store = open_project_store(project)
    try:
        assert run.final is not None
        assert store.objects.get_bytes(run.final.outputs.artifacts[0].oid) == b"v1"
    finally:
        store.close()


def test_steps_default_to_the_next_step_of_each_key(project: Path) -> None:
    with samerun.start_run() as run:
        for _ in range(3):
            samerun.log_metric("a", 1.0)
        samerun.log_metric("b", 2.0, step=10)
        samerun.log_metric("b", 3.0)
    assert run.final is not None
    assert run.final.outputs.metrics["a"].step == 2
    assert run.final.outputs.metrics["b"].step == 11


def test_an_exception_marks_the_run_failed(project: Path) -> None:
    def train() -> samerun.Run:
        with samerun.start_run() as run:
            samerun.log_metric("loss", 1.0)
            runs.append(run)
            _ = 1 / 0
        return run

    runs: list[samerun.Run] = []
    with pytest.raises(ZeroDivisionError):
        train()
    run = runs[0]
    assert run.final is not None
    assert run.final.status == "failed"
    assert run.final.error == "ZeroDivisionError: division by zero"
    assert run.final.outputs.metrics["loss"].count == 1


def test_misuse_gets_clear_errors(project: Path) -> None:
    run = samerun.start_run()
    with pytest.raises(RunStateError, match="already active"):
        samerun.start_run()
    with pytest.raises(UsageError, match="is not a number"):
        samerun.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(PathOutsideProject):
        samerun.log_artifact("/etc/hostname")
    run.end()
    with pytest.raises(RunStateError, match="has ended"):
        run.log_metric("loss", 1.0)
    assert samerun.active_run() is None


def test_an_unknown_end_status_is_refused_and_the_run_stays_open(project: Path) -> None:
    run = samerun.start_run()
    samerun.log_metric("loss", 0.5)
    with pytest.raises(UsageError, match="cannot end as 'succeeded'; use one of finished"):
        samerun.end_run("succeeded")
    assert samerun.active_run() is run
    samerun.end_run("finished")
    assert run.final is not None
    assert run.final.status == "finished"


def test_logging_without_a_run_starts_one(project: Path) -> None:
    samerun.log_metric("loss", 0.5)
    run = samerun.active_run()
    assert run is not None
    samerun.end_run()
    assert run.final is not None
    assert run.final.outputs.metrics["loss"].last == 0.5


def run_script(project: Path, source: str) -> subprocess.CompletedProcess[str]:
    script = project / "script.py"
    script.write_text(source)
    # A process: what happens when the script's interpreter exits is the point.
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=project
    )


def test_a_script_that_never_ends_its_run_is_finished_at_exit(project: Path) -> None:
    done = run_script(project, "import samerun\nsamerun.log_metric('x', 1)\n")
    assert done.returncode == 0, done.stderr
    assert "created a store" in done.stderr
    store = open_project_store(project)
    try:
        row = store.meta.resolve("last")
        assert row.status == "finished"
        assert row.summary == {"x": 1.0}
    finally:
        store.close()


def test_an_uncaught_exception_marks_the_script_run_failed(project: Path) -> None:
    done = run_script(
        project, "import samerun\nsamerun.log_metric('x', 1)\nraise SystemError('boom')\n"
    )
    assert done.returncode == 1
    store = open_project_store(project)
    try:
        row = store.meta.resolve("last")
        assert row.status == "failed"
        assert row.error is not None
        assert "boom" in row.error
    finally:
        store.close()
