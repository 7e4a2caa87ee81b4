"""What a pushed run carries is data, never instructions: the server fetches no URL a run names
(SSRF), never unpickles an uploaded object, and reads YAML only through the safe loader. A
hostile run is pushed (a code remote and data URLs pointing at a listener on this machine, a
pickle that would create a file when loaded, a YAML config that would do the same), then every
page and API route that shows it is read: the listener is never called, no file appears, and
the objects come back byte for byte."""

from __future__ import annotations

import ast
import pickle
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import samerun
from samerun.hashing import hash_bytes
from tests.server.conftest import Team

SRC = Path(samerun.__file__).parent


class Planted:
    """What loading this pickle would do: create the file at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.path),))


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback port that records every connection made to it."""
    calls: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    calls.append(conn.recv(1024))
                except OSError:
                    calls.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", calls
    stop.set()
    thread.join(timeout=5)
    server.close()


def send(client: TestClient, headers: dict[str, str], data: bytes) -> str:
    oid = hash_bytes(data)
    done = client.put(
        f"/api/v1/projects/alpha/objects/{oid}",
        content=data,
        headers={**headers, "content-type": "application/octet-stream"},
    )
    assert done.status_code == 200, done.text
    return oid


def test_a_hostile_run_is_stored_and_shown_as_data_only(
    client: TestClient, team: Team, tmp_path: Path, listener: tuple[str, list[bytes]]
) -> None:
    url, calls = listener
    writer = {"authorization": f"Bearer {team.tokens['writer']}"}
    unpickled, unyamled = tmp_path / "unpickled", tmp_path / "unyamled"
    planted = pickle.dumps(Planted(str(unpickled)))
    config = (
        "!!python/object/apply:pathlib.Path.touch "
        f'[!!python/object/apply:pathlib.Path ["{unyamled}"]]\n'
    )
    pickle_oid, config_oid = send(client, writer, planted), send(client, writer, config.encode())
    manifest = client.get(
        f"/api/v1/projects/alpha/runs/{team.alpha_run}/manifest", headers=writer
    ).json()
    run_id = uuid.uuid4().hex
    manifest["id"] = run_id
    manifest["inputs"]["code"]["remote"] = f"{url}/code.git"
    manifest["inputs"]["config"] = {"path": "config.yaml", "hash": config_oid, "oid": config_oid}
    manifest["outputs"]["artifacts"] = [
        {"path": "model.pkl", "oid": pickle_oid, "size": len(planted), "kind": "file"},
        {"path": "config.yaml", "oid": config_oid, "size": len(config), "kind": "file"},
    ]
    manifest["host"]["hostname"] = f"{url}/host"
    pushed = client.post(
        "/api/v1/projects/alpha/runs",
        json={"manifest": manifest, "tags": {"source": f"{url}/tag"}},
        headers=writer,
    )
    assert pushed.status_code == 200, pushed.text
    for path in [
        "/",
        f"/runs/{run_id}",
        f"/runs/{run_id}/preview/model.pkl",
        f"/runs/{run_id}/preview/config.yaml",
        f"/compare?run={run_id}&run={team.alpha_run}",
        f"/api/v1/runs/{run_id}",
        f"/api/v1/runs/{run_id}/patch",
        f"/api/v1/runs/{run_id}/artifacts/config.yaml",
        f"/api/v1/projects/alpha/runs/{run_id}/manifest",
    ]:
        assert client.get(path, headers=writer).status_code in (200, 404), path
    served = client.get(f"/api/v1/runs/{run_id}/artifacts/model.pkl", headers=writer)
    assert served.content == planted
    fetched = client.get(f"/api/v1/projects/alpha/objects/{pickle_oid}", headers=writer)
    assert fetched.content == planted
    assert not unpickled.exists(), "an uploaded pickle was loaded"
    assert not unyamled.exists(), "an uploaded YAML file was loaded unsafely"
    assert calls == [], f"the server called a URL a run named: {calls}"


def loads_in(tree: ast.AST) -> list[str]:
    """Calls of loaders that run code from their input: pickle/dill loads, yaml.load or
    unsafe_load, torch.load without weights_only, eval/exec."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        risky = called in {"eval", "exec", "yaml.load", "yaml.unsafe_load", "yaml.full_load"}
        risky |= called.split(".")[0] in {"pickle", "dill", "cloudpickle"} and (
            called.endswith(("load", "loads"))
        )
        if called == "torch.load":
            weights_only = [k for k in node.keywords if k.arg == "weights_only"]
            risky = not weights_only or ast.unparse(weights_only[0].value) != "True"
        if risky:
            found.append(called)
    return found


def test_the_server_and_its_libraries_hold_no_unsafe_loader() -> None:
    found = {
        str(path.relative_to(SRC)): calls
        for path in SRC.rglob("*.py")
        if (calls := loads_in(ast.parse(path.read_text())))
    }
    assert found == {}, f"loaders that run code from their input: {found}"


def test_the_loader_scan_finds_what_it_looks_for() -> None:
    planted = "import pickle, yaml\npickle.loads(b'')\nyaml.load(s)\nyaml.safe_load(s)\n"
    assert loads_in(ast.parse(planted)) == ["pickle.loads", "yaml.load"]
