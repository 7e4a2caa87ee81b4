from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import BASE, Team, sign_in


def test_a_cross_origin_form_post_is_refused(client: TestClient, team: Team) -> None:
    token = sign_in(client, team, "writer")
    for origin in ("http://evil.example", "null"):
        done = client.post("/logout", data={"csrf_token": token}, headers={"origin": origin})
        assert done.status_code == 403
    done = client.post("/logout", data={"csrf_token": token})  # no Origin, no Referer
    assert done.status_code == 403
    assert client.get("/api/v1/session").status_code == 200  # still signed in
    done = client.post("/login", data={"name": "writer", "password": team.passwords["writer"]},
                       headers={"origin": "http://evil.example"})  # fmt: skip
    assert done.status_code == 403
    assert "set-cookie" not in done.headers


def test_a_text_plain_post_is_refused(client: TestClient, team: Team) -> None:
    body = f"name=writer&password={team.passwords['writer']}"
    done = client.post(
        "/login", content=body, headers={"content-type": "text/plain", "origin": BASE}
    )
    assert done.status_code == 415
    assert "set-cookie" not in done.headers
    token = sign_in(client, team, "writer")
    path = f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags"
    sent = {"origin": BASE, "x-csrf-token": token, "content-type": "text/plain"}
    assert client.put(path, content='{"a": "b"}', headers=sent).status_code == 415


def test_a_cookie_write_needs_the_sessions_token(client: TestClient, team: Team) -> None:
    token = sign_in(client, team, "writer")
    path = f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags"
    assert client.put(path, json={"a": "b"}, headers={"origin": BASE}).status_code == 403
    wrong = {"origin": BASE, "x-csrf-token": "0" * 64}
    assert client.put(path, json={"a": "b"}, headers=wrong).status_code == 403
    right = {"origin": BASE, "x-csrf-token": token}
    assert client.put(path, json={"a": "b"}, headers=right).json() == {"tags": {"a": "b"}}
    done = client.post("/logout", data={"csrf_token": token}, headers={"origin": BASE})
    assert done.status_code == 303
    assert client.get("/api/v1/session").status_code == 401
