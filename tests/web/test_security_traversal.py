"""Path traversal: no URL reads a file outside the store, however its path is spelled.

Every route with a path parameter (walked from the app, so a new route is probed too) and the
static files get ``../``, ``..\\``, ``%2e%2e%2f``, ``%252e%252e%252f``, overlong UTF-8, absolute
paths, NUL and ``#``/``?`` tricks, sent as raw request lines (HTTP clients would normalize the
``..`` away). Canary files lie next to the store and inside the project; each request answers
400 or 404, and no canary, nor the store's database, nor ``/etc/passwd``, nor the app's source
ever appears in a response.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route

import samerun.web.app
from samerun.web.app import create_app, serve_app
from tests.web.conftest import UiServer, UiStore

OUTSIDE = "CANARY-next-to-the-project"
INSIDE = "CANARY-inside-the-project"
#: What a response would hold had it read the store's database, the system or the app's code.
NEVER_SERVED = [OUTSIDE, INSIDE, "SQLite format 3", "root:x:0:0", "def create_app("]

#: Files a traversal could reach, relative to the project's root (the app's source is reached
#: from the static folder: ``../app.py``).
TARGETS = [
    "../secret.txt",
    "out/../secret",
    ".samerun/meta.db",
    "../app.py",
    "../" * 12 + "etc/passwd",
]


def spellings(target: str) -> list[str]:
    """``target`` as an attacker writes it into a URL: each a raw piece of a request line."""
    dotted = target.replace(".", "%2e")
    spelled = [
        target,
        target.replace("/", "\\"),
        target.replace("/", "%5c"),
        dotted.replace("/", "%2f"),
        target.replace("../", "..%2f"),
        dotted.replace("%", "%25").replace("/", "%252f"),  # %252e%252e%252f: decoded twice
        target.replace("../", "%c0%ae%c0%ae%c0%af"),  # overlong UTF-8
        target.replace("../", "....//"),  # survives a naive removal of "../"
        f"{target}%00.png",
        f"out/notes.txt%00/{target}",
        f"{target}#.png",
        f"{target}%23.png",
        f"{target}?.png",
        f"{target}%3f.png",
    ]
    return list(dict.fromkeys(spelled))


def absolute(path: Path) -> list[str]:
    text = path.as_posix()
    return [text, "/" + text, quote(text, safe=""), "file://" + text]


@pytest.fixture(scope="module")
def canaries(ui_store: UiStore) -> Iterator[list[Path]]:
    """A file next to the project and one inside it (not recorded by any run)."""
    outside, inside = ui_store.root.parent / "secret.txt", ui_store.root / "secret"
    outside.write_text(OUTSIDE)
    inside.write_text(INSIDE)
    yield [outside, inside]
    outside.unlink()
    inside.unlink()


def hostile(canaries: list[Path]) -> list[str]:
    found = [spelled for target in TARGETS for spelled in spellings(target)]
    for path in [*canaries, Path("/etc/passwd"), Path(samerun.web.app.__file__)]:
        found += absolute(path)
    return found


def route_paths(routes: Iterable[BaseRoute]) -> Iterator[str]:
    """The path of every route, the routers' included ones too (``/static/{path}`` for a mount)."""
    for route in routes:
        if isinstance(route, Mount):
            yield route.path + "/{path}"
        elif isinstance(route, Route):
            yield route.path
        else:  # an included router
            yield from route_paths(route.original_router.routes)  # type: ignore[attr-defined]


def path_routes(root: Path) -> list[str]:
    """Every route of the app whose path holds a parameter, as ``/a/{name}/b``."""
    found = [path for path in route_paths(create_app(root).routes) if "{" in path]
    return [re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path) for path in found]


