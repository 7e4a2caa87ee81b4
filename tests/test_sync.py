"""The sync library without a server: what a run is made of, importing a run whole, and the
credentials ``samerun login`` keeps."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

import samerun
from samerun._exceptions import RemoteError
from samerun.manifest import load_manifest
from samerun.store.project import Project, open_store
from samerun.sync import (
    ATTEMPTS,
    FIRST_WAIT_S,
    Remote,
    SyncConflict,
    credentials_path,
    import_run,
    named_objects,
    pack,
    save_token,
    server_address,
    signed_in,
    token_for,
    unpack,
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


class Flaky:
    """A server that answers ``answers`` in turn: a status code, or None for a dropped
    connection."""

    def __init__(self, *answers: int | None) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0)
        if answer is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(answer, json={"user": "alice", "error": "down for a moment"})


def remote_over(server: Flaky) -> Remote:
    client = httpx.Client(base_url="http://team", transport=httpx.MockTransport(server))
    return Remote("http://team", "srn_x", client=client)


def test_a_server_that_went_away_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("samerun.sync.time.sleep", waits.append)
    server = Flaky(200, None, 503, None, 200)
    remote = remote_over(server)
    assert remote.user() == "alice"
    assert remote.user() == "alice"  # after a dropped connection, a 503 and a refusal
    assert server.calls == 5
    assert waits == [FIRST_WAIT_S, 2 * FIRST_WAIT_S, 4 * FIRST_WAIT_S]


def test_a_server_never_reached_is_said_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("samerun.sync.time.sleep", pytest.fail)
    server = Flaky(None)
    with pytest.raises(RemoteError, match="cannot reach the server at http://team"):
        remote_over(server).user()
    assert server.calls == 1


def test_retries_end_with_the_servers_own_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("samerun.sync.time.sleep", lambda _: None)
    server = Flaky(*[503] * ATTEMPTS)
    with pytest.raises(RemoteError, match="refused: down for a moment"):
        remote_over(server).user()
    assert server.calls == ATTEMPTS


@pytest.mark.parametrize(
    ("url", "server", "project"),
    [
        ("https://samerun.example.com/projects/vision", "https://samerun.example.com", "vision"),
        ("http://127.0.0.1:5005/team/projects/nlp/", "http://127.0.0.1:5005/team", "nlp"),
    ],
)
def test_a_server_project_url_names_the_server_and_the_project(
    url: str, server: str, project: str
) -> None:
    assert server_address(url) == (server, project)


@pytest.mark.parametrize(
    "url", ["https://samerun.example.com", "s3://bucket/projects/x", "https://h/projects/a/b"]
)
def test_a_url_that_names_no_project_is_refused(url: str) -> None:
    with pytest.raises(RemoteError, match="not a team server's project"):
        server_address(url)


def test_a_pack_gives_back_what_was_packed_and_a_cut_one_is_refused() -> None:
    objects = [("blake3:" + "a" * 64, b"one\nwith a newline"), ("blake3:" + "b" * 64, b"")]
    body = pack(objects)
    assert unpack(body) == objects
    assert unpack(b"") == []
    with pytest.raises(ValueError, match="cut short"):
        unpack(body[: body.index(b"\n") + 5])  # the first object's bytes cut short
    with pytest.raises(ValueError, match="no object header"):
        unpack(b"x" * 500)
