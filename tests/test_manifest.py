from __future__ import annotations

import json
from dataclasses import replace

import pytest

from samerun.capture.code import CodeState
from samerun.capture.environment import Environment
from samerun.capture.randomness import Randomness
from samerun.hashing import canonical_json
from samerun.manifest import (
    SCHEMA,
    Artifact,
    Command,
    ConfigRef,
    DataInput,
    Imported,
    Inputs,
    Manifest,
    Outputs,
)
from samerun.summary import MetricSummary


def make_inputs(**changes: object) -> Inputs:
    inputs = Inputs(
        code=CodeState(vcs="git", root="/home/a/proj", tree="git:abc", commit="c1", dirty=False),
        command=Command(
            argv=["python", "train.py"], cwd=".", interpreter="/home/a/.venv/bin/python"
        ),
        params={"lr": 0.1},
        environment=Environment(
            python="3.11.7",
            implementation="CPython",
            executable="/home/a/.venv/bin/python",
            system="Linux",
            machine="x86_64",
            packages={"numpy": "2.0.0"},
            packages_hash="blake3:pk",
        ),
        randomness=Randomness(seed=42, seed_source="given", python_hash_seed="42"),
        env_vars={"OMP_NUM_THREADS": "1"},
    )
    return replace(inputs, **changes)  # type: ignore[arg-type]


def make_manifest(**changes: object) -> Manifest:
    manifest = Manifest(
        id="a" * 32,
        name="baseline",
        status="finished",
        started_at=1_700_000_000.5,
        ended_at=1_700_000_010.25,
        exit_code=0,
        inputs=make_inputs(),
        host={"hostname": "box"},
        outputs=Outputs(
            artifacts=[Artifact("model.pkl", "blake3:m", 10, "file")],
            metrics={"loss": MetricSummary(0.1, 9, 10, 0.1, 1.0, "blake3:s")},
        ),
    )
    return replace(manifest, **changes)  # type: ignore[arg-type]


def test_manifest_round_trips_through_canonical_json() -> None:
    manifest = make_manifest()
    data = json.loads(manifest.canonical())
    assert data["schema"] == SCHEMA
    assert data["started_at"] == "2023-11-14T22:13:20.500+00:00"
    again = Manifest.from_dict(data)
    assert again == manifest
    assert again.canonical() == manifest.canonical()
    assert data["fingerprints"] == {
        "inputs": manifest.input_fingerprint,
        "outputs": manifest.output_fingerprint,
    }


def test_locations_commits_and_hosts_do_not_change_the_input_fingerprint() -> None:
    base = make_manifest()
    moved = make_manifest(
        inputs=make_inputs(
            code=CodeState(vcs="git", root="/other", tree="git:abc", commit="c2", dirty=True),
            command=Command(argv=["python", "train.py"], cwd=".", interpreter="/usr/bin/python3"),
        ),
        host={"hostname": "elsewhere"},
        started_at=1.0,
    )
    assert moved.input_fingerprint == base.input_fingerprint


def test_every_input_layer_changes_the_input_fingerprint() -> None:
    base = make_inputs().fingerprint()
    variants = [
        make_inputs(params={"lr": 0.2}),
        make_inputs(code=CodeState(vcs="git", root="/home/a/proj", tree="git:def")),
        make_inputs(command=Command(argv=["python", "eval.py"], cwd=".")),
        make_inputs(randomness=Randomness(seed=1, seed_source="given", python_hash_seed="42")),
        make_inputs(randomness=Randomness(seed=42, seed_source="given", python_hash_seed="random")),
        make_inputs(env_vars={"OMP_NUM_THREADS": "8"}),
        make_inputs(config=ConfigRef("c.yaml", "blake3:c")),
        make_inputs(data=[DataInput("data/raw", None, None, "blake3:d", "dir", 10, 2)]),
    ]
    fingerprints = {v.fingerprint() for v in variants}
    assert base not in fingerprints
    assert len(fingerprints) == len(variants)


def test_output_fingerprint_depends_on_content_only() -> None:
    base = make_manifest()
    later = make_manifest(ended_at=2e9, id="b" * 32, name="other")
    assert later.output_fingerprint == base.output_fingerprint
    changed = make_manifest(
        outputs=Outputs(artifacts=[Artifact("model.pkl", "blake3:x", 10, "file")])
    )
    assert changed.output_fingerprint != base.output_fingerprint
    assert make_manifest(status="running").output_fingerprint is None


def test_canonical_bytes_are_stable() -> None:
    assert canonical_json(make_manifest().to_dict()) == make_manifest().canonical()


def test_an_imported_run_says_what_was_never_recorded_and_bad_markings_are_refused() -> None:
    plain = make_manifest()
    assert "imported" not in plain.to_dict()  # every other record keeps its bytes
    imported = make_manifest(imported=Imported("mlflow", "abc", ("environment", "randomness")))
    back = Manifest.from_json(imported.canonical())
    assert back.imported == imported.imported
    assert back.input_fingerprint == plain.input_fingerprint  # a label, not an input
    for bad in (
        {"source": "wandb", "ref": "x", "unknown": []},
        {"source": "mlflow", "ref": "x", "unknown": ["mood"]},
    ):
        data = {**imported.to_dict(), "imported": bad}
        with pytest.raises(ValueError, match="unknown"):
            Manifest.from_dict(data)
