"""HTML escaping: a run whose name, param, tag, metric key and patch hold
``<script>alert("xss")</script>`` shows that text, as text, on every page that shows them.

Each page is fetched as a browser would (and as htmx asks for its fragments); the raw tag never
appears, every script is a file under ``/static`` (nothing inline, no ``on*`` handler, no
``javascript:`` URL), and the hostile text is there, escaped, where a user would read it.
"""

from __future__ import annotations

import itertools
from html.parser import HTMLParser
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from samerun.web.app import create_app
from tests.web.conftest import XSS, UiServer
from tests.web.test_security_traversal import route_paths

ESCAPED = str(escape(XSS))


class Document(HTMLParser):
    """A page as a browser reads it: its text, its attributes and its scripts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []  # every non-blank text node, stripped, entities decoded
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value decoded)
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []  # what a <script> element holds between its tags
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)
        elif data.strip():
            self.texts.append(data.strip())

    def follows(self, label: str, value: str) -> bool:
        """Whether a text node ``label`` is followed by a text node ``value`` (a table row)."""
        return any(a == label and b == value for a, b in itertools.pairwise(self.texts))


def fetch(server: UiServer, path: str) -> Document:
    """The page at ``path``, checked for what would run an attacker's script."""
    response = httpx.get(server.url + path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
    return safe(path, response.text)


def safe(path: str, html: str) -> Document:
    """``html`` read, once checked that no script of an attacker's can run in it."""
    assert XSS not in html, f"{path} holds the script unescaped"
    page = Document(html)
    assert not page.inline, f"{path} has an inline script: {page.inline[:1]}"
    for script in page.scripts:
        assert "/static/" in (script.get("src") or ""), f"{path}: a script not from /static"
    handlers = [(tag, name) for tag, name, _ in page.attributes if name.startswith("on")]
    assert not handlers, f"{path}: event handler attributes {handlers}"
    urls = [v for _, name, v in page.attributes if name in ("href", "src", "action", "hx-get")]
    assert not [url for url in urls if url.strip().lower().startswith("javascript:")], path
    return page


def test_runs_page_shows_the_name_param_tag_and_metric_key_as_text(ui_server: UiServer) -> None:
    metric = quote(f"metrics.`{XSS}`", safe="")
    page = fetch(ui_server, f"/?col=params.note&col=tags.owner&col={metric}&sort=name")
    # in the name cell, the note, owner and metric cells and the metric's column header
    assert page.texts.count(XSS) >= 4, page.texts
    assert ESCAPED in httpx.get(ui_server.url + "/").text


def test_run_page_shows_every_hostile_field_as_text(ui_server: UiServer) -> None:
    page = fetch(ui_server, f"/runs/{ui_server.store.dirty_run}")
    assert any(XSS in text for text in page.texts[:20]), "the run's name, at the top"
    assert f"owner={XSS}" in page.texts, "the tag"
    assert page.follows("note", XSS), "the param"
    assert page.follows(XSS, "0.5"), "the metric key, then its value"
    assert f"+# {XSS}" in page.texts, "the patch's added line"


def test_compare_page_shows_every_hostile_field_as_text(ui_server: UiServer) -> None:
    runs = ui_server.store.runs
    page = fetch(ui_server, f"/compare?run={ui_server.store.dirty_run}&run={runs['run-0']}")
    assert XSS in page.texts, "the run's name"
    assert page.follows("note", XSS), "the param"
    assert page.follows(XSS, "0.5"), "the metric key, then the dirty run's value"


def test_recorded_html_is_shown_escaped_inside_a_sandbox(ui_server: UiServer) -> None:
    run = ui_server.store.runs["run-0"]
    response = httpx.get(f"{ui_server.url}/runs/{run}/preview/out/page.html")
    assert response.status_code == 200
    assert "<script>parent.alert(1)" not in response.text
    frame = {
        name: value
        for tag, name, value in safe("preview", response.text).attributes
        if tag == "iframe"
    }
    assert frame["sandbox"] == "", "a sandbox with no permission at all"
    assert "<h1>report</h1>" in frame["srcdoc"]


@pytest.mark.parametrize("fragment", [False, True])
def test_no_page_or_fragment_shows_the_script_raw(ui_server: UiServer, fragment: bool) -> None:
    store = ui_server.store
    values = {"ref": store.dirty_run, "path": "out/page.html", "index": "0"}
    shown = []
    routes = route_paths(create_app(store.root).routes)
    pages = [path for path in routes if not path.startswith("/api/")]
    for template in pages:
        path = template
        for name, value in values.items():
            path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:path}}", value)
        if "{" in path or path.startswith("/static"):
            continue
        query = f"?run={store.dirty_run}&run={store.runs['run-0']}" if path == "/compare" else ""
        headers = {"hx-request": "true"} if fragment else {}
        response = httpx.get(ui_server.url + path + query, headers=headers)
        if response.headers.get("content-type", "").startswith("text/html"):
            safe(path, response.text)
            shown.append(path)
    assert {"/", f"/runs/{store.dirty_run}", "/compare"} <= set(shown)


def test_what_a_url_says_is_escaped_on_the_error_page(ui_server: UiServer) -> None:
    hostile = quote(XSS, safe="")
    for path in [f"/runs/{hostile}", f"/?filter={hostile}", f"/compare?run={hostile}&run=x"]:
        response = httpx.get(ui_server.url + path)
        assert response.status_code in (400, 404)
        safe(path, response.text)
        assert ESCAPED in response.text
