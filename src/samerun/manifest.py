"""The manifest: the canonical record of one run (schema ``samerun.run/1``).

``inputs`` hold what the result depends on; their *identity* (content, not locations or
timestamps) hashes to the input fingerprint. ``outputs`` hold artifacts and metric series; their
identity hashes to the output fingerprint. ``host`` is informational only.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from samerun.capture.code import CodeState
from samerun.capture.environment import Environment
from samerun.capture.randomness import Randomness
from samerun.hashing import canonical_json, hash_json
from samerun.status import (
    EntryKind,
    ImportSource,
    RunStatus,
    UnknownInput,
    entry_kind,
    import_source,
    run_status,
    unknown_input,
)
from samerun.summary import MetricSummary

if TYPE_CHECKING:
    from samerun.store.project import Store

SCHEMA = "samerun.run/1"


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def now() -> float:
    """The current time, at the millisecond precision manifests keep (so they round-trip)."""
    stamp = from_iso(iso(time.time()))
    assert stamp is not None
    return stamp


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: str  # relative to the project root, POSIX separators
    interpreter: str | None = None

    def identity(self) -> dict[str, Any]:
        return {"argv": self.argv, "cwd": self.cwd}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(argv=list(data["argv"]), cwd=data["cwd"], interpreter=data.get("interpreter"))


@dataclass(frozen=True)
class ConfigRef:
    """The config file a run's params came from: its project path, hash and stored copy."""

    path: str  # relative to the project root
    hash: str  # of the file's bytes; this is its identity
    oid: str | None = None  # the stored copy (the same hash once stored)

    def to_dict(self) -> dict[str, Any]:
        data = {"path": self.path, "hash": self.hash}
        return data if self.oid is None else {**data, "oid": self.oid}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfigRef:
        return cls(path=data["path"], hash=data["hash"], oid=data.get("oid"))


@dataclass(frozen=True)
class DataInput:
    """One dataset (or other data path) a run read, as recorded in ``inputs.data``.

    ``version`` is what the dataset's pointer names; ``oid`` is what the workspace really held
    (None when the dataset was not in the workspace). They differ when the workspace had
    uncommitted changes; the run read ``oid``.
    """

    path: str  # relative to the project root
    pointer: str | None  # the pointer file, for a versioned dataset
    version: str | None  # the tree or file object the pointer names
    oid: str | None  # the object of what the workspace held
    kind: EntryKind
    size: int
    files: int

    @property
    def read(self) -> str | None:
        """The object holding what the run actually read (None if the data was absent)."""
        return self.oid

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataInput:
        return cls(
            path=data["path"],
            pointer=data.get("pointer"),
            version=data.get("version"),
            oid=data.get("oid"),
            kind=entry_kind(data["kind"]),
            size=int(data["size"]),
            files=int(data["files"]),
        )


@dataclass(frozen=True)
class Inputs:
    code: CodeState
    command: Command
    params: dict[str, Any]
    environment: Environment
    randomness: Randomness
    env_vars: dict[str, str]
    config: ConfigRef | None = None
    data: list[DataInput] = field(default_factory=list)

    def identity(self) -> dict[str, Any]:
        return {
            "code": self.code.identity(),
            "command": self.command.identity(),
            "params": self.params,
            "config": None if self.config is None else self.config.hash,
            "data": [d.to_dict() for d in self.data],
            "environment": self.environment.identity(),
            "randomness": self.randomness.identity(),
            "env_vars": self.env_vars,
        }

    def fingerprint(self) -> str:
        return hash_json(self.identity())

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.to_dict(),
            "command": self.command.to_dict(),
            "params": self.params,
            "config": None if self.config is None else self.config.to_dict(),
            "data": [d.to_dict() for d in self.data],
            "environment": self.environment.to_dict(),
            "randomness": self.randomness.to_dict(),
            "env_vars": self.env_vars,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inputs:
        return cls(
            code=CodeState.from_dict(data["code"]),
            command=Command.from_dict(data["command"]),
            params=data["params"],
            environment=Environment.from_dict(data["environment"]),
            randomness=Randomness.from_dict(data["randomness"]),
            env_vars=data["env_vars"],
            config=ConfigRef.from_dict(data["config"]) if data.get("config") else None,
            data=[DataInput.from_dict(d) for d in data.get("data", [])],
        )


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the project root
    oid: str  # the file's object, or the tree object of a directory
    size: int
    kind: EntryKind
    files: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            path=data["path"],
            oid=data["oid"],
            size=int(data["size"]),
            kind=entry_kind(data["kind"]),
            files=int(data.get("files", 1)),
        )


