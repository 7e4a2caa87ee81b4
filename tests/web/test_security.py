"""The names a server answers to for each address it may bind, and the headers' middleware."""

from __future__ import annotations

import socket

import psutil
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from samerun.web.security import ARTIFACT_CSP, PAGE_CSP, secured, served_hosts

LOOPBACK = ["127.0.0.1", "[::1]", "localhost"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_bound_to_loopback_it_answers_the_loopback_names_only(host: str) -> None:
    assert served_hosts(host) == LOOPBACK


def test_bound_to_one_address_it_answers_that_address_and_the_machines_name() -> None:
    assert served_hosts("192.0.2.7") == sorted(["192.0.2.7", socket.gethostname().lower()])
    assert served_hosts("fd00::7") == sorted(["[fd00::7]", socket.gethostname().lower()])


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_bound_to_every_interface_it_answers_each_of_their_addresses(host: str) -> None:
    names = served_hosts(host)
    assert set(LOOPBACK) <= set(names)
    assert socket.gethostname().lower() in names
    assert ("0.0.0.0" if host == "0.0.0.0" else "[::]") in names  # the URL samerun ui prints
    for addresses in psutil.net_if_addrs().values():
        for found in addresses:
            if found.family == socket.AF_INET:
                assert found.address in names
            elif found.family == socket.AF_INET6:
                assert f"[{found.address.split('%')[0]}]" in names  # no zone in a Host header


def app_with(headers: dict[str, str]) -> TestClient:
    async def route(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok", headers=headers)

    app = secured(Starlette(routes=[Route("/", route)]), served_hosts("127.0.0.1"))
    return TestClient(app, base_url="http://127.0.0.1")


def test_every_response_gets_the_headers_and_the_pages_policy() -> None:
    response = app_with({}).get("/")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_routes_own_stricter_policy_is_kept() -> None:
    response = app_with({"content-security-policy": ARTIFACT_CSP}).get("/")
    assert response.headers.get_list("content-security-policy") == [ARTIFACT_CSP]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_host_check_refuses_before_the_route_and_with_the_headers() -> None:
    response = app_with({}).get("/", headers={"host": "evil.example"})
    assert (response.status_code, response.text) == (400, "Invalid host header")
    assert response.headers["x-frame-options"] == "DENY"
