"""Signed provenance of a model version or of a run: an in-toto Statement v1 with a SLSA
Provenance v1 predicate, in a DSSE envelope signed with an Ed25519 or ECDSA key.

- **Subjects** are the version's files, or the run's recorded outputs (each file of a directory
  too), named by their path and their **sha256** digest, the algorithm in-toto's tools check;
  samerun's blake3 object id rides along in each subject's ``annotations``.
- **The predicate** says how they were made, from the run in both cases: the recorded command
  and params (``externalParameters``); the run, its seeds and, for a model, the model version
  (``internalParameters``);
  the code (git commit, and the sha256 of the uncommitted patch), the datasets read (the sha256
  of their samerun object: a file's bytes, or a directory's tree, which names every file by
  hash), the interpreter and the packages as purls (``resolvedDependencies``); the run's id and
  times, and samerun's latest verification verdict as a byproduct (``runDetails``).
- **The file** (``.intoto.jsonl``) holds one line: the DSSE envelope when signed, else the bare
  Statement. The signature covers DSSE's pre-authentication encoding of the payload.

:func:`verify_attestation` checks the signature with the public key, then that each subject's
object in the store still has the sha256 the statement names, and that the statement's subjects
are still the files of the version (or the outputs of the run) it names.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from samerun import __version__
from samerun._exceptions import (
    ObjectCorrupt,
    ObjectNotFound,
    RunNotFound,
    RunStateError,
    StoreError,
    UsageError,
)
from samerun.data.tree import load_tree
from samerun.manifest import Artifact, iso
from samerun.registry import Registry

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from samerun.api import RecordedRun
    from samerun.registry.model import ModelVersion
    from samerun.store.project import Store

    PrivateKey = Ed25519PrivateKey | EllipticCurvePrivateKey
    PublicKey = Ed25519PublicKey | EllipticCurvePublicKey

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: What samerun's provenance means: one recorded run, replayable from its manifest.
BUILD_TYPE = "https://samerun.dev/provenance/run/v1"
BUILDER_ID = "https://samerun.dev/builder/samerun"


@dataclass(frozen=True)
class Attestation:
    """A statement, and its signed envelope when a key was given."""

    statement: dict[str, Any]
    envelope: dict[str, Any] | None

    @property
    def subjects(self) -> int:
        return len(self.statement["subject"])

    def line(self) -> str:
        """The ``.intoto.jsonl`` line: the envelope when signed, else the statement."""
        document = self.statement if self.envelope is None else self.envelope
        return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class AttestationCheck:
    """What :func:`verify_attestation` found: each finding is one thing that does not match."""

    run: str
    model: str | None  # None for a run's attestation
    version: int | None
    signed: bool
    keyid: str | None
    subjects: int
    findings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def label(self) -> str:
        """What was attested: ``churn v3``, or ``run 1a2b3c4d``."""
        return f"run {self.run[:8]}" if self.model is None else f"{self.model} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "intact": self.intact}


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class _Attested:
    """What a statement is about: a model version's files, or a finished run's outputs; the
    provenance is the run's in both cases."""

    run_id: str
    version: ModelVersion | None
    artifacts: list[Artifact]

    @property
    def label(self) -> str:
        return f"run {self.run_id[:8]}" if self.version is None else self.version.label


def attest(store: Store, ref: str, *, key_pem: bytes | None = None) -> Attestation:
    """The provenance of ``ref``, signed with the PEM private key ``key_pem`` when given.

    ``ref`` names a model version (``NAME``, ``NAME:VERSION``, ``NAME@ALIAS``) or a finished run
    (an id, a unique id prefix or ``last``). Models come first: a bare ``ref`` that is a model's
    name is that model's latest version, even if it is also a run id prefix."""
    key = None if key_pem is None else _private_key(key_pem)
    registry = Registry(store)
    attested = _attested(registry, ref)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(store, attested),
        "predicateType": PREDICATE_TYPE,
        "predicate": _provenance(store, attested, registry.runs.get_run(attested.run_id)),
    }
    if key is None:
        return Attestation(statement, None)
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": _keyid(key.public_key()), "sig": _b64(_sign(key, pae(PAYLOAD_TYPE, payload)))}
        ],
    }
    return Attestation(statement, envelope)


def _attested(registry: Registry, ref: str) -> _Attested:
    """The model version ``ref`` names if it is a model reference, else the run it names."""
    if "@" in ref or ":" in ref or registry.rows.model_exists(ref):
        version = registry.resolve(ref)
        return _Attested(version.run_id, version, version.files)
    try:
        return _run_attested(registry, ref)
    except RunNotFound as err:
        raise UsageError(f"no model named {ref!r} (see `samerun model list`), and {err}") from None


