from __future__ import annotations

import math

import numpy as np
import pytest

from samerun._exceptions import UsageError
from samerun.tracing.model import MAGIC, Trace, trace_records


def trace_of(*steps: dict[str, object]) -> Trace:
    records = [
        r[1:] for step, values in enumerate(steps) for r in trace_records(step, "value", values)
    ]
    return Trace.from_records(records)


def test_records_group_by_step_in_the_order_taken() -> None:
    records = [
        *trace_records(1, "value", {"b": 1, "a": 2}),
        *trace_records(0, "output", {"layer": np.zeros(2)}),
        *trace_records(1, "param", {"w": 3.5}),
    ]
    trace = Trace.from_records(r[1:] for r in records)
    assert list(trace.steps) == [0, 1]
    assert [e.label for e in trace.steps[1]] == ["value b", "value a", "param w"]
    assert trace.last_step == 1
    assert trace.entries == 4


def test_encoding_round_trips_and_compresses_repeated_names() -> None:
    steps = [
        {"batch": np.arange(i, i + 32), "loss": 1 / (i + 1), "nan": math.nan} for i in range(200)
    ]
    trace = trace_of(*steps)
    data = trace.encode()
    assert data.startswith(MAGIC)
    back = Trace.decode(data)
    assert [[e.label for e in v] for v in back.steps.values()] == [
        [e.label for e in v] for v in trace.steps.values()
    ]
    assert all(
        a.same_as(b)
        for s in trace.steps
        for a, b in zip(trace.steps[s], back.steps[s], strict=True)
    )
    assert back.steps[3][1].fingerprint.values == (0.25,)
    assert len(data) < 200 * 3 * 60  # well under a JSON line per value


def test_garbage_is_not_a_trace() -> None:
    with pytest.raises(ValueError, match="not a samerun trace"):
        Trace.decode(b"hello")
    with pytest.raises(ValueError, match="not a samerun trace"):
        Trace.decode(MAGIC + b"not zlib")


@pytest.mark.parametrize("step", [-1, 1.5, True, "3"])
def test_steps_are_whole_numbers(step: object) -> None:
    with pytest.raises(UsageError, match="trace step"):
        trace_records(step, "value", {"x": 1})  # type: ignore[arg-type]


def test_numpy_integer_steps_are_accepted() -> None:
    assert trace_records(np.int64(4), "value", {"x": 1})[0][1] == 4  # type: ignore[arg-type]