def fill(template: str, store: UiStore, **given: str) -> str:
    """``template`` with each parameter set: ``given``, else a value the route accepts."""
    valid = {"ref": store.runs["run-0"], "key": "loss", "path": "out/notes.txt"}
    return re.sub(r"\{(\w+)\}", lambda m: given.get(m[1], valid.get(m[1], "x")), template)


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """``GET target`` sent as it is written (no normalizing, no quoting): status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def test_every_route_with_a_path_parameter_is_probed(ui_store: UiStore) -> None:
    routes = path_routes(ui_store.root)
    assert "/static/{path}" in routes
    assert "/api/v1/runs/{ref}/artifacts/{path}" in routes
    assert "/api/v1/runs/{ref}/metrics/{key}/csv" in routes
    # the fill is what a route accepts: the probes below reach the code that reads the path
    assert fill("/api/v1/runs/{ref}/artifacts/{path}", ui_store).endswith("/out/notes.txt")


def test_valid_paths_serve_what_the_probes_aim_beside(ui_server: UiServer) -> None:
    store = ui_server.store
    for template, expected in [
        ("/api/v1/runs/{ref}/artifacts/{path}", b"line one"),
        ("/api/v1/runs/{ref}/metrics/{key}/csv", b"step,value"),
        ("/static/{path}", b"{"),
    ]:
        path = "app.css" if template.startswith("/static") else "out/notes.txt"
        status, body = raw_get(ui_server.port, fill(template, store, path=path))
        assert status == 200
        assert expected in body


def test_no_path_parameter_reads_outside_the_store(
    ui_server: UiServer, canaries: list[Path]
) -> None:
    answered = {}
    for template in path_routes(ui_server.store.root):
        for name in re.findall(r"\{(\w+)\}", template):
            for value in hostile(canaries):
                target = fill(template, ui_server.store, **{name: value})
                status, body = raw_get(ui_server.port, target)
                leaked = [canary for canary in NEVER_SERVED if canary.encode() in body]
                assert not leaked, f"GET {target} served {leaked}"
                answered[target] = status
    refused = {target: status for target, status in answered.items() if status not in (400, 404)}
    assert not refused, f"answered neither 400 nor 404: {refused}"
    assert len(answered) > 500


def test_raw_nul_and_control_bytes_in_the_request_line_are_refused(
    ui_server: UiServer, canaries: list[Path]
) -> None:
    run = ui_server.store.runs["run-0"]
    for target in [
        f"/api/v1/runs/{run}/artifacts/out/notes.txt\x00/../../secret",
        f"/api/v1/runs/{run}/artifacts/../secret\x00.png",
        "/static/app.css\x00/../../app.py",
        f"/api/v1/runs/{run}\x00/patch",
    ]:
        status, body = raw_get(ui_server.port, target)
        assert status in (400, 404), target
        assert not [canary for canary in NEVER_SERVED if canary.encode() in body]


def test_compare_reads_run_references_never_paths(
    ui_server: UiServer, canaries: list[Path]
) -> None:
    run = ui_server.store.runs["run-0"]
    for value in hostile(canaries):
        for target in [f"/compare?run={run}&run={value}", f"/compare?run={value}&run={run}"]:
            status, body = raw_get(ui_server.port, target)
            assert status in (400, 404), target
            assert not [canary for canary in NEVER_SERVED if canary.encode() in body]


def test_static_files_never_follow_a_link_out_of_their_folder(
    tmp_path: Path, ui_store: UiStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = tmp_path / "web"
    shutil.copytree(Path(samerun.web.app.__file__).parent / "static", web / "static")
    (tmp_path / "secret.txt").write_text(OUTSIDE)
    (web / "static" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (web / "static" / "system").symlink_to("/etc", target_is_directory=True)
    monkeypatch.setattr(samerun.web.app, "HERE", web)
    with TestClient(serve_app(ui_store.root, "127.0.0.1"), base_url="http://127.0.0.1") as client:
        assert client.get("/static/app.css").status_code == 200  # the copy is what is served
        for path in ["/static/leak.txt", "/static/system/passwd"]:
            response = client.get(path)
            assert response.status_code == 404
            assert OUTSIDE not in response.text
            assert "root:x:0:0" not in response.text
