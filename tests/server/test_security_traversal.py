"""Path traversal against the team server: every route with a path parameter (walked from the
server's app, so a new route is probed too) gets ``../``, ``..\\``, ``%2e%2e%2f``,
``%252e%252e%252f``, overlong UTF-8, absolute paths, NUL and ``#``/``?`` tricks in each
parameter (run refs, artifact paths, object ids, metric keys, project names), sent as raw
request lines by a signed-in writer of project alpha. Each answers 400, 403 or 404, and no
canary (beside the server's object directory), no object of project beta, nothing of the
system and none of the server's code appears in a response."""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import samerun.server.app
from samerun.server.app import create_server_app
from tests.server.conftest import BETA_SECRET, Team
from tests.web.test_security_traversal import absolute, route_paths, spellings

OUTSIDE = "CANARY-beside-the-server-objects"
NEVER_SERVED = [OUTSIDE, BETA_SECRET, "root:x:0:0", "def create_server_app("]
TARGETS = ["../secret.txt", "../../secret.txt", "../" * 12 + "etc/passwd", "../app.py"]


@pytest.fixture
def canary(team: Team) -> Iterator[Path]:
    outside = Path(team.objects).parent / "secret.txt"
    outside.write_text(OUTSIDE)
    yield outside
    outside.unlink()


def path_routes(team: Team) -> list[tuple[str, str]]:
    """(method, path) of every route of the server whose path holds a parameter."""
    app = create_server_app(team.metadata, team.objects)
    found = []
    for route in app.routes:
        methods = getattr(route, "methods", None) or {"GET"}
        for path in route_paths([route]):
            if "{" in path:
                clean = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path)
                found += [(method, clean) for method in sorted(methods & {"GET", "PUT"})]
    return found


def fill(template: str, team: Team, **given: str) -> str:
    valid = {
        "ref": team.alpha_run,
        "project": "alpha",
        "key": "loss",
        "path": "out.txt",
        "oid": "blake3:" + "0" * 64,
        "index": "0",
    }
    return re.sub(r"\{(\w+)\}", lambda m: given.get(m[1], valid.get(m[1], "x")), template)


def raw(url: str, method: str, target: str, token: str) -> tuple[int, bytes]:
    """``METHOD target`` sent as it is written (no normalizing, no quoting)."""
    port = urlsplit(url).port
    assert port is not None
    kind, body = (
        ("application/octet-stream", "body")
        if "/objects/" in target
        else (
            "application/json",
            '{"k": "v"}',
        )
    )
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1"))
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def test_every_path_parameter_of_the_server_is_probed(team: Team) -> None:
    routes = {path for _, path in path_routes(team)}
    assert "/api/v1/projects/{project}/objects/{oid}" in routes
    assert "/api/v1/runs/{ref}/artifacts/{path}" in routes
    assert "/static/{path}" in routes


def test_no_path_parameter_reads_outside_what_the_caller_may_read(
    served: str, team: Team, canary: Path
) -> None:
    hostile = [spelled for target in TARGETS for spelled in spellings(target)]
    hostile += absolute(canary) + absolute(Path("/etc/passwd"))
    hostile += absolute(Path(samerun.server.app.__file__))
    hostile += [team.beta_run, f"../beta/runs/{team.beta_run}", "beta%2fobjects"]
    answered = {}
    for method, template in path_routes(team):
        for name in re.findall(r"\{(\w+)\}", template):
            for value in hostile:
                target = fill(template, team, **{name: value})
                status, body = raw(served, method, target, team.tokens["writer"])
                leaked = [canary for canary in NEVER_SERVED if canary.encode() in body]
                assert not leaked, f"{method} {target} served {leaked}"
                answered[f"{method} {target}"] = status
    refused = {t: status for t, status in answered.items() if status not in (400, 403, 404, 405)}
    assert not refused, f"answered neither 400, 403, 404 nor 405: {refused}"
    assert len(answered) > 500
    assert not list(Path(team.objects).rglob("*body*"))  # no PUT wrote anything anywhere
