"""Where two traces first part, by how much, and how the divergence spread afterwards.

Steps are compared in ascending order, and within a step entries in execution order, so the
first divergence is the earliest value or module that changed: everything after it may only be
its consequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from samerun.tracing.model import Entry, Trace


@dataclass(frozen=True)
class Difference:
    """How much two kept values differ, element by element."""

    compared: int
    differing: int
    max_abs: float | None  # the largest |a - b| over numeric elements; None if none differ so

    def describe(self) -> str:
        if self.compared == 1:
            return "" if self.max_abs is None else f"differs by {self.max_abs:.6g}"
        text = f"{self.differing} of {self.compared} elements differ"
        return text if self.max_abs is None else f"{text}, by at most {self.max_abs:.6g}"


@dataclass(frozen=True)
class Divergence:
    """The first entry that differs; ``expected``/``actual`` is None where one side lacks it."""

    step: int
    index: int  # position in the step's execution order
    expected: Entry | None
    actual: Entry | None
    difference: Difference | None = None

    @property
    def label(self) -> str:
        entry = self.expected or self.actual
        assert entry is not None
        return entry.label

    def describe(self) -> str:
        """One line: what differs and, when the values were kept, by how much."""
        a, b = self.expected, self.actual
        if a is None or b is None:
            side = "first" if a is None else "second"
            return f"{self.label} is missing from the {side} run"
        if a.label != b.label:
            return f"{a.label} in the first run, {b.label} in the second: execution differs"
        fa, fb = a.fingerprint, b.fingerprint
        if fa.describe() != fb.describe():
            return f"{a.label}: {fa.describe()} vs {fb.describe()}"
        detail = self.difference.describe() if self.difference else ""
        return f"{a.label} ({fa.describe()}): {detail or 'values differ'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "index": self.index,
            "label": self.label,
            "expected": None if self.expected is None else self.expected.to_dict(),
            "actual": None if self.actual is None else self.actual.to_dict(),
            "difference": None if self.difference is None else vars(self.difference),
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Spread:
    """How far the divergence reached: steps that differ, and when each value first did."""

    steps_compared: int  # steps both traces have
    steps_differing: int
    only_expected: int  # steps only the first trace has
    only_actual: int
    first_differs: tuple[tuple[str, int], ...]  # (label, first step it differs), in that order

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps_compared": self.steps_compared,
            "steps_differing": self.steps_differing,
            "only_expected": self.only_expected,
            "only_actual": self.only_actual,
            "first_differs": [{"label": k, "step": s} for k, s in self.first_differs],
        }


def first_divergence(
    expected: Trace, actual: Trace, *, until_step: int | None = None
) -> Divergence | None:
    """The first step and entry where ``actual`` parts from ``expected``; None if they agree.

    Only steps up to ``until_step`` (inclusive) are compared; a step one trace lacks is a
    divergence, so to check a trace still being written pass a step it has finished.
    """
    steps = sorted({*expected.steps, *actual.steps})
    for step in steps:
        if until_step is not None and step > until_step:
            break
        a, b = expected.steps.get(step, ()), actual.steps.get(step, ())
        for index in range(max(len(a), len(b))):
            ea = a[index] if index < len(a) else None
            eb = b[index] if index < len(b) else None
            if ea is None or eb is None or not ea.same_as(eb):
                return Divergence(step, index, ea, eb, _difference(ea, eb))
    return None


def _difference(a: Entry | None, b: Entry | None) -> Difference | None:
    if a is None or b is None:
        return None
    va, vb = a.fingerprint.values, b.fingerprint.values
    if va is None or vb is None or len(va) != len(vb) or a.fingerprint.shape != b.fingerprint.shape:
        return None
    differing, max_abs = 0, None
    for x, y in zip(va, vb, strict=True):
        if x == y or (_is_nan(x) and _is_nan(y)):
            continue
        differing += 1
        if _is_number(x) and _is_number(y):
            gap = abs(float(x) - float(y))
            max_abs = gap if max_abs is None else max(max_abs, gap)
    return Difference(len(va), differing, max_abs)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def spread(expected: Trace, actual: Trace) -> Spread:
    """Compare every step both traces have, matching entries by label and occurrence."""
    common = sorted(expected.steps.keys() & actual.steps.keys())
    first: dict[str, int] = {}
    differing = 0
    for step in common:
        a, b = _by_key(expected.steps[step]), _by_key(actual.steps[step])
        changed = [k for k in {**a, **b} if k not in a or k not in b or not a[k].same_as(b[k])]
        differing += bool(changed)
        for key in changed:
            first.setdefault(key[0], step)
    return Spread(
        steps_compared=len(common),
        steps_differing=differing,
        only_expected=len(expected.steps.keys() - actual.steps.keys()),
        only_actual=len(actual.steps.keys() - expected.steps.keys()),
        first_differs=tuple(first.items()),
    )


def _by_key(entries: tuple[Entry, ...]) -> dict[tuple[str, int], Entry]:
    """Entries keyed by (label, how many times that label came before in the step)."""
    seen: dict[str, int] = {}
    keyed = {}
    for entry in entries:
        count = seen.get(entry.label, 0)
        seen[entry.label] = count + 1
        keyed[(entry.label, count)] = entry
    return keyed