def _run_attested(registry: Registry, ref: str) -> _Attested:
    run = registry.runs.get_run(ref)
    if run.status != "finished":
        raise RunStateError(f"run {run.id[:8]} is {run.status}; attest a finished run")
    if not run.manifest.outputs.artifacts:
        raise UsageError(
            f"run {run.id[:8]} recorded no outputs, so there is nothing to attest; record them"
            " with `samerun record -o PATH` or samerun.log_artifact(PATH)"
        )
    return _Attested(run.id, None, sorted(run.manifest.outputs.artifacts, key=lambda a: a.path))


def _subjects(store: Store, attested: _Attested) -> list[dict[str, Any]]:
    subjects = []
    for path, oid in _files(store, attested):
        digest = {"sha256": _object_sha256(store, oid)}
        subjects.append({"name": path, "digest": digest, "annotations": {"blake3": oid}})
    return subjects


def _files(store: Store, attested: _Attested) -> list[tuple[str, str]]:
    """(path, object) of each file attested: an artifact, or each entry of a directory's."""
    files = []
    for artifact in attested.artifacts:
        if artifact.kind == "file":
            files.append((artifact.path, artifact.oid))
            continue
        try:
            tree = load_tree(store.objects, artifact.oid)
        except (ObjectNotFound, ObjectCorrupt) as err:
            raise StoreError(f"{attested.label}: {artifact.path} cannot be read: {err}") from None
        files += [(f"{artifact.path}/{e.path}", e.oid) for e in tree.entries]
    return files


def _object_sha256(store: Store, oid: str) -> str:
    return hashlib.sha256(store.objects.get_bytes(oid)).hexdigest()


def _provenance(store: Store, attested: _Attested, run: RecordedRun) -> dict[str, Any]:
    manifest = run.manifest
    verdict = run.verifications[-1].to_dict() if run.verifications else None
    inputs = manifest.inputs
    code = inputs.code
    source: dict[str, Any] = {
        "name": "code",
        "annotations": {"tree": code.tree, "dirty": code.dirty},
    }
    if code.commit is not None:
        source["digest"] = {"gitCommit": code.commit}
        source["uri"] = f"git+{code.remote}@{code.commit}" if code.remote else f"git:{code.commit}"
    else:
        source["uri"] = f"samerun:code/{code.tree}"
    dependencies = [source]
    if code.patch is not None:
        dependencies.append(
            {
                "name": "code patch (uncommitted changes)",
                "digest": {"sha256": _object_sha256(store, code.patch)},
                "annotations": {"blake3": code.patch},
            }
        )
    for data in inputs.data:
        if data.oid is None:
            continue
        dependencies.append(
            {
                "name": data.path,
                "uri": f"samerun:data/{data.path}",
                "digest": {"sha256": _object_sha256(store, data.oid)},
                "annotations": {"blake3": data.oid, "kind": data.kind, "version": data.version},
            }
        )
    environment = inputs.environment
    dependencies.append(
        {
            "name": "python",
            "uri": f"pkg:generic/{environment.implementation.lower()}@{environment.python}",
            "annotations": {"system": environment.system, "machine": environment.machine},
        }
    )
    dependencies += [
        {"name": name, "uri": f"pkg:pypi/{name.lower()}@{number}"}
        for name, number in sorted(environment.packages.items())
    ]
    details: dict[str, Any] = {
        "builder": {"id": BUILDER_ID, "version": {"samerun": __version__}},
        "metadata": {
            "invocationId": manifest.id,
            "startedOn": _rfc3339(manifest.started_at),
            "finishedOn": _rfc3339(manifest.ended_at),
        },
    }
    if verdict is not None:
        record = json.dumps(verdict, sort_keys=True, default=str).encode()
        details["byproducts"] = [
            {
                "name": "samerun verification",
                "mediaType": "application/json",
                "content": _b64(record),
                "annotations": {"verdict": verdict["verdict"]},
            }
        ]
    internal: dict[str, Any] = {
        "run": manifest.id,
        "seeds": inputs.randomness.identity(),
        "inputFingerprint": manifest.input_fingerprint,
        "outputFingerprint": manifest.output_fingerprint,
    }
    if attested.version is not None:
        internal |= {"model": attested.version.model, "version": attested.version.version}
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "command": inputs.command.argv,
                "cwd": inputs.command.cwd,
                "params": inputs.params,
            },
            "internalParameters": internal,
            "resolvedDependencies": dependencies,
        },
        "runDetails": details,
    }


