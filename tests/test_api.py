"""The public read API on runs recorded for real: listing, one run, metric history, compare."""

from __future__ import annotations

import math
import tracemalloc
from array import array
from pathlib import Path

import pytest

import samerun
from samerun._exceptions import RunNotFound, StoreError, UsageError
from samerun.api import MetricBucket, _buckets, _in_order
from samerun.series import encode_series, series_view
from samerun.store.project import Project, open_store


def record(name: str, lr: float, losses: list[tuple[int, float]], accuracy: float) -> str:
    with samerun.start_run(name=name, params={"model": {"lr": lr}}, seed=1) as run:
        for step, loss in losses:
            samerun.log_metric("loss", loss, step=step)
        samerun.log_metric("accuracy", accuracy)
    return run.id


def test_runs_lists_filters_and_sorts_what_was_recorded(project: Path) -> None:
    first = record("a", 0.1, [(0, 1.0)], 0.8)
    second = record("b", 0.01, [(0, 0.5)], 0.95)
    page = samerun.runs(filter="metrics.accuracy > 0.9 and params.model.lr < 0.1")
    assert [r.id for r in page] == [second]
    assert page[0].metrics["accuracy"].last == 0.95
    assert page[0].params == {"model.lr": 0.01}
    assert page.next_page_token is None
    ordered = samerun.runs(order_by=["metrics.accuracy"])
    assert [r.id for r in ordered] == [first, second]


def test_get_run_is_typed_and_whole(project: Path) -> None:
    run_id = record("a", 0.1, [(0, 1.0), (1, 0.5)], 0.8)
    run = samerun.get_run("last")
    assert (run.id, run.name, run.status) == (run_id, "a", "finished")
    assert run.params == {"model": {"lr": 0.1}}
    assert run.metrics["loss"].last == 0.5
    assert run.manifest.inputs.randomness.seed == 1
    assert run.verifications == []
    assert run.info.metrics["accuracy"].last == 0.8


def test_metric_history_keeps_every_point_of_a_short_series(project: Path) -> None:
    record("a", 0.1, [(0, 1.0), (1, 0.5), (2, 0.25)], 0.8)
    history = samerun.get_run("last").metric_history("loss")
    assert history.points == 3
    assert not history.downsampled
    assert [(b.first_step, b.last) for b in history.buckets] == [(0, 1.0), (1, 0.5), (2, 0.25)]


def test_metric_history_downsamples_to_min_max_and_last_per_bucket(project: Path) -> None:
    values = [math.sin(i / 50) + (i % 7) / 10 for i in range(10_000)]
    record("long", 0.1, list(enumerate(values)), 0.8)
    history = samerun.get_run("last").metric_history("loss", max_points=100)
    assert history.points == 10_000
    assert len(history.buckets) == 100
    for index, bucket in enumerate(history.buckets):  # steps 0..9999 in buckets of 100
        chunk = values[index * 100 : (index + 1) * 100]
        assert bucket == MetricBucket(
            index * 100, index * 100 + 99, 100, min(chunk), max(chunk), chunk[-1]
        )


def test_buckets_sort_steps_logged_out_of_order_and_skip_nan() -> None:
    steps = array("q", [3, 1, 2, 0])
    values = array("d", [3.0, math.nan, 2.0, 0.0])
    (first, second) = _buckets(*_in_order(steps, values), 2)
    assert (first.first_step, first.last_step, first.min, first.max) == (0, 1, 0.0, 0.0)
    assert math.isnan(first.last)
    assert (second.min, second.max, second.last) == (2.0, 3.0, 3.0)


def test_metric_history_of_a_running_run_comes_from_its_journal(project: Path) -> None:
    with samerun.start_run(name="live") as run:
        for step in range(5):
            samerun.log_metric("loss", 1.0 / (step + 1), step=step)
        run._writer().flush()  # what the journal's timer does every half second
        history = samerun.get_run(run.id).metric_history("loss", max_points=2)
    assert history.points == 5
    assert [b.count for b in history.buckets] == [3, 2]


