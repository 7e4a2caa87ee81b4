from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import Team


def test_no_origin_gets_cors_headers(client: TestClient, team: Team) -> None:
    bearer = {"authorization": f"Bearer {team.tokens['reader']}"}
    for origin in ("http://evil.example", "http://127.0.0.1", "null"):
        for method, path in (
            ("GET", "/api/v1/runs"),
            ("OPTIONS", "/api/v1/runs"),
            ("GET", "/login"),
        ):
            headers = {**bearer, "origin": origin, "access-control-request-method": "GET"}
            done = client.request(method, path, headers=headers)
            assert not [h for h in done.headers if h.lower().startswith("access-control-")]


def test_a_foreign_host_is_refused(client: TestClient, team: Team) -> None:
    bearer = {"authorization": f"Bearer {team.tokens['reader']}"}
    done = client.get("/api/v1/runs", headers={**bearer, "host": "evil.example"})
    assert done.status_code == 400
    assert team.alpha_run not in done.text