def _rfc3339(timestamp: float | None) -> str | None:
    shown = iso(timestamp)
    return None if shown is None else shown.replace("+00:00", "Z")


def verify_attestation(
    store: Store, text: str, *, public_pem: bytes | None = None
) -> AttestationCheck:
    """Check the attestation ``text`` (an ``.intoto.jsonl`` file's content) against the
    public key ``public_pem`` (required for a signed one) and the files in ``store``."""
    document = _document(text)
    findings = []
    signed = "payloadType" in document
    keyid = None
    if signed:
        payload, keyid, signature_ok = _open_envelope(document, public_pem)
        if not signature_ok:
            findings.append("the signature does not match the statement and the key")
        statement = _json(payload)
    else:
        if public_pem is not None:
            raise UsageError("the attestation is not signed; verify it without --key")
        statement = document
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise UsageError("the file is not an in-toto Statement v1 with SLSA Provenance v1")
    try:
        internal = statement["predicate"]["buildDefinition"]["internalParameters"]
        run = str(internal["run"])
        model = None if "model" not in internal else str(internal["model"])
        number = None if model is None else int(internal["version"])
        subjects = statement["subject"]
        for subject in subjects:
            findings += _subject_findings(store, subject)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(
            "the statement lacks samerun's fields (run, model version, subjects with digests)"
        ) from None
    registry = Registry(store)
    attested = (
        _run_attested(registry, run) if model is None else _attested(registry, f"{model}:{number}")
    )
    held = [path for path, _ in _files(store, attested)] if not findings else None
    if held is not None and held != [s["name"] for s in subjects]:
        what = "outputs" if model is None else "files"
        findings.append(f"the subjects are no longer the {what} of {attested.label}")
    return AttestationCheck(run, model, number, signed, keyid, len(subjects), findings)


def _subject_findings(store: Store, subject: dict[str, Any]) -> list[str]:
    name, oid = subject["name"], subject.get("annotations", {}).get("blake3")
    try:
        data = store.objects.get_bytes(str(oid))
    except ObjectNotFound:
        return [f"subject {name}: its file is not in the store"]
    except ObjectCorrupt:
        return [f"subject {name}: its file in the store was changed"]
    if hashlib.sha256(data).hexdigest() != subject["digest"].get("sha256"):
        return [f"subject {name}: its sha256 does not match the file in the store"]
    return []


def _document(text: str) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise UsageError(
            f"an attestation file holds one JSON line, this one {len(lines)};"
            " give the .intoto.jsonl file `samerun attest` wrote"
        )
    return _json(lines[0].encode())


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        raise UsageError("the attestation is not valid JSON; give a .intoto.jsonl file") from None
    if not isinstance(value, dict):
        raise UsageError("the attestation is not a JSON object; give a .intoto.jsonl file")
    return value


def _open_envelope(
    envelope: dict[str, Any], public_pem: bytes | None
) -> tuple[bytes, str | None, bool]:
    """The payload, the signature's key id and whether a signature matches ``public_pem``."""
    from cryptography.exceptions import InvalidSignature  # start-up: only with a key

    if public_pem is None:
        raise UsageError("the attestation is signed; give the public key with --key")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise UsageError(f"the envelope's payloadType is not {PAYLOAD_TYPE}")
    key = _public_key(public_pem)
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [
            (s.get("keyid"), base64.b64decode(s["sig"], validate=True))
            for s in envelope["signatures"]
        ]
    except (KeyError, TypeError, ValueError):
        raise UsageError("the DSSE envelope is malformed (payload or signatures)") from None
    message = pae(PAYLOAD_TYPE, payload)
    for keyid, signature in signatures:
        try:
            _check(key, signature, message)
        except InvalidSignature:
            continue
        return payload, keyid, True
    return payload, signatures[0][0] if signatures else None, False


def _private_key(pem: bytes) -> PrivateKey:
    # start-up: cryptography is imported only when a key is used, here and below
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise UsageError(
            "--key is not an unencrypted PEM private key; make one with"
            " `openssl genpkey -algorithm ed25519 -out signing.pem`"
        ) from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise UsageError("--key must be an Ed25519 or ECDSA private key")
    return key


def _public_key(pem: bytes) -> PublicKey:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise UsageError(
            "--key is not a PEM public key; export it with"
            " `openssl pkey -in signing.pem -pubout -out signing.pub`"
        ) from None
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
        raise UsageError("--key must be an Ed25519 or ECDSA public key")
    return key


def _sign(key: PrivateKey, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    return key.sign(message)


def _check(key: PublicKey, signature: bytes, message: bytes) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, message)


def _keyid(key: PublicKey) -> str:
    """The sha256 of the public key's SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
