"""The reproducibility level, 0 to 4, from the project's evidence."""

from __future__ import annotations

from collections.abc import Sequence

from samerun.doctor.model import Evidence

LEVELS = {
    0: "nothing is versioned",
    1: "code versioned",
    2: "environment pinned",
    3: "data versioned, seeds set, runs recorded with full provenance",
    4: "reproduction proven and checked in CI",
}


def score(evidence: Sequence[Evidence]) -> tuple[int, list[str]]:
    """The highest level whose checks (and those of every level below) hold, and the steps
    that would reach the next one."""
    level = 0
    for target in range(1, max(LEVELS) + 1):
        if not all(e.holds for e in evidence if e.level == target):
            break
        level = target
    steps = [e.step for e in evidence if e.level == level + 1 and not e.holds and e.step]
    return level, steps
