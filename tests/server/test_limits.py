"""The server's request limits: a body past the limit is refused before any route reads it,
whether or not the client says its length; filters past theirs get one sentence."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from samerun.api import MAX_TAG_VALUE_BYTES
from samerun.query import MAX_COMPARISONS
from samerun.server.limits import MAX_BODY_BYTES
from tests.server.conftest import Team


def bearer(team: Team, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {team.tokens[user]}", "content-type": "application/json"}


def test_a_body_past_the_limit_gets_413_and_nothing_is_written(
    client: TestClient, team: Team
) -> None:
    runs = "/api/v1/projects/alpha/runs"
    padding = "x" * MAX_BODY_BYTES
    body = f'{{"manifest": {{"id": "{"c" * 32}", "pad": "{padding}"}}, "tags": {{}}}}'
    said = client.post(runs, content=body, headers=bearer(team, "writer"))
    assert said.status_code == 413
    assert said.json() == {"error": "a request body may be at most 16 MiB"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"manifest": {"pad": "'
        for _ in range(MAX_BODY_BYTES // (1024 * 1024) + 1):
            yield b"x" * (1024 * 1024)
        yield b'"}, "tags": {}}'

    streamed = client.post(runs, content=chunks(), headers=bearer(team, "writer"))
    assert streamed.status_code == 413
    listed = client.get("/api/v1/runs?project=alpha", headers=bearer(team, "writer")).json()
    assert [r["id"] for r in listed["runs"]] == [team.alpha_run]


def test_a_body_within_the_limit_reaches_its_route(client: TestClient, team: Team) -> None:
    tags = f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags"
    long = client.put(
        tags, content='{"stage": "' + "y" * 1024 * 1024 + '"}', headers=bearer(team, "writer")
    )
    assert long.status_code == 400  # read, and refused by the route: tags are short
    assert f"at most {MAX_TAG_VALUE_BYTES} bytes" in long.json()["error"]
    fits = client.put(
        tags,
        content='{"stage": "' + "y" * MAX_TAG_VALUE_BYTES + '"}',
        headers=bearer(team, "writer"),
    )
    assert fits.status_code == 200


def test_a_filter_past_its_limit_is_a_400_in_one_sentence(client: TestClient, team: Team) -> None:
    too_many = " and ".join(["metrics.loss > 0"] * (MAX_COMPARISONS + 1))
    said = client.get("/api/v1/runs", params={"filter": too_many}, headers=bearer(team, "reader"))
    assert said.status_code == 400
    assert f"at most {MAX_COMPARISONS} comparisons" in said.json()["error"]
    deep = "(" * 5000 + "name = 'x'" + ")" * 5000
    said = client.get("/api/v1/runs", params={"filter": deep}, headers=bearer(team, "reader"))
    assert said.status_code == 400
