"""DNS rebinding and reach: ``samerun ui`` answers only to its own names, and only this machine
can connect to it unless told otherwise.

A page on another site whose name is made to resolve to 127.0.0.1 sends its own name as
``Host``; the server refuses it (400) before any route runs, on pages, API and static files
alike. The server started without ``--host`` listens on 127.0.0.1 and nowhere else.
"""

from __future__ import annotations

import socket

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from samerun.web.app import serve_app
from tests.web.conftest import UiServer, UiStore

PATHS = ["/", "/api/v1/runs", "/api/v1/openapi.json", "/static/app.css", "/no/such/page"]
FOREIGN = [
    "evil.example",
    "evil.example:{port}",
    "127.0.0.1.evil.example:{port}",
    "localhost.evil.example",
    "127.0.0.1:{port}@evil.example",
    "evil.example#127.0.0.1",
    "",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_foreign_host_reaches_nothing(ui_server: UiServer, path: str) -> None:
    for host in FOREIGN:
        response = httpx.get(
            ui_server.url + path, headers={"host": host.format(port=ui_server.port)}
        )
        assert response.status_code == 400, (host, path)
        assert response.text == "Invalid host header"


@pytest.mark.parametrize("path", PATHS[:4])
def test_the_names_of_this_machine_are_served(ui_server: UiServer, path: str) -> None:
    for host in ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"]:
        response = httpx.get(
            ui_server.url + path, headers={"host": host.format(port=ui_server.port)}
        )
        assert response.status_code == 200, (host, path)


def test_by_default_it_listens_on_127_0_0_1_only(ui_server: UiServer) -> None:
    listening = [
        conn.laddr.ip
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == ui_server.port
    ]
    assert listening == ["127.0.0.1"]
    elsewhere = ["127.0.0.2", "::1"] + [
        found.address
        for addresses in psutil.net_if_addrs().values()
        for found in addresses
        if found.family in (socket.AF_INET, socket.AF_INET6)
        and found.address != "127.0.0.1"
        and "%" not in found.address
    ]
    for address in elsewhere:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, ui_server.port), timeout=5).close()


def test_bound_to_every_interface_it_answers_its_addresses_not_other_names(
    ui_store: UiStore,
) -> None:
    own = [
        found.address
        for addresses in psutil.net_if_addrs().values()
        for found in addresses
        if found.family == socket.AF_INET
    ]
    app = serve_app(ui_store.root, "0.0.0.0")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for address in [*own, "localhost", socket.gethostname()]:
            response = client.get("/api/v1/keys", headers={"host": f"{address}:5005"})
            assert response.status_code == 200, address
        assert client.get("/api/v1/keys", headers={"host": "evil.example"}).status_code == 400
