"""What the server stores is what was sent and hashes to its name: a mismatched object, a run
whose objects are missing, a run the caller may not write or read are refused, nothing kept."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from samerun.hashing import hash_bytes
from samerun.sync import PACK_BYTES, pack
from tests.server.conftest import Team

OCTETS = {"content-type": "application/octet-stream"}


def auth(team: Team, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {team.tokens[user]}"}


def test_an_object_that_does_not_hash_to_its_name_is_refused(
    client: TestClient, team: Team
) -> None:
    oid = hash_bytes(b"what was promised")
    put = f"/api/v1/projects/alpha/objects/{oid}"
    refused = client.put(put, content=b"something else", headers={**auth(team, "writer"), **OCTETS})
    assert refused.status_code == 400
    assert "does not hash to" in refused.json()["error"]
    assert not list(Path(team.objects).rglob(oid.removeprefix("blake3:")[2:] + "*"))
    missing = client.post(
        "/api/v1/projects/alpha/objects/missing", json={"oids": [oid]}, headers=auth(team, "writer")
    )
    assert missing.json() == {"missing": [oid]}
    reader = client.put(
        put, content=b"what was promised", headers={**auth(team, "reader"), **OCTETS}
    )
    assert reader.status_code == 403
    stored = client.put(
        put, content=b"what was promised", headers={**auth(team, "writer"), **OCTETS}
    )
    assert stored.status_code == 200, stored.text
    fetched = client.get(f"/api/v1/projects/alpha/objects/{oid}", headers=auth(team, "reader"))
    assert fetched.content == b"what was promised"


def test_a_pack_is_stored_whole_or_not_at_all(client: TestClient, team: Team) -> None:
    good, other = b"a metric series", b"a small file"
    good_oid, other_oid = hash_bytes(good), hash_bytes(other)
    writer = {**auth(team, "writer"), **OCTETS}
    lying = pack([(good_oid, good), (other_oid, b"not the small file")])
    for body, says in [
        (lying, "do not hash to it"),
        (pack([(good_oid, good)])[:-3], "malformed"),
        (pack([("../../etc/passwd", good)]), "not an object id"),
    ]:
        refused = client.post("/api/v1/projects/alpha/objects", content=body, headers=writer)
        assert refused.status_code == 400, refused.text
        assert says in refused.json()["error"]
    big = b"x" * (PACK_BYTES // 2 + 1)
    too_much = pack([(hash_bytes(big), big), (hash_bytes(big + b"y"), big + b"y")])
    over = client.post("/api/v1/projects/alpha/objects", content=too_much, headers=writer)
    assert over.status_code == 413
    for oid in (good_oid, other_oid, hash_bytes(big)):
        assert not list(Path(team.objects).rglob(oid.removeprefix("blake3:")[2:] + "*"))
    reader = client.post(
        "/api/v1/projects/alpha/objects",
        content=pack([(good_oid, good), (other_oid, other)]),
        headers={**auth(team, "reader"), **OCTETS},
    )
    assert reader.status_code == 403
    stored = client.post(
        "/api/v1/projects/alpha/objects",
        content=pack([(good_oid, good), (other_oid, other)]),
        headers=writer,
    )
    assert stored.json() == {"stored": 2}, stored.text
    for oid, data in ((good_oid, good), (other_oid, other)):
        fetched = client.get(f"/api/v1/projects/alpha/objects/{oid}", headers=auth(team, "reader"))
        assert fetched.content == data
        elsewhere = client.get(
            f"/api/v1/projects/beta/objects/{oid}", headers=auth(team, "outsider")
        )
        assert elsewhere.status_code == 404  # granted to alpha only


def test_a_run_is_refused_unless_whole_and_the_callers_to_write(
    client: TestClient, team: Team
) -> None:
    writer = auth(team, "writer")
    got = client.get(f"/api/v1/projects/alpha/runs/{team.alpha_run}/manifest", headers=writer)
    manifest = got.json()
    new_id = uuid.uuid4().hex
    incomplete = {
        **manifest,
        "id": new_id,
        "outputs": {
            **manifest["outputs"],
            "artifacts": [
                {"path": "x", "oid": hash_bytes(b"never sent"), "size": 1, "kind": "file"}
            ],
        },
    }
    runs = "/api/v1/projects/alpha/runs"
    refused = client.post(runs, json={"manifest": incomplete, "tags": {}}, headers=writer)
    assert refused.status_code == 409
    assert hash_bytes(b"never sent") in refused.json()["error"]
    whole = {"manifest": {**manifest, "id": new_id}, "tags": {"from": "laptop"}}
    reader = client.post(runs, json=whole, headers=auth(team, "reader"))
    assert reader.status_code == 403
    for _ in range(2):  # what a retried push does: no duplicate, no error
        assert client.post(runs, json=whole, headers=writer).status_code == 200
    listed = client.get("/api/v1/runs?project=alpha", headers=writer).json()
    assert sorted(r["id"] for r in listed["runs"]) == sorted([team.alpha_run, new_id])
    changed = {"manifest": {**manifest, "id": new_id, "name": "other"}, "tags": {}}
    assert client.post(runs, json=changed, headers=writer).status_code == 409
    outsider = auth(team, "outsider")
    stranger = client.get(f"/api/v1/projects/alpha/runs/{new_id}/manifest", headers=outsider)
    assert stranger.status_code == 403
    into_beta = client.post("/api/v1/projects/beta/runs", json=whole, headers=outsider)
    assert into_beta.status_code == 403
