"""Provenance of a model version, read back by samerun and by independent implementations:
securesystemslib's DSSE, and the in-toto attestation protos (Statement v1, SLSA Provenance v1)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from samerun.lineage.attest import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    attest,
    verify_attestation,
)
from samerun.registry import Registry
from samerun.store.project import Project, Store, open_store
from tests.conftest import Cli


@pytest.fixture
def store(project: Path, cli: Cli) -> Iterator[Store]:
    """A project whose run of train.py (lr 0.1) is registered as churn v1."""
    done = cli("record", "-p", "lr=0.1", "-o", "model.pkl", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert cli("model", "register", "churn", "--run", "last").exit_code == 0
    opened = open_store(Project(project))
    try:
        yield opened
    finally:
        opened.close()


def _pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_statement_names_the_files_by_sha256_and_how_they_were_made(
    store: Store, project: Path
) -> None:
    made = attest(store, "churn:1")
    assert made.envelope is None
    statement = json.loads(made.line())
    assert (statement["_type"], statement["predicateType"]) == (STATEMENT_TYPE, PREDICATE_TYPE)
    version = Registry(store).resolve("churn:1")
    [subject] = statement["subject"]
    expected = hashlib.sha256((project / "model.pkl").read_bytes()).hexdigest()
    assert subject == {
        "name": "model.pkl",
        "digest": {"sha256": expected},
        "annotations": {"blake3": version.files[0].oid},
    }
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["params"] == {"lr": 0.1}
    assert build["externalParameters"]["command"] == ["python", "train.py"]
    assert build["internalParameters"]["run"] == version.run_id
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    dependencies = build["resolvedDependencies"]
    assert dependencies[0]["digest"] == {"gitCommit": head}
    assert any(d["uri"].startswith("pkg:pypi/blake3@") for d in dependencies[1:])
    details = statement["predicate"]["runDetails"]
    assert details["metadata"]["invocationId"] == version.run_id
    assert details["metadata"]["finishedOn"].endswith("Z")
    assert verify_attestation(store, made.line()).intact


@pytest.mark.parametrize(
    "key",
    [ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())],
    ids=["ed25519", "ecdsa-p256"],
)
def test_a_signed_envelope_verifies_with_securesystemslib_and_samerun(
    store: Store, key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
) -> None:
    made = attest(store, "churn", key_pem=_pem(key))
    envelope = json.loads(made.line())
    assert envelope["payloadType"] == PAYLOAD_TYPE
    keyid = envelope["signatures"][0]["keyid"]
    independent = Envelope.from_dict(envelope)
    assert keyid in independent.verify([SSlibKey.from_crypto(key.public_key(), keyid)], 1)
    assert json.loads(base64.b64decode(envelope["payload"])) == made.statement
    check = verify_attestation(store, made.line(), public_pem=_public_pem(key))
    assert (check.intact, check.signed, check.keyid, check.subjects) == (True, True, keyid, 1)


def test_a_changed_statement_another_key_or_a_changed_file_is_found(store: Store) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    made = attest(store, "churn:1", key_pem=_pem(key))
    other = ed25519.Ed25519PrivateKey.generate()
    check = verify_attestation(store, made.line(), public_pem=_public_pem(other))
    assert check.findings == ["the signature does not match the statement and the key"]

    forged = json.loads(made.line())
    statement = {**made.statement, "subject": [{**made.statement["subject"][0], "name": "x"}]}
    forged["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    check = verify_attestation(store, json.dumps(forged), public_pem=_public_pem(key))
    assert "the signature does not match the statement and the key" in check.findings

    oid = made.statement["subject"][0]["annotations"]["blake3"]
    path = store.objects.path_of(oid)
    assert path is not None
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"!")
    check = verify_attestation(store, made.line(), public_pem=_public_pem(key))
    assert check.findings == ["subject model.pkl: its file in the store was changed"]


def test_the_statement_and_its_provenance_parse_with_the_in_toto_attestation_protos(
    store: Store,
) -> None:
    store.meta.add_verification(
        run_id=Registry(store).resolve("churn").run_id,
        replay_id=None,
        verdict="identical",
        details={"causes": []},
    )
    made = attest(store, "churn")
    text = json.dumps(made.statement)
    parsed = json_format.Parse(text, statement_pb2.Statement())  # unknown fields are refused
    Statement.copy_from_pb(parsed).validate()
    provenance = json_format.Parse(
        json.dumps(made.statement["predicate"]), provenance_pb2.Provenance()
    )
    assert (
        provenance.run_details.metadata.invocation_id
        == made.statement["predicate"]["runDetails"]["metadata"]["invocationId"]
    )
    assert provenance.run_details.byproducts[0].annotations["verdict"] == "identical"