def test_an_unknown_metric_or_run_is_one_clear_error(project: Path) -> None:
    record("a", 0.1, [(0, 1.0)], 0.8)
    with pytest.raises(UsageError, match="has no metric 'lost' \\(it has: accuracy, loss\\)"):
        samerun.get_run("last").metric_history("lost")
    with pytest.raises(UsageError, match="max_points must be at least 1"):
        samerun.get_run("last").metric_history("loss", max_points=0)
    with pytest.raises(RunNotFound):
        samerun.get_run("ffff")


def test_compare_is_what_diff_renders(project: Path) -> None:
    a = record("a", 0.1, [(0, 1.0)], 0.8)
    b = record("b", 0.2, [(0, 1.0)], 0.9)
    comparison = samerun.compare(a, b)
    assert comparison.input_causes == ["params"]
    assert {o.name: o.status for o in comparison.outputs} == {
        "accuracy": "diverged",
        "loss": "identical",
    }


def test_tags_label_a_run_and_can_be_filtered(project: Path) -> None:
    run_id = record("a", 0.1, [(0, 1.0)], 0.8)
    samerun.set_tags("last", stage="candidate", owner="ana")
    assert [r.id for r in samerun.runs(filter="tags.stage = 'candidate'")] == [run_id]
    samerun.set_tags(run_id, stage=None)
    assert samerun.get_run(run_id).info.tags == {"owner": "ana"}


def test_another_project_is_read_by_path(project: Path, tmp_path: Path) -> None:
    record("a", 0.1, [(0, 1.0)], 0.8)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert len(samerun.runs(project=project)) == 1
    with pytest.raises(StoreError, match="no samerun store in"):
        samerun.runs(project=elsewhere)


def test_metric_history_makes_no_python_object_per_point(tmp_path: Path) -> None:
    """The performance constraint of ``_buckets``, guarded by memory rather than by time: a
    list of the points alone would take five times the series' bytes, a copy of them once."""
    points = 100_000
    data = encode_series(list(range(points)), [float(i % 97) for i in range(points)])
    tracemalloc.start()
    try:
        steps, values = series_view(data)
        buckets = _buckets(steps, values, 1500)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(buckets) == 1500
    assert peak < len(data) // 2  # views: no copy of the series either


def test_metric_history_of_a_step_range_is_bucketed_afresh(project: Path) -> None:
    record("zoom", 0.1, [(step, float(step)) for step in range(1000)], 0.8)
    run = samerun.get_run("last")
    whole = run.metric_history("loss", max_points=10)
    assert whole.points == 1000
    assert whole.buckets[0].count == 100
    zoomed = run.metric_history("loss", max_points=10, min_step=100, max_step=119)
    assert zoomed.points == 20
    assert [b.first_step for b in zoomed.buckets] == list(range(100, 120, 2))
    with pytest.raises(samerun.UsageError, match="empty"):
        run.metric_history("loss", min_step=5, max_step=4)


def test_compare_many_puts_runs_side_by_side_layer_by_layer(project: Path) -> None:
    ids = [record(name, lr, [(0, 1.0)], 0.5 + lr) for name, lr in (("a", 0.1), ("b", 0.2))]
    ids.append(record("c", 0.1, [(0, 1.0)], 0.6))
    store = open_store(Project(project))
    reader = samerun.RunReader(store)
    compared = reader.compare_many(ids)
    layers = {layer.layer: layer for layer in compared.layers}
    (lr,) = [row for row in layers["params"].rows if row.key == "model"]
    assert lr.values == [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.1}]
    assert lr.differs
    assert layers["params"].differs
    accuracy = next(row for row in layers["metrics"].rows if row.key == "accuracy")
    assert accuracy.values == [0.6, 0.7, 0.6]
    assert not layers["command"].differs
    with pytest.raises(samerun.UsageError, match="2 to 100"):
        reader.compare_many(ids[:1])
    store.close()
