"""The registry's operations on real recorded runs: what a user gets, and what is refused."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import Cli

from samerun._exceptions import RunStateError, StoreError, UsageError
from samerun.registry import Registry
from samerun.registry.model import ModelVersion


def _flip_a_byte(registry: Registry, version: ModelVersion) -> Path:
    path = registry.store.objects.path_of(version.files[0].oid)
    assert path is not None
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    return path


def test_versions_count_up_and_keep_their_files_and_notes(
    record: Callable[..., str], registry: Registry
) -> None:
    first = registry.register("churn", record(0.1), ["model.pkl"], description="base")
    second = registry.register("churn", record(0.2), tags={"stage": "candidate"})
    assert (first.version, second.version) == (1, 2)
    assert first.files[0].oid != second.files[0].oid
    assert registry.resolve("churn") == second
    assert registry.resolve("churn:1").description == "base"
    assert registry.resolve("churn:2").tags == {"stage": "candidate"}
    assert [m.versions for m in registry.models()] == [2]


def test_registering_from_a_failed_run_or_an_unknown_artifact_is_refused(
    record: Callable[..., str], registry: Registry, cli: Cli
) -> None:
    cli("record", "--", "python", "-c", "raise SystemExit(3)")
    with pytest.raises(RunStateError, match=r"is failed; register a version from a finished run"):
        registry.register("churn", "last")
    run = record()
    with pytest.raises(UsageError, match=r"did not produce 'other\.pkl'; it produced: model\.pkl"):
        registry.register("churn", run, ["other.pkl"])
    assert registry.models() == []


def test_unknown_models_versions_and_aliases_are_one_sentence(
    record: Callable[..., str], registry: Registry
) -> None:
    registry.register("churn", record())
    with pytest.raises(UsageError, match="no model named 'fraud'"):
        registry.resolve("fraud")
    with pytest.raises(UsageError, match="has no version 7"):
        registry.resolve("churn:7")
    with pytest.raises(UsageError, match="has no alias 'production'"):
        registry.resolve("churn@production")
    with pytest.raises(UsageError, match="has no version 7"):
        registry.set_alias("churn", "production", 7)
    assert registry.history("churn").events == []


def test_history_at_says_where_each_alias_pointed_then(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record()
    for _ in range(3):
        registry.register("churn", run)
    now = iter([100.0, 200.0, 300.0])
    registry.clock = lambda: next(now)
    registry.set_alias("churn", "production", 1, reason="launch")
    registry.set_alias("churn", "staging", 3)
    registry.set_alias("churn", "production", 2)
    assert registry.history("churn", at=150).aliases == {"production": 1}
    assert registry.history("churn", at=250).aliases == {"production": 1, "staging": 3}
    assert registry.history("churn").aliases == {"production": 2, "staging": 3}
    moves = registry.history("churn", alias="production").events
    assert [(e.from_version, e.to_version, e.reason) for e in moves] == [
        (None, 1, "launch"),
        (1, 2, ""),
    ]
    assert moves[0].actor


def test_rollback_goes_back_through_the_alias_history_and_is_an_event(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record()
    for _ in range(3):
        registry.register("churn", run)
    for version in (1, 2, 3):
        registry.set_alias("churn", "production", version)
    back = registry.rollback("churn", "production")
    assert (back.target.version, back.files_checked, back.verdict) == (2, 1, None)
    assert registry.resolve("churn@production").version == 2
    registry.rollback("churn", "production", to=1, reason="incident 42")
    last = registry.history("churn").events[-1]
    assert (last.kind, last.from_version, last.to_version, last.reason) == (
        "rollback",
        2,
        1,
        "incident 42",
    )
    assert registry.check_history("churn").intact


def test_a_rollback_without_an_earlier_holder_is_refused(
    record: Callable[..., str], registry: Registry
) -> None:
    registry.register("churn", record())
    registry.register("churn", "last")
    registry.set_alias("churn", "production", 1)
    with pytest.raises(UsageError, match="has no holder 1 move"):
        registry.rollback("churn", "production")
    with pytest.raises(UsageError, match="v2 never held churn@production"):
        registry.rollback("churn", "production", to=2)
    with pytest.raises(UsageError, match="has no alias 'staging'"):
        registry.rollback("churn", "staging")
    assert len(registry.history("churn").events) == 1


def test_a_flipped_byte_makes_get_and_rollback_refuse_naming_the_file(
    record: Callable[..., str], registry: Registry, tmp_path: Path
) -> None:
    first = registry.register("churn", record(0.1))
    registry.register("churn", record(0.2))
    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 2)
    _flip_a_byte(registry, first)
    with pytest.raises(StoreError, match=r"churn v1: file model\.pkl cannot be used: .* corrupt"):
        registry.rollback("churn", "production")
    assert registry.resolve("churn@production").version == 2
    with pytest.raises(StoreError, match=r"churn v1: file model\.pkl cannot be used"):
        registry.get("churn:1", tmp_path / "deploy")
    assert not (tmp_path / "deploy").exists()


def test_get_reuses_an_unchanged_copy_and_replaces_a_changed_one(
    record: Callable[..., str], registry: Registry, project: Path, tmp_path: Path
) -> None:
    registry.register("churn", record())
    placed = registry.get("churn")
    (path,) = placed.paths
    assert path.read_bytes() == (project / "model.pkl").read_bytes()
    assert registry.get("churn").paths == [path]
    path.unlink()
    assert registry.get("churn").paths[0].read_bytes() == (project / "model.pkl").read_bytes()
    deployed = registry.get("churn", tmp_path / "deploy").paths
    assert deployed == [tmp_path / "deploy" / "model.pkl"]
    with pytest.raises(UsageError, match="already exists"):
        registry.get("churn", tmp_path / "deploy")


def test_rollback_with_verify_uses_the_verdict_and_refuses_a_diverged_one(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record()
    registry.register("churn", run)
    registry.register("churn", run)
    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 2)
    registry.store.meta.add_verification(
        run_id=run, replay_id=None, verdict="diverged", details={"causes": ["numpy changed"]}
    )
    with pytest.raises(RunStateError, match=r"is diverged \(numpy changed\); nothing was moved"):
        registry.rollback("churn", "production", verify=True)
    assert registry.resolve("churn@production").version == 2
    registry.store.meta.add_verification(
        run_id=run, replay_id=None, verdict="identical", details={}
    )
    assert registry.rollback("churn", "production", verify=True).verdict == "identical"


def test_rollback_with_verify_replays_a_never_verified_run_and_watch_reports(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record(0.1, "--seed", "7")
    registry.register("churn", run)
    registry.register("churn", run)
    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 2)
    events: list[str] = []
    back = registry.rollback("churn", "production", verify=True, on_event=events.append)
    assert back.verdict in ("identical", "equivalent")
    assert any("never verified" in e for e in events)
    watched = registry.watch("churn@production")
    assert (watched.previous, watched.changed, watched.exit_code) == (back.verdict, False, 0)


def test_a_verdict_reached_with_other_packages_is_replayed_before_a_rollback(
    record: Callable[..., str], registry: Registry
) -> None:
    run = record(0.1, "--seed", "7")
    registry.register("churn", run)
    registry.register("churn", run)
    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 2)
    registry.rollback("churn", "production", verify=True)  # replays: never verified
    registry.set_alias("churn", "production", 2)
    first = registry.run_of(registry.resolve("churn:1")).verifications
    assert len(first) == 1
    events: list[str] = []
    registry.rollback("churn", "production", verify=True, on_event=events.append)
    assert not any("replaying" in e for e in events)  # same packages: the verdict holds
    replay = first[0].replay
    assert replay is not None
    (text,) = registry.store.meta.select(
        "SELECT manifest FROM runs WHERE id = :id", {"id": replay}
    )[0]
    manifest = json.loads(text)
    manifest["inputs"]["environment"]["packages_hash"] = "blake3:" + "0" * 64  # upgraded since
    with registry.store.meta.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE runs SET manifest = :m WHERE id = :id"),
            {"m": json.dumps(manifest), "id": replay},
        )
    registry.set_alias("churn", "production", 2)
    events.clear()
    back = registry.rollback("churn", "production", verify=True, on_event=events.append)
    assert any("last verified with other packages" in e for e in events)
    assert back.verdict in ("identical", "equivalent")
    assert len(registry.run_of(registry.resolve("churn:1")).verifications) == 2