@dataclass(frozen=True)
class TraceSummary:
    oid: str  # object id of the stored trace (samerun.tracing.model)
    steps: int
    entries: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceSummary:
        return cls(**data)


@dataclass(frozen=True)
class Outputs:
    artifacts: list[Artifact] = field(default_factory=list)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    trace: TraceSummary | None = None

    def identity(self) -> dict[str, Any]:
        # The trace is left out: it is evidence for finding *where* two runs part, not a result,
        # and tracing more or fewer steps (or none) must not make equal results look different.
        return {
            "artifacts": {a.path: a.oid for a in self.artifacts},
            "metrics": {k: m.series for k, m in self.metrics.items()},
        }

    def fingerprint(self) -> str:
        return hash_json(self.identity())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "artifacts": [a.to_dict() for a in self.artifacts],
            "metrics": {k: m.to_dict() for k, m in sorted(self.metrics.items())},
        }
        if self.trace is not None:
            data["trace"] = self.trace.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outputs:
        return cls(
            artifacts=[Artifact.from_dict(a) for a in data.get("artifacts", [])],
            metrics={k: MetricSummary.from_dict(m) for k, m in data.get("metrics", {}).items()},
            trace=TraceSummary.from_dict(data["trace"]) if data.get("trace") else None,
        )


@dataclass(frozen=True)
class Imported:
    """Where a run recorded by another tool came from, and which inputs that tool never recorded.

    A run with unknown inputs is listed, compared and shown like any other; it cannot be
    replayed, and ``samerun verify`` says why (see :func:`samerun.verify.replay.verify`).
    """

    source: ImportSource
    ref: str  # the run's id in that tool
    unknown: tuple[UnknownInput, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "unknown": list(self.unknown)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Imported:
        return cls(
            source=import_source(data["source"]),
            ref=str(data["ref"]),
            unknown=tuple(unknown_input(u) for u in data["unknown"]),
        )


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str | None
    status: RunStatus
    started_at: float
    inputs: Inputs
    host: dict[str, Any]
    outputs: Outputs = field(default_factory=Outputs)
    ended_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    error: str | None = None
    declared_outputs: list[str] = field(default_factory=list)
    replay_of: str | None = None
    warnings: list[str] = field(default_factory=list)
    imported: Imported | None = None  # a run imported from another tool (not part of identity)

    @property
    def input_fingerprint(self) -> str:
        return self.inputs.fingerprint()

    @property
    def output_fingerprint(self) -> str | None:
        return None if self.status == "running" else self.outputs.fingerprint()

    def evolve(self, **changes: Any) -> Manifest:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": SCHEMA,
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "exit_code": self.exit_code,
            "signal": self.signal,
            "error": self.error,
            "inputs": self.inputs.to_dict(),
            "host": self.host,
            "outputs": self.outputs.to_dict(),
            "declared_outputs": self.declared_outputs,
            "replay_of": self.replay_of,
            "warnings": self.warnings,
            "fingerprints": {"inputs": self.input_fingerprint, "outputs": self.output_fingerprint},
        }
        if self.imported is not None:  # absent otherwise: every other record keeps its bytes
            data["imported"] = self.imported.to_dict()
        return data

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} manifest (schema {data.get('schema')!r})")
        started = from_iso(data["started_at"])
        assert started is not None
        return cls(
            id=data["id"],
            name=data["name"],
            status=run_status(data["status"]),
            started_at=started,
            ended_at=from_iso(data["ended_at"]),
            exit_code=data["exit_code"],
            signal=data["signal"],
            error=data["error"],
            inputs=Inputs.from_dict(data["inputs"]),
            host=data["host"],
            outputs=Outputs.from_dict(data["outputs"]),
            declared_outputs=data.get("declared_outputs", []),
            replay_of=data.get("replay_of"),
            warnings=data.get("warnings", []),
            imported=Imported.from_dict(data["imported"]) if data.get("imported") else None,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        return cls.from_dict(json.loads(text))


def load_manifest(store: Store, run_id: str) -> Manifest:
    """The manifest of run ``run_id`` (a full id), as the store holds it."""
    return Manifest.from_json(store.meta.manifest_json(run_id))
