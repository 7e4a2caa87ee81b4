"""A trace: per step, the fingerprints taken in execution order; and its compact stored form.

In the journal a fingerprint is ``["t", step, kind, name, dtype, shape, digest, values]``; kind
is ``value`` (``samerun.trace``), ``output`` (a module's forward output), ``param`` (a parameter
after the optimizer step) or ``grad``. Stored, a trace is ``samerun.trace/1`` followed by the
zlib-compressed JSON of its steps: names repeat every step and compress away.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

from samerun._exceptions import UsageError
from samerun.tracing.fingerprint import KEEP, Fingerprint, fingerprint

MAGIC = b"samerun.trace/1\n"
RECORD = "t"
KINDS = ("value", "output", "param", "grad")


@dataclass(frozen=True)
class Entry:
    """One fingerprint taken at a step."""

    kind: str
    name: str
    fingerprint: Fingerprint

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def same_as(self, other: Entry) -> bool:
        return self.label == other.label and self.fingerprint.same_as(other.fingerprint)

    def to_dict(self) -> dict[str, Any]:
        fp = self.fingerprint
        return {
            "kind": self.kind,
            "name": self.name,
            "dtype": fp.dtype,
            "shape": list(fp.shape),
            "digest": fp.digest,
            "values": None if fp.values is None else list(fp.values),
        }


@dataclass(frozen=True)
class Trace:
    """Steps in ascending order; each step's entries in the order they were taken."""

    steps: dict[int, tuple[Entry, ...]]

    @property
    def last_step(self) -> int | None:
        return max(self.steps, default=None)

    @property
    def entries(self) -> int:
        return sum(len(e) for e in self.steps.values())

    @classmethod
    def from_records(cls, records: Iterable[Sequence[Any]]) -> Trace:
        """Build from journal records ``[step, kind, name, dtype, shape, digest, values]``."""
        steps: dict[int, list[Entry]] = {}
        for step, kind, name, dtype, shape, digest, values in records:
            kept = None if values is None else tuple(values)
            entry = Entry(kind, name, Fingerprint(dtype, tuple(shape), digest, kept))
            steps.setdefault(int(step), []).append(entry)
        return cls({step: tuple(steps[step]) for step in sorted(steps)})

    def encode(self) -> bytes:
        rows = [[step, [_row(e) for e in entries]] for step, entries in self.steps.items()]
        return MAGIC + zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)

    @classmethod
    def decode(cls, data: bytes) -> Trace:
        """Raises ValueError when ``data`` is not a stored trace."""
        if not data.startswith(MAGIC):
            raise ValueError("not a samerun trace")
        try:
            rows = json.loads(zlib.decompress(data[len(MAGIC) :]))
        except zlib.error as err:
            raise ValueError(f"not a samerun trace: {err}") from None
        return cls.from_records((step, *row) for step, entries in rows for row in entries)


def _row(entry: Entry) -> list[Any]:
    fp = entry.fingerprint
    values = None if fp.values is None else list(fp.values)
    return [entry.kind, entry.name, fp.dtype, list(fp.shape), fp.digest, values]


def trace_records(
    step: int, kind: str, values: Mapping[str, Any], keep: int = KEEP
) -> list[tuple[Any, ...]]:
    """The journal records that fingerprint ``values`` at ``step``, in the mapping's order."""
    if isinstance(step, bool) or not isinstance(step, Integral) or step < 0:
        raise UsageError(f"trace step {step!r} is not a whole number of 0 or more")
    if kind not in KINDS:
        raise UsageError(f"trace kind {kind!r}: use one of {', '.join(KINDS)}")
    return [
        (RECORD, int(step), *_row(Entry(kind, name, fingerprint(value, keep))))
        for name, value in values.items()
    ]
