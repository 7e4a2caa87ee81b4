"""The one comparison engine: which layers differ, what is a cause, how outputs are graded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from samerun.manifest import Artifact, DataInput, Manifest, Outputs
from samerun.series import encode_series
from samerun.store.objects import LocalObjectStore
from samerun.summary import MetricSummary
from samerun.verify.comparators import Tolerance
from samerun.verify.compare import NONDETERMINISM, compare_runs
from tests.test_manifest import make_inputs, make_manifest


@pytest.fixture
def objects(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def no_git(_root: str, _a: str, _b: str) -> set[str]:
    return set()


def with_outputs(
    manifest: Manifest, objects: LocalObjectStore, model: bytes, loss: list[float]
) -> Manifest:
    series = objects.put_bytes(encode_series(list(range(len(loss))), loss))
    summary = MetricSummary(loss[-1], len(loss) - 1, len(loss), min(loss), max(loss), series)
    model_oid = objects.put_bytes(model)
    return replace(
        manifest,
        outputs=Outputs(
            artifacts=[Artifact("model.json", model_oid, len(model), "file")],
            metrics={"loss": summary},
        ),
    )


def test_the_same_run_is_identical_with_no_cause(objects: LocalObjectStore) -> None:
    run = with_outputs(make_manifest(), objects, b'{"w": 1.0}', [1.0, 0.5])
    comparison = compare_runs(run, replace(run, id="b" * 32), objects, files_between=no_git)
    assert comparison.outputs_verdict == "identical"
    assert comparison.causes == []
    assert not any(layer.differs for layer in comparison.inputs)


def test_a_changed_param_is_the_cause_of_changed_outputs(objects: LocalObjectStore) -> None:
    a = with_outputs(make_manifest(), objects, b'{"w": 1.0}', [1.0, 0.5])
    b = with_outputs(
        make_manifest(id="b" * 32, inputs=make_inputs(params={"lr": 0.2})),
        objects,
        b'{"w": 2.0}',
        [1.0, 0.4],
    )
    comparison = compare_runs(a, b, objects, files_between=no_git)
    assert comparison.causes == ["params"]
    (lr,) = [c for c in comparison.inputs[2].changes if c.key == "lr"]
    assert (lr.kind, lr.before, lr.after) == ("changed", 0.1, 0.2)
    assert {o.name: o.status for o in comparison.outputs} == {
        "loss": "diverged",
        "model.json": "diverged",
    }


def test_equal_inputs_with_different_outputs_is_nondeterminism(objects: LocalObjectStore) -> None:
    a = with_outputs(make_manifest(), objects, b'{"w": 1.0}', [1.0, 0.5])
    b = with_outputs(make_manifest(id="b" * 32), objects, b'{"w": 1.0000001}', [1.0, 0.5000001])
    strict = compare_runs(a, b, objects, files_between=no_git)
    assert strict.causes == [NONDETERMINISM]
    assert strict.outputs_verdict == "diverged"
    loose = compare_runs(a, b, objects, tolerance=Tolerance(rtol=1e-3), files_between=no_git)
    assert loose.outputs_verdict == "equivalent"
    assert loose.largest_deviation() is not None


def test_informational_changes_are_shown_but_never_causes(objects: LocalObjectStore) -> None:
    a = make_manifest()
    b = make_manifest(
        id="b" * 32,
        host={"hostname": "other"},
        inputs=make_inputs(
            code=replace(a.inputs.code, commit="c2"),
            randomness=replace(a.inputs.randomness, seed_source="drawn"),
        ),
    )
    comparison = compare_runs(a, b, objects, files_between=no_git)
    assert comparison.input_causes == []
    assert [c.key for c in comparison.host.changes if c.kind == "changed"] == ["hostname"]
    assert any(c.key == "commit" and c.informational for c in comparison.inputs[0].changes)


def test_a_changed_dataset_names_the_files_that_changed(objects: LocalObjectStore) -> None:
    def tree(files: dict[str, bytes]) -> str:
        entries = [
            [path, objects.put_bytes(data), len(data)] for path, data in sorted(files.items())
        ]
        return objects.put_bytes(json.dumps({"entries": entries}).encode())

    before = tree({"a.csv": b"1", "b.csv": b"2"})
    after = tree({"a.csv": b"1", "b.csv": b"3", "c.csv": b"4"})
    a = make_manifest(
        inputs=make_inputs(data=[DataInput("data", "data.samerun", before, before, "dir", 2, 2)])
    )
    b = make_manifest(
        id="b" * 32,
        inputs=make_inputs(data=[DataInput("data", "data.samerun", before, after, "dir", 3, 3)]),
    )
    data = compare_runs(a, b, objects, files_between=no_git).inputs[3]
    assert data.differs
    assert [(c.key, c.kind) for c in data.changes] == [
        ("data", "changed"),
        ("data/b.csv", "changed"),
        ("data/c.csv", "added"),
    ]


def test_outputs_only_one_run_has_are_missing_or_added(objects: LocalObjectStore) -> None:
    a = with_outputs(make_manifest(), objects, b"m", [1.0])
    b = replace(a, id="b" * 32, outputs=Outputs())
    statuses = {o.name: o.status for o in compare_runs(a, b, objects, files_between=no_git).outputs}
    assert statuses == {"loss": "missing", "model.json": "missing"}
    back = {o.name: o.status for o in compare_runs(b, a, objects, files_between=no_git).outputs}
    assert back == {"loss": "added", "model.json": "added"}


def test_an_origin_or_conda_build_change_is_an_environment_cause(
    objects: LocalObjectStore,
) -> None:
    from samerun.capture.environment import CondaPackage, Origin

    a = make_manifest()
    env_a = replace(
        a.inputs.environment,
        origins={"numpy": Origin("vcs", "pip", "https://g.example/np.git", "git", "c1")},
        conda=[CondaPackage("mkl", "2023.1", "h1", "conda-forge")],
        libc="glibc 2.36",
    )
    env_b = replace(
        env_a,
        origins={"numpy": Origin("vcs", "pip", "https://g.example/np.git", "git", "c2")},
        conda=[CondaPackage("mkl", "2023.1", "h2", "conda-forge")],
        libc="glibc 2.39",
    )
    run_a = replace(a, inputs=replace(a.inputs, environment=env_a))
    run_b = replace(a, id="b" * 32, inputs=replace(a.inputs, environment=env_b))
    comparison = compare_runs(run_a, run_b, objects, files_between=no_git)
    (layer,) = [layer for layer in comparison.inputs if layer.layer == "environment"]
    changed = {c.key: (c.before, c.after) for c in layer.changes if c.kind != "equal"}
    assert changed["origin numpy"] == (
        "git+https://g.example/np.git@c1",
        "git+https://g.example/np.git@c2",
    )
    assert changed["conda mkl"] == ("2023.1 h1 (conda-forge)", "2023.1 h2 (conda-forge)")
    assert layer.differs
    # An old run that did not record origins is not reported as having changed them.
    old = replace(a, inputs=replace(a.inputs, environment=replace(env_b, origins=None)))
    versus_old = compare_runs(run_a, old, objects, files_between=no_git)
    (layer,) = [layer for layer in versus_old.inputs if layer.layer == "environment"]
    assert "origin numpy" not in {c.key for c in layer.changes}


def test_a_changed_argument_is_shown_as_itself_however_long_the_command(
    objects: LocalObjectStore,
) -> None:
    from samerun.manifest import Command

    base = make_manifest()
    argv = ["python", "main.py", *(f"--flag{i}" for i in range(40)), "--lr", "10"]
    a = replace(base, inputs=replace(base.inputs, command=Command(argv, ".", None)))
    b_argv = [*argv[:-1], "20", "--cuda"]
    b = replace(a, id="b" * 32, inputs=replace(a.inputs, command=Command(b_argv, ".", None)))
    comparison = compare_runs(a, b, objects, files_between=no_git)
    (layer,) = [layer for layer in comparison.inputs if layer.layer == "command"]
    changed = [c for c in layer.changes if c.kind != "equal"]
    assert [(c.key, c.kind, c.before, c.after) for c in changed] == [
        ("argv[43] (after --lr)", "changed", ["10"], ["20", "--cuda"])
    ]
    assert comparison.to_dict()["inputs"][1]["changes"][0]["before"] == "."  # typed, not JSON text
