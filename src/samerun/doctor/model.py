"""The records a diagnosis is made of: findings, skipped files, evidence and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One hazard in the code: which rule, where (1-based line and column), and what."""

    rule: str
    message: str
    path: str  # relative to the diagnosed directory, POSIX separators
    line: int
    column: int
    end_line: int
    cell: int | None = None  # 1-based code cell of a notebook; lines are then within the cell

    @property
    def where(self) -> str:
        cell = f":cell {self.cell}" if self.cell is not None else ""
        return f"{self.path}{cell}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skipped:
    """A file that was not analysed, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """One project check: whether it holds, what was found, and the step that would fix it."""

    check: str
    title: str
    level: int  # the reproducibility level it counts towards (0: informational)
    holds: bool
    detail: str
    step: str = ""  # what to do when it does not hold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """Everything ``samerun doctor`` found in a directory."""

    root: str
    level: int
    evidence: list[Evidence]
    next_steps: list[str]
    findings: list[Finding]
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "level": self.level,
            "files": self.files,
            "evidence": [e.to_dict() for e in self.evidence],
            "next_steps": self.next_steps,
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [s.to_dict() for s in self.skipped],
        }
