from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import samerun
from samerun._exceptions import TraceNotFound
from samerun.journal import FLUSH_INTERVAL_S
from samerun.store.project import Project, open_store
from samerun.tracing.stored import read_trace


def test_a_finished_runs_trace_is_one_object_outside_the_output_fingerprint(
    project: Path,
) -> None:
    with samerun.start_run(seed=1) as traced:
        for step in range(3):
            samerun.trace(step, batch=np.arange(step, step + 4), loss=1.0 / (step + 1))
        samerun.log_metric("loss", 0.5)
    with samerun.start_run(seed=1) as untraced:
        samerun.log_metric("loss", 0.5)
    final, plain = traced.final, untraced.final
    assert final is not None
    assert plain is not None
    assert final.outputs.trace is not None
    assert (final.outputs.trace.steps, final.outputs.trace.entries) == (3, 6)
    assert final.output_fingerprint == plain.output_fingerprint
    assert plain.outputs.trace is None
    assert "trace" not in plain.to_dict()["outputs"]
    store = open_store(Project(project))
    try:
        trace = read_trace(store, traced.id)
        assert [e.label for e in trace.steps[2]] == ["value batch", "value loss"]
        assert trace.steps[2][1].fingerprint.values == (1 / 3,)
        with pytest.raises(TraceNotFound, match="recorded no trace"):
            read_trace(store, untraced.id)
    finally:
        store.close()


def test_a_running_runs_trace_is_read_from_its_journal(project: Path) -> None:
    run = samerun.start_run()
    try:
        samerun.trace(0, x=1)
        samerun.trace(1, x=2)
        time.sleep(FLUSH_INTERVAL_S * 3)
        store = open_store(Project(project))
        try:
            trace = read_trace(store, run.id)
        finally:
            store.close()
        assert sorted(trace.steps) == [0, 1]
    finally:
        run.end()
