"""The shared registry on the team server: a project's writers register versions from its runs
and move aliases, its maintainers protect them, readers see them; another project's members see
nothing of them; every move reaches the webhooks, signed."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import samerun
from samerun.server.app import serve_server_app
from samerun.server.webhooks import SIGNATURE_HEADER, Webhook, signature
from samerun.store.engine import create_engine
from tests.conftest import Receiver
from tests.server.conftest import BASE, Team, file_under

SECRET = "s3cret-for-the-receiver-only"


@pytest.fixture
def model_run(team: Team, project: Path) -> str:
    """A run of project alpha that wrote model.pkl."""
    model = project / "model.pkl"
    model.write_bytes(b"weights v1")
    with samerun.start_run(name="train", seed=1) as run:
        samerun.log_artifact(model)
    engine = create_engine(team.metadata)
    file_under(engine, team.objects, run.id, "alpha")
    engine.dispose()
    return run.id


@pytest.fixture
def hooked(team: Team, receiver: Receiver) -> Iterator[TestClient]:
    app = serve_server_app(
        team.metadata, team.objects, "127.0.0.1", webhooks=[Webhook(receiver.url, SECRET)]
    )
    with TestClient(app, base_url=BASE, follow_redirects=False) as found:
        yield found


def bearer(team: Team, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {team.tokens[user]}"}


MODELS = "/api/v1/projects/alpha/models"


def test_writers_register_and_move_maintainers_protect_readers_read(
    hooked: TestClient, team: Team, model_run: str, receiver: Receiver
) -> None:
    client = hooked
    body = {"run": model_run, "artifacts": ["model.pkl"], "description": "first"}
    refused = client.post(f"{MODELS}/churn/versions", json=body, headers=bearer(team, "reader"))
    assert refused.status_code == 403
    made = client.post(f"{MODELS}/churn/versions", json=body, headers=bearer(team, "writer"))
    assert made.status_code == 200, made.text
    assert (made.json()["version"], made.json()["created_by"]) == (1, "writer")
    again = client.post(f"{MODELS}/churn/versions", json=body, headers=bearer(team, "writer"))
    assert again.json()["version"] == 2

    alias = f"{MODELS}/churn/aliases/production"
    moved = client.put(
        alias, json={"version": 1, "reason": "first"}, headers=bearer(team, "writer")
    )
    assert moved.status_code == 200, moved.text
    protect = client.put(
        f"{alias}/protection", json={"protected": True}, headers=bearer(team, "writer")
    )
    assert protect.status_code == 403  # protecting is a maintainer's
    protect = client.put(
        f"{alias}/protection", json={"protected": True}, headers=bearer(team, "maintainer")
    )
    assert protect.json() == {"model": "churn", "protected": ["production"]}
    blocked = client.put(alias, json={"version": 2}, headers=bearer(team, "writer"))
    assert blocked.status_code == 403
    assert "protected" in blocked.json()["error"]
    done = client.put(
        alias, json={"version": 2, "reason": "v2 wins"}, headers=bearer(team, "maintainer")
    )
    assert done.status_code == 200

    shown = client.get(f"{MODELS}/churn", headers=bearer(team, "reader")).json()
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["aliases"] == {"production": 2}
    assert shown["protected"] == ["production"]
    history = client.get(f"{MODELS}/churn/history", headers=bearer(team, "reader")).json()
    assert [(e["actor"], e["to_version"]) for e in history["events"]] == [
        ("writer", 1),
        ("maintainer", 2),
    ]
    listed = client.get("/api/v1/models", headers=bearer(team, "reader")).json()
    assert [m["name"] for m in listed["models"]] == ["churn"]

    hooks = receiver.wait_for(2)
    payloads = [json.loads(r.body) for r in hooks]
    assert [(p["event"], p["to_version"], p["actor"]) for p in payloads] == [
        ("alias.moved", 1, "writer"),
        ("alias.moved", 2, "maintainer"),
    ]
    assert payloads[1]["from_version"] == 1
    assert payloads[1]["reason"] == "v2 wins"
    assert payloads[1]["project"] == "alpha"
    for received in hooks:
        assert hmac.compare_digest(
            received.headers[SIGNATURE_HEADER], signature(SECRET, received.body)
        )
        assert SECRET not in received.body.decode()


def test_another_projects_members_see_and_touch_nothing(
    hooked: TestClient, team: Team, model_run: str
) -> None:
    client = hooked
    body = {"run": model_run, "artifacts": ["model.pkl"]}
    assert (
        client.post(
            f"{MODELS}/churn/versions", json=body, headers=bearer(team, "writer")
        ).status_code
        == 200
    )
    outsider = bearer(team, "outsider")
    assert client.get("/api/v1/models", headers=outsider).json() == {"models": []}
    assert 'href="/models/churn"' in client.get("/models", headers=bearer(team, "reader")).text
    assert 'href="/models/churn"' not in client.get("/models", headers=outsider).text
    assert client.get("/models/churn", headers=outsider).status_code == 400
    assert client.get(f"{MODELS}/churn", headers=outsider).status_code == 403
    beta = "/api/v1/projects/beta/models/churn"
    assert client.get(beta, headers=outsider).status_code == 400  # not a model of beta
    stolen = client.post(f"{beta}/versions", json=body, headers=outsider)
    assert stolen.status_code == 403  # a reader of beta writes nothing
    # a writer of alpha cannot register from a run of beta
    beta_run = {"run": team.beta_run}
    assert (
        client.post(
            f"{MODELS}/other/versions", json=beta_run, headers=bearer(team, "writer")
        ).status_code
        == 404
    )
