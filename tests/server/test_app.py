from __future__ import annotations

from fastapi.testclient import TestClient

from samerun.server.app import local_path
from tests.server.conftest import BASE, Team, sign_in


def test_signing_in_sets_a_strict_session_cookie_and_goes_where_asked(
    client: TestClient, team: Team
) -> None:
    assert (
        client.get(f"/runs/{team.alpha_run}").headers["location"]
        == f"/login?next=/runs/{team.alpha_run}"
    )
    assert "Sign in" in client.get("/login").text
    done = client.post(
        "/login",
        data={
            "name": "reader",
            "password": team.passwords["reader"],
            "next": f"/runs/{team.alpha_run}",
        },
        headers={"origin": BASE},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/runs/{team.alpha_run}"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie
    assert "alpha-run" in client.get(f"/runs/{team.alpha_run}").text


def test_after_signing_in_only_local_paths_are_followed() -> None:
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "", None):
        assert local_path(target) == "/"
    assert local_path("/runs/abc?x=1") == "/runs/abc?x=1"


def test_the_data_page_is_not_served_nor_linked_and_sign_out_is(
    client: TestClient, team: Team
) -> None:
    bearer = {"authorization": f"Bearer {team.tokens['reader']}"}
    assert client.get("/data", headers=bearer).status_code == 404
    page = client.get("/", headers=bearer).text
    assert 'href="/data"' not in page
    assert 'href="/logout"' in page


def test_signing_in_as_someone_else_while_signed_in_works(client: TestClient, team: Team) -> None:
    sign_in(client, team, "reader")
    assert client.get("/api/v1/session").json()["user"] == "reader"
    again = client.post(
        "/login",
        data={"name": "writer", "password": team.passwords["writer"], "next": "/"},
        headers={"origin": BASE},
    )
    assert again.status_code == 303
    assert client.get("/api/v1/session").json()["user"] == "writer"
    stranger = client.post(
        "/login",
        data={"name": "reader", "password": team.passwords["reader"], "next": "/"},
        headers={"origin": "https://evil.example"},
    )
    assert stranger.status_code == 403  # still only from this server's own pages
