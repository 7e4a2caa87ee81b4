from __future__ import annotations

import numpy as np

from samerun.tracing.compare import first_divergence, spread
from samerun.tracing.model import Trace, trace_records


def trace_of(steps: dict[int, list[tuple[str, str, object]]]) -> Trace:
    records = []
    for step, entries in steps.items():
        for kind, name, value in entries:
            records += trace_records(step, kind, {name: value})
    return Trace.from_records(r[1:] for r in records)


def run(batch0: object = None, w2: float = 0.5, steps: int = 4) -> Trace:
    content = {}
    for step in range(steps):
        batch = batch0 if step == 0 and batch0 is not None else np.arange(step, step + 4)
        w = w2 if step >= 2 else 0.5
        content[step] = [
            ("value", "batch", batch),
            ("output", "fc", np.full(3, w * step)),
            ("param", "fc.weight", w),
        ]
    return trace_of(content)


def test_identical_traces_have_no_divergence() -> None:
    assert first_divergence(run(), run()) is None
    assert spread(run(), run()).steps_differing == 0


def test_the_first_step_then_the_first_entry_in_execution_order() -> None:
    found = first_divergence(run(), run(w2=0.75))
    assert found is not None
    assert (found.step, found.index, found.label) == (2, 1, "output fc")
    assert found.difference is not None
    assert (found.difference.compared, found.difference.differing) == (3, 3)
    assert found.difference.max_abs == 0.5
    assert found.describe() == "output fc (float64[3]): 3 of 3 elements differ, by at most 0.5"


def test_a_permuted_batch_is_found_with_the_size_of_the_change() -> None:
    found = first_divergence(run(), run(batch0=np.array([1, 0, 2, 3])))
    assert found is not None
    assert (found.step, found.label) == (0, "value batch")
    assert "2 of 4 elements differ, by at most 1" in found.describe()


def test_scalars_say_by_how_much() -> None:
    a = trace_of({0: [("value", "loss", 0.5)]})
    b = trace_of({0: [("value", "loss", 0.75)]})
    loss = first_divergence(a, b)
    assert loss is not None
    assert loss.describe() == "value loss (float): differs by 0.25"


def test_a_shape_change_is_described() -> None:
    found = first_divergence(run(), run(batch0=np.arange(5)))
    assert found is not None
    assert found.describe() == "value batch: int64[4] vs int64[5]"


def test_missing_steps_and_entries_are_divergences() -> None:
    shorter = first_divergence(run(steps=4), run(steps=3))
    assert shorter is not None
    assert (shorter.step, shorter.actual) == (3, None)
    assert shorter.describe() == "value batch is missing from the second run"
    extra = trace_of({0: [("value", "a", 1), ("value", "b", 2)]})
    fewer = trace_of({0: [("value", "a", 1)]})
    found = first_divergence(fewer, extra)
    assert found is not None
    assert found.describe() == "value b is missing from the first run"


def test_comparison_can_stop_at_a_step() -> None:
    assert first_divergence(run(), run(w2=0.75), until_step=1) is None
    partial = run(steps=2)
    assert first_divergence(run(), partial, until_step=partial.last_step) is None


def test_spread_says_when_each_value_first_differs() -> None:
    summary = spread(run(batch0=np.array([3, 2, 1, 0]), w2=0.75), run())
    assert summary.steps_compared == 4
    assert summary.steps_differing == 3
    assert summary.first_differs == (
        ("value batch", 0),
        ("output fc", 2),
        ("param fc.weight", 2),
    )
    assert summary.to_dict()["first_differs"][1] == {"label": "output fc", "step": 2}
