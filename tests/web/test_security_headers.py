"""What every response of ``samerun ui`` says to the browser, whatever answered it.

Pages, API JSON, static files, errors (a foreign Host's refusal, an unknown URL, a bad filter,
a wrong method, a crash) and recorded files: each says ``nosniff``, may not be framed and
carries a Content-Security-Policy under which no inline or eval'd script runs. Recorded files
are sandboxed and downloaded, images excepted; no response names the server or shows a trace.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from samerun.web.app import create_app
from samerun.web.security import secured, served_hosts
from tests.web.conftest import UiServer, UiStore

#: What would tell an attacker which server, framework or Python answered, or how it failed.
REVEALING = ["traceback", 'file "', "uvicorn", "starlette", "fastapi", "python/", "site-packages"]


def policy(response: httpx.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy's directives: name -> sources."""
    directives = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secured(response: httpx.Response) -> None:
    what = f"{response.request.method} {response.request.url} ({response.status_code})"
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("x-frame-options") == "DENY", what
    directives = policy(response)
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None, what
    assert "'unsafe-inline'" not in scripts, what
    assert "'unsafe-eval'" not in scripts, what
    assert "server" not in response.headers, what
    shown = (response.text if response.status_code >= 400 else "") + str(response.headers)
    assert not [word for word in REVEALING if word in shown.lower()], what


def requests(server: UiServer) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, headers) of every kind of response."""
    run, dirty = server.store.runs["run-0"], server.store.dirty_run
    artifacts = f"/api/v1/runs/{run}/artifacts/out"
    return [
        ("GET", "/", {}),
        ("GET", f"/runs/{dirty}", {}),
        ("GET", f"/compare?run={run}&run={dirty}", {}),
        ("GET", "/api/v1/runs", {}),
        ("GET", f"/api/v1/runs/{run}", {}),
        ("GET", "/api/v1/openapi.json", {}),
        ("GET", f"/api/v1/runs/{run}/metrics/loss/history", {}),
        ("GET", f"/api/v1/runs/{run}/metrics/loss/csv", {}),
        ("GET", f"/api/v1/runs/{dirty}/patch", {}),
        ("GET", "/static/app.css", {}),
        ("GET", "/static/vendor/htmx.min.js", {}),
        ("GET", f"{artifacts}/notes.txt", {}),
        ("GET", f"{artifacts}/page.html", {}),
        ("GET", f"{artifacts}/plots/dot.png", {}),
        ("GET", "/", {"host": "evil.example"}),
        ("GET", "/no/such/page", {}),
        ("GET", "/static/no-such.css", {}),
        ("GET", "/api/v1/runs/no-such-run", {}),
        ("GET", "/api/v1/runs?filter=metrics.accuracy%20%3E", {}),
        ("GET", "/api/v1/runs?limit=-1", {}),
        ("GET", f"{artifacts}/no-such-file", {}),
        ("DELETE", "/api/v1/runs", {}),
        ("HEAD", "/", {}),
    ]


def test_every_kind_of_response_is_secured(ui_server: UiServer) -> None:
    statuses = set()
    with httpx.Client(base_url=ui_server.url) as client:
        for method, path, headers in requests(ui_server):
            response = client.request(method, path, headers=headers)
            assert_secured(response)
            statuses.add(response.status_code)
    assert {200, 400, 404, 405} <= statuses


def test_pages_may_not_be_framed_and_load_only_their_own_files(ui_server: UiServer) -> None:
    directives = policy(httpx.get(ui_server.url + "/"))
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]


@pytest.mark.parametrize("path", ["notes.txt", "page.html", "metrics.json", "model.pkl"])
def test_recorded_files_are_sandboxed_downloads(ui_server: UiServer, path: str) -> None:
    run = ui_server.store.runs["run-0"]
    response = httpx.get(f"{ui_server.url}/api/v1/runs/{run}/artifacts/out/{path}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == f'attachment; filename="{path}"'
    assert_sandboxed(response)


def test_recorded_images_are_shown_sandboxed(ui_server: UiServer) -> None:
    run = ui_server.store.runs["run-0"]
    response = httpx.get(f"{ui_server.url}/api/v1/runs/{run}/artifacts/out/plots/dot.png")
    assert response.headers["content-type"] == "image/png"
    assert "content-disposition" not in response.headers
    assert_sandboxed(response)


def test_the_recorded_patch_is_sandboxed_text(ui_server: UiServer) -> None:
    response = httpx.get(f"{ui_server.url}/api/v1/runs/{ui_server.store.dirty_run}/patch")
    assert response.headers["content-type"].startswith("text/plain")
    assert_sandboxed(response)


def assert_sandboxed(response: httpx.Response) -> None:
    """A sandbox with no permission (no scripts, no origin) and no network."""
    directives = policy(response)
    assert directives["sandbox"] == []
    assert directives["default-src"] == ["'none'"]
    assert "script-src" not in directives
    assert_secured(response)


def test_a_crash_is_a_bare_500_with_the_headers(ui_store: UiStore) -> None:
    app = create_app(ui_store.root)

    @app.get("/api/v1/crash")
    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("a bug in a route, with /secret/paths in its message")

    served = secured(app, served_hosts("127.0.0.1"))
    with TestClient(served, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        for path in ["/crash", "/api/v1/crash"]:
            response = client.get(path)
            assert response.status_code == 500
            assert response.text == "Internal Server Error"
            assert_secured(response)
