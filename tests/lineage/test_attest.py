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

from samerun._exceptions import UsageError
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


@pytest.fixture
def run_store(project: Path, cli: Cli) -> Iterator[Store]:
    """A project with one finished run whose outputs are a file and a directory of two."""
    write = (
        "import os; os.makedirs('out', exist_ok=True);"
        " [open(p, 'w').write(p) for p in ('model.pkl', 'out/a.txt', 'out/b.txt')]"
    )
    done = cli(
        "record", "-p", "lr=0.2", "-o", "model.pkl", "-o", "out", "--", "python", "-c", write
    )
    assert done.exit_code == 0, done.stderr
    opened = open_store(Project(project))
    try:
        yield opened
    finally:
        opened.close()


def test_a_run_is_attested_by_its_outputs_and_read_back_by_independent_implementations(
    run_store: Store, project: Path
) -> None:
    run = run_store.meta.resolve("last")
    key = ed25519.Ed25519PrivateKey.generate()
    made = attest(run_store, run.id[:6], key_pem=_pem(key))
    statement = made.statement
    assert [(s["name"], s["digest"]["sha256"]) for s in statement["subject"]] == [
        (name, hashlib.sha256((project / name).read_bytes()).hexdigest())
        for name in ("model.pkl", "out/a.txt", "out/b.txt")
    ]
    assert all(s["annotations"]["blake3"] for s in statement["subject"])
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["params"] == {"lr": 0.2}
    assert build["internalParameters"]["run"] == run.id
    assert "model" not in build["internalParameters"]
    assert statement["predicate"]["runDetails"]["metadata"]["invocationId"] == run.id
    parsed = json_format.Parse(json.dumps(statement), statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    json_format.Parse(json.dumps(statement["predicate"]), provenance_pb2.Provenance())
    envelope = json.loads(made.line())
    keyid = envelope["signatures"][0]["keyid"]
    independent = Envelope.from_dict(envelope)
    assert keyid in independent.verify([SSlibKey.from_crypto(key.public_key(), keyid)], 1)

    check = verify_attestation(run_store, made.line(), public_pem=_public_pem(key))
    assert (check.intact, check.run, check.model, check.subjects) == (True, run.id, None, 3)
    assert check.label == f"run {run.id[:8]}"
    oid = statement["subject"][2]["annotations"]["blake3"]
    path = run_store.objects.path_of(oid)
    assert path is not None
    os.chmod(path, 0o644)
    path.write_bytes(b"changed")
    check = verify_attestation(run_store, made.line(), public_pem=_public_pem(key))
    assert check.findings == ["subject out/b.txt: its file in the store was changed"]


def test_a_model_name_comes_before_a_run_reference(run_store: Store, cli: Cli) -> None:
    assert cli("model", "register", "last", "--run", "last").exit_code == 0
    first = run_store.meta.resolve("last").id
    done = cli("record", "-o", "model.pkl", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    latest = run_store.meta.resolve("last").id
    assert latest != first
    internal = attest(run_store, "last").statement["predicate"]["buildDefinition"]
    assert (internal["internalParameters"]["model"], internal["internalParameters"]["run"]) == (
        "last",
        first,
    )
    by_run = attest(run_store, latest[:8]).statement["predicate"]["buildDefinition"]
    assert by_run["internalParameters"]["run"] == latest


def test_a_run_without_outputs_and_an_unknown_reference_are_refused(
    project: Path, cli: Cli
) -> None:
    done = cli("record", "--", "python", "-c", "print(1)")
    assert done.exit_code == 0, done.stderr
    store = open_store(Project(project))
    try:
        with pytest.raises(UsageError, match="recorded no outputs, so there is nothing to attest"):
            attest(store, "last")
        with pytest.raises(UsageError, match=r"no model named 'nothing'.*, and run 'nothing'"):
            attest(store, "nothing")
    finally:
        store.close()
