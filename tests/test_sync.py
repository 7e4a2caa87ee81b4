"""The sync library without a server: what a run is made of, importing a run whole, and the
credentials ``samerun login`` keeps."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import samerun
from samerun._exceptions import RemoteError
from samerun.manifest import load_manifest
from samerun.store.project import Project, open_store
from samerun.sync import (
    SyncConflict,
    credentials_path,
    import_run,
    named_objects,
    save_token,
    signed_in,
    token_for,
)


def test_a_run_imported_into_another_store_is_the_same_run(project: Path, tmp_path: Path) -> None:
    with samerun.start_run(params={"lr": 0.1}, seed=1) as run:
        samerun.log_metric("loss", 0.5, step=0)
    source = open_store(Project(project))
    manifest = load_manifest(source, run.id)
    oids = named_objects(manifest)
    assert oids
    assert all(source.objects.exists(oid) for oid in oids)
    other = tmp_path / "other"
    other.mkdir()
    target = open_store(Project(other), create=True)
    with pytest.raises(SyncConflict, match="objects not stored yet") as refused:
        import_run(target, manifest)
    assert refused.value.missing == oids
    assert target.meta.count_runs() == 0  # nothing written
    for oid in oids:
        target.objects.put_bytes(source.objects.get_bytes(oid), oid)
    assert import_run(target, manifest) is True
    assert import_run(target, manifest) is False  # the same run again: a no-op
    assert load_manifest(target, run.id) == manifest
    assert target.meta.params_of([run.id]) == source.meta.params_of([run.id])
    with pytest.raises(SyncConflict, match="different run"):
        import_run(target, manifest.evolve(name="renamed"))


def test_credentials_are_private_and_per_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(RemoteError, match="signed in to no server"):
        signed_in()
    path = save_token("https://a.example/", "t1")
    assert path == credentials_path() == tmp_path / "config" / "samerun" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signed_in() == "https://a.example"
    save_token("https://b.example", "t2")
    assert json.loads(path.read_text()) == {"https://a.example": "t1", "https://b.example": "t2"}
    assert token_for("https://b.example/") == "t2"
    with pytest.raises(RemoteError, match="2 servers"):
        signed_in()
    with pytest.raises(RemoteError, match=r"samerun login https://c\.example"):
        token_for("https://c.example")
