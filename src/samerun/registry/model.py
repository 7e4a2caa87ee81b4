"""The registry's typed records: a model reference, a version, an alias event and what the
operations return. Names are checked here, once, at the boundary."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from samerun._exceptions import UsageError
from samerun.hashing import hash_json
from samerun.manifest import Artifact
from samerun.status import Verdict

#: How an alias moved: set by hand (``model alias``) or by ``model rollback``.
EventKind = Literal["set", "rollback"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def model_name(text: str) -> str:
    """``text`` as a model name: a letter, then letters, digits, ``_``, ``.`` or ``-``."""
    if not _NAME.fullmatch(text):
        raise UsageError(
            f"model name {text!r} is not valid; use a letter then letters, digits, '_', '.' or '-'"
        )
    return text


def alias_name(text: str) -> str:
    """``text`` as an alias: a simple identifier (``production``, ``staging``, ``champion``)."""
    if not _ALIAS.fullmatch(text):
        raise UsageError(
            f"alias {text!r} is not a simple identifier; use letters, digits, '_' or '-'"
            " (starting with a letter)"
        )
    return text


@dataclass(frozen=True)
class ModelRef:
    """``NAME`` (the latest version), ``NAME:VERSION`` or ``NAME@ALIAS``."""

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        name, at, alias = text.partition("@")
        if at:
            return cls(model_name(name), alias=alias_name(alias))
        name, colon, number = text.partition(":")
        if not colon:
            return cls(model_name(name))
        if not number.isdigit() or int(number) < 1:
            raise UsageError(f"model version {number!r} in {text!r} is not a positive number")
        return cls(model_name(name), version=int(number))

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name if self.version is None else f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ModelVersion:
    """An immutable version: files (objects by hash) from one finished run, with its notes."""

    model: str
    version: int
    run_id: str
    files: list[Artifact]
    description: str
    tags: dict[str, str]
    created_at: float
    created_by: str

    @property
    def label(self) -> str:
        return f"{self.model} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "files": [f.to_dict() for f in self.files]}


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias, chained to the model's previous event by its hash."""

    model: str
    seq: int  # 1, 2, ... per model: the chain's order
    alias: str
    kind: EventKind
    from_version: int | None
    to_version: int
    actor: str
    at: float
    reason: str
    prev_hash: str | None
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: every field but the hash itself."""
        values = asdict(self)
        del values["hash"]
        return values

    @classmethod
    def sealed(cls, **values: Any) -> AliasEvent:
        """The event with these fields and the hash of their canonical JSON."""
        return cls(**values, hash=hash_json(values))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSummary:
    """A model as ``model list`` shows it."""

    name: str
    created_at: float
    versions: int
    aliases: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class History:
    """A model's alias events (of one alias, up to a moment, when asked) and where each alias
    pointed then."""

    model: str
    events: list[AliasEvent]
    aliases: dict[str, int]
    at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "at": self.at,
            "aliases": self.aliases,
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class ChainCheck:
    """The result of re-walking a model's event chain: each problem names the event."""

    model: str
    events: int
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "intact": self.intact}


@dataclass(frozen=True)
class Materialized:
    """A version's files on disk, each checked against its hash."""

    version: ModelVersion
    root: Path
    paths: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.version.model,
            "version": self.version.version,
            "root": str(self.root),
            "paths": [str(p) for p in self.paths],
        }


@dataclass(frozen=True)
class Rollback:
    """An alias moved back: the event, the version it now points at, and what was checked."""

    event: AliasEvent
    target: ModelVersion
    files_checked: int
    verdict: Verdict | None  # with verify: the target run's verdict that allowed the move

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.to_dict(),
            "target": self.target.to_dict(),
            "files_checked": self.files_checked,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Watch:
    """A re-verification of what a reference points at, against the verdict before it."""

    ref: str
    version: ModelVersion
    previous: Verdict | None
    verdict: Verdict
    causes: list[str]
    exit_code: int

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "model": self.version.model,
            "version": self.version.version,
            "run": self.version.run_id,
            "previous": self.previous,
            "verdict": self.verdict,
            "changed": self.changed,
            "causes": self.causes,
        }
