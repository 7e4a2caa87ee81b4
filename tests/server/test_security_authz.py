"""Every route x every role x a project the user is not a member of: nothing of project beta
reaches a member of alpha, whatever the route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from samerun.server.projects import ROLES
from samerun.store.objects import open_object_store
from samerun.sync import MAX_OIDS_PER_REQUEST
from tests.server.conftest import BETA_SECRET, Team

#: An object id no object has.
OID = "blake3:" + "0" * 64
#: Each route of the server (the path walk in test_policy checks the list is whole), as
#: (method, path template, permission, JSON body).
ROUTES: list[tuple[str, str, str, object]] = [
    ("GET", "/", "read", None),
    ("GET", "/runs.csv", "read", None),
    ("GET", "/runs/{run}", "read", None),
    ("GET", "/runs/{run}/preview/out.txt", "read", None),
    ("GET", "/runs/{run}/data/0", "read", None),
    ("GET", "/compare?runs={run}&runs={run}", "read", None),
    ("GET", "/models", "read", None),
    ("GET", "/models/churn", "read", None),
    ("GET", "/api/v1/runs", "read", None),
    ("GET", "/api/v1/keys", "read", None),
    ("GET", "/api/v1/runs/{run}", "read", None),
    ("GET", "/api/v1/runs/{run}/metrics/loss/history", "read", None),
    ("GET", "/api/v1/runs/{run}/metrics/loss/csv", "read", None),
    ("GET", "/api/v1/runs/{run}/patch", "read", None),
    ("GET", "/api/v1/runs/{run}/artifacts/out.txt", "read", None),
    ("GET", "/api/v1/session", "read", None),
    ("GET", "/logout", "read", None),
    ("GET", "/api/v1/projects/{project}/members", "maintain", None),
    ("PUT", "/api/v1/projects/{project}/runs/{run}/tags", "write", {"stage": "x"}),
    ("GET", "/api/v1/projects/{project}/objects", "read", None),
    ("GET", "/api/v1/models", "read", None),
    ("GET", "/api/v1/projects/{project}/models/churn", "read", None),
    ("GET", "/api/v1/projects/{project}/models/churn/history", "read", None),
    ("POST", "/api/v1/projects/{project}/models/churn/versions", "write", {"run": "0" * 32}),
    ("PUT", "/api/v1/projects/{project}/models/churn/aliases/prod", "write", {"version": 1}),
    (
        "PUT",
        "/api/v1/projects/{project}/models/churn/aliases/prod/protection",
        "maintain",
        {"protected": True},
    ),
    ("POST", "/api/v1/projects/{project}/objects/missing", "write", {"oids": [OID]}),
    ("PUT", "/api/v1/projects/{project}/objects/{oid}", "write", None),
    ("POST", "/api/v1/projects/{project}/objects", "write", None),
    ("POST", "/api/v1/projects/{project}/runs", "write", {"manifest": {}, "tags": {}}),
    ("GET", "/api/v1/projects/{project}/runs/{run}/manifest", "read", None),
    ("GET", "/api/v1/projects/{project}/objects/{oid}", "read", None),
]
GRANTED = {
    "reader": {"read"},
    "writer": {"read", "write"},
    "maintainer": {"read", "write", "maintain"},
    "admin": {"read", "write", "maintain"},
}


def call(
    client: TestClient, method: str, path: str, token: str | None, body: object
) -> tuple[int, str]:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    done = client.request(method, path, headers=headers, json=body)
    return done.status_code, done.text


@pytest.mark.parametrize(("method", "template", "permission", "body"), ROUTES)
def test_the_matrix(
    client: TestClient, team: Team, method: str, template: str, permission: str, body: object
) -> None:
    own = template.format(run=team.alpha_run, project="alpha", oid=OID)
    other = template.format(run=team.beta_run, project="beta", oid=OID)
    status, _ = call(client, method, own, None, body)
    anonymous = {401, 403} if method == "PUT" else {401 if own.startswith("/api/") else 303}
    assert status in anonymous, (template, "anonymous")
    for user in ROLES:
        token = team.tokens[user]
        status, text = call(client, method, own, token, body)
        if permission in GRANTED[user]:
            assert status not in (401, 403), (template, user, text)
        else:
            assert status == 403, (template, user, status)
        status, text = call(client, method, other, token, body)
        assert BETA_SECRET not in text, (template, user)
        if "{run}" in template or "{project}" in template:
            assert status in (400, 403, 404), (template, user, status)


def test_listings_filter_by_project_in_the_query(client: TestClient, team: Team) -> None:
    alpha = {"authorization": f"Bearer {team.tokens['reader']}"}
    outsider = {"authorization": f"Bearer {team.tokens['outsider']}"}
    listed = client.get("/api/v1/runs", headers=alpha).json()
    assert [r["id"] for r in listed["runs"]] == [team.alpha_run]
    assert listed["total"] == 1
    assert [r["id"] for r in client.get("/api/v1/runs", headers=outsider).json()["runs"]] == [
        team.beta_run
    ]
    assert client.get("/api/v1/runs?project=beta", headers=alpha).status_code == 403
    page = client.get("/", headers=alpha).text
    assert team.alpha_run[:8] in page
    assert team.beta_run[:8] not in page
    for path in (
        "/runs.csv",
        "/api/v1/keys",
        "/api/v1/runs?filter=params.marker%20like%20%27%25beta%25%27",
    ):
        assert BETA_SECRET not in client.get(path, headers=alpha).text
    assert client.get("/api/v1/runs/last", headers=outsider).status_code in (200, 404)


def test_a_write_outside_the_runs_project_changes_nothing(client: TestClient, team: Team) -> None:
    writer = {"authorization": f"Bearer {team.tokens['writer']}"}
    done = client.put(
        f"/api/v1/projects/alpha/runs/{team.beta_run}/tags", json={"x": "y"}, headers=writer
    )
    assert done.status_code == 404
    beta = client.get(
        f"/api/v1/runs/{team.beta_run}",
        headers={"authorization": f"Bearer {team.tokens['outsider']}"},
    )
    assert beta.json()["info"]["tags"] == {}
    done = client.put(
        f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags", json={"x": "y"}, headers=writer
    )
    assert done.json() == {"tags": {"x": "y"}}


def test_an_object_of_another_project_is_neither_read_nor_revealed_by_its_id(
    client: TestClient, team: Team
) -> None:
    """Objects are stored once but granted per project: an alpha member who learns the id of
    one of beta's objects cannot fetch it, learn that the server holds it, or name it in a
    run; sending its bytes (so proving they have it) is what grants it."""
    beta_manifest = client.get(
        f"/api/v1/projects/beta/runs/{team.beta_run}/manifest",
        headers={"authorization": f"Bearer {team.tokens['outsider']}"},
    ).json()
    beta_series = beta_manifest["outputs"]["metrics"]["loss"]["series"]
    writer = {"authorization": f"Bearer {team.tokens['writer']}"}
    fetched = client.get(f"/api/v1/projects/alpha/objects/{beta_series}", headers=writer)
    unknown = client.get(f"/api/v1/projects/alpha/objects/{OID}", headers=writer)
    assert (fetched.status_code, unknown.status_code) == (404, 404)
    assert fetched.json()["error"].replace(beta_series, OID) == unknown.json()["error"]
    asked = client.post(
        "/api/v1/projects/alpha/objects/missing", json={"oids": [beta_series]}, headers=writer
    )
    assert asked.json() == {"missing": [beta_series]}
    alpha_manifest = client.get(
        f"/api/v1/projects/alpha/runs/{team.alpha_run}/manifest", headers=writer
    ).json()
    alpha_manifest["outputs"]["metrics"]["loss"]["series"] = beta_series
    borrowed = {**alpha_manifest, "id": "b" * 32}
    refused = client.post(
        "/api/v1/projects/alpha/runs", json={"manifest": borrowed, "tags": {}}, headers=writer
    )
    assert refused.status_code == 409
    assert beta_series in refused.json()["error"]
    assert client.get("/api/v1/runs/" + "b" * 32, headers=writer).status_code == 404
    same_bytes = open_object_store(team.objects).get_bytes(beta_series)  # a writer who has them
    sent = client.put(
        f"/api/v1/projects/alpha/objects/{beta_series}",
        content=same_bytes,
        headers={**writer, "content-type": "application/octet-stream"},
    )
    assert sent.status_code == 200
    now = client.get(f"/api/v1/projects/alpha/objects/{beta_series}", headers=writer)
    assert now.content == same_bytes


def test_asking_about_too_many_objects_at_once_is_refused(client: TestClient, team: Team) -> None:
    writer = {"authorization": f"Bearer {team.tokens['writer']}"}
    too_many = {"oids": [OID] * (MAX_OIDS_PER_REQUEST + 1)}
    done = client.post("/api/v1/projects/alpha/objects/missing", json=too_many, headers=writer)
    assert done.status_code == 413
    assert str(MAX_OIDS_PER_REQUEST) in done.json()["error"]
