"""The app factory: the store it opens at start-up and closes at exit, what it serves and does
not, and how every error becomes one message (JSON for the API, a page for a person)."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient

from samerun._exceptions import FilterError, RunNotFound, SamerunError, StoreError, UsageError
from samerun.web.app import create_app, status_of
from samerun.web.security import secured, served_hosts
from tests.web.conftest import UiServer, UiStore


def open_databases(root: Path) -> list[str]:
    """The store's files this process holds open."""
    store = str(root / ".samerun")
    return [f.path for f in psutil.Process().open_files() if f.path.startswith(store)]


def test_the_store_is_open_while_serving_and_closed_at_exit(ui_store: UiStore) -> None:
    app = create_app(ui_store.root)
    assert open_databases(ui_store.root) == []  # building the app opens nothing
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/keys").status_code == 200
        assert open_databases(ui_store.root) != []
    assert open_databases(ui_store.root) == []
    with pytest.raises(StoreError, match="closed database"):
        app.state.reader.runs()


def test_the_schema_is_served_and_no_docs_page_that_would_load_a_cdn(ui_store: UiStore) -> None:
    with TestClient(create_app(ui_store.root), base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "samerun"
        for path in ["/docs", "/redoc", "/openapi.json"]:
            assert client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (RunNotFound("run 'x': no run matches it"), 404),
        (UsageError("limit must be at least 1"), 400),
        (FilterError("a >", 3, "expected a value"), 400),
        (StoreError("the store is locked"), 500),
        (SamerunError("something else"), 500),
    ],
)
def test_each_error_answers_its_status(err: SamerunError, status: int) -> None:
    assert status_of(err) == status


@pytest.fixture
def failing(ui_store: UiStore) -> Iterator[TestClient]:
    """The app with routes that raise ``err`` (a query parameter naming the error), at a page
    URL and an API URL."""
    app = create_app(ui_store.root)
    errors = {"usage": UsageError("the filter is <b>bad</b>"), "store": StoreError("locked")}

    async def fail(kind: str) -> None:
        raise errors[kind]

    app.add_api_route("/failing", fail)
    app.add_api_route("/api/v1/failing", fail)
    with TestClient(secured(app, served_hosts("127.0.0.1")), base_url="http://127.0.0.1") as client:
        yield client


def test_an_api_error_is_one_json_sentence(failing: TestClient) -> None:
    response = failing.get("/api/v1/failing", params={"kind": "usage"})
    assert response.status_code == 400
    assert response.json() == {"error": "the filter is <b>bad</b>"}
    response = failing.get("/api/v1/failing", params={"kind": "store"})
    assert (response.status_code, response.json()) == (500, {"error": "locked"})


def test_a_page_error_is_an_escaped_page(failing: TestClient) -> None:
    response = failing.get("/failing", params={"kind": "usage"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert '<p class="message">the filter is &lt;b&gt;bad&lt;/b&gt;</p>' in response.text


def test_unknown_urls_and_bad_parameters_answer_like_any_error(failing: TestClient) -> None:
    page = failing.get("/no/such/page")
    assert page.status_code == 404
    assert '<p class="message">nothing at /no/such/page</p>' in page.text
    assert failing.get("/api/v1/failing").json() == {"error": "kind: field required"}
    assert failing.get("/api/v1/failing").status_code == 400
    moved = failing.post("/api/v1/keys")
    assert moved.status_code == 405
    assert moved.headers["allow"] == "GET"


def test_pages_and_scripts_are_compressed_for_a_browser_that_asks(ui_server: UiServer) -> None:
    for path in ("/", "/static/vendor/htmx.min.js"):
        request = urllib.request.Request(ui_server.url + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            body = response.read()
            assert response.headers["Content-Encoding"] == "gzip"
        assert len(gzip.decompress(body)) > 3 * len(body)
