"""What a listing reads of a run without its whole record: metric summaries and verifications.

Listing runs (``samerun runs``, :func:`samerun.runs`) builds these for every row, so they live
apart from :mod:`samerun.manifest`, whose pillar types (and their imports) only a whole record
needs: 30 ms of the listing's start-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from samerun.status import Verdict


@dataclass(frozen=True)
class MetricSummary:
    """A metric of a run: its last value and step, count, extremes, and its whole series."""

    last: float
    step: int  # step of the last value
    count: int
    min: float
    max: float
    series: str  # object id of the full (step, value) series

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSummary:
        return cls(**data)


@dataclass(frozen=True)
class VerificationRecord:
    """One verification of a run, as its history keeps it (newest last)."""

    replay: str | None  # the replay's run id (None when nothing could be replayed)
    verdict: Verdict
    at: float
    report: dict[str, Any]  # what ``samerun verify --json`` printed: causes, drift, comparison

    @property
    def causes(self) -> list[str]:
        return [str(c) for c in self.report.get("causes", [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "replay": self.replay,
            "verdict": self.verdict,
            "at": self.at,
            "details": self.report,
        }
