"""Run filters, sorting and keyset pages, compiled and run on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samerun._exceptions import FilterError, UsageError
from samerun.api import RunReader
from samerun.store.meta import RunCompletion, RunRow, open_meta_store
from samerun.store.objects import open_object_store
from samerun.store.project import Project, Store
from samerun.summary import MetricSummary

T0 = 1_790_000_000.0
SERIES = "blake3:" + "0" * 64


def _row(run_id: str, started: float) -> RunRow:
    return RunRow(
        id=run_id,
        name=None,
        status="running",
        started_at=started,
        ended_at=None,
        exit_code=None,
        signal=None,
        error=None,
        seed=7,
        commit_sha="c" * 40,
        dirty=False,
        input_fp="blake3:" + "1" * 64,
        output_fp=None,
        hostname="host",
        pid=1,
        pid_started=0.0,
    )


def _done(name: str, params: dict[str, Any], metrics: dict[str, float], **changes: Any) -> Any:
    summaries = {k: MetricSummary(v, 9, 10, v, v, SERIES) for k, v in metrics.items()}
    done = RunCompletion(
        status="finished",
        name=name,
        ended_at=0.0,
        exit_code=0,
        signal=None,
        error=None,
        input_fp="blake3:" + "2" * 64,
        output_fp=None,
        manifest="{}",
        manifest_oid=None,
        summary=metrics,
        params=params,
        metric_summaries=summaries,
        metrics=[],
        artifacts=[],
    )
    return dataclasses.replace(done, **changes)


#: name, params, metrics, changes: five runs started one minute apart, oldest first.
RUNS: list[tuple[str, dict[str, Any], dict[str, float], dict[str, Any]]] = [
    ("baseline", {"model": {"lr": 0.1, "depth": 3}, "opt": "adam"}, {"accuracy": 0.91}, {}),
    ("small-lr", {"model": {"lr": 0.01, "depth": 3}, "opt": "adam"}, {"accuracy": 0.95}, {}),
    ("sgd", {"model": {"lr": 0.1, "depth": 5}, "opt": "sgd"}, {"accuracy": 0.82}, {}),
    ("broken", {"model": {"lr": 1.0}}, {}, {"status": "failed", "exit_code": 1}),
    ("no-params", {}, {"accuracy": 0.95, "loss": 0.2}, {}),
]


@pytest.fixture
def reader(meta_url: str, tmp_path: Path) -> Iterator[RunReader]:
    meta = open_meta_store(meta_url, create=True)
    for index, (name, params, metrics, changes) in enumerate(RUNS):
        run_id = f"{index + 1:x}" * 32
        started = T0 + 60 * index
        meta.insert_run(_row(run_id, started), "{}")
        done = _done(name, params, metrics, ended_at=started + 10 * (index + 1), **changes)
        meta.complete_run(run_id, done)
    meta.set_tags("3" * 32, {"stage": "candidate"})
    store = Store(Project(tmp_path), meta, open_object_store(str(tmp_path / "objects")))
    yield RunReader(store)
    meta.close()


def names(reader: RunReader, filter: str | None = None, *order: str, **kw: Any) -> list[str]:
    return [r.name or "" for r in reader.runs(filter, order, **kw)]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("metrics.accuracy > 0.9", ["no-params", "small-lr", "baseline"]),
        ("metrics.accuracy > 0.9 and params.model.lr < 0.1", ["small-lr"]),
        ("params.model.depth = 3 or params.opt = 'sgd'", ["sgd", "small-lr", "baseline"]),
        ("not params.opt = 'adam'", ["no-params", "broken", "sgd"]),
        ("params.opt in ('sgd', 'adagrad')", ["sgd"]),
        ("params.opt not in ('adam')", ["no-params", "broken", "sgd"]),
        ("status = 'failed'", ["broken"]),
        ("status != 'failed' and metrics.loss <= 0.2", ["no-params"]),
        ("name like 's%'", ["sgd", "small-lr"]),
        ("name like 'S%' and params.opt like 'SG_'", ["sgd"]),
        ("params.opt in (3, 'sgd') or params.model.depth in (5, 'x')", ["sgd"]),
        ("params.model.lr in (0.01)", ["small-lr"]),
        ("(name = 'sgd' or name = 'baseline') and metrics.accuracy >= 0.9", ["baseline"]),
        ("tags.stage = 'candidate'", ["sgd"]),
        ("duration > 35", ["no-params", "broken"]),
        (f"started >= {T0 + 120}", ["no-params", "broken", "sgd"]),
        ("started >= '2026-09-21T14:15'", ["no-params", "broken", "sgd"]),
        ("seed = 7 and dirty = false", ["no-params", "broken", "sgd", "small-lr", "baseline"]),
        ("verdict = 'identical'", []),
    ],
)
def test_a_filter_selects_the_runs_it_says(
    reader: RunReader, filter: str, expected: list[str]
) -> None:
    assert names(reader, filter) == expected
    assert reader.count(filter) == len(expected)


def test_sorting_by_a_metric_puts_runs_without_it_last(reader: RunReader) -> None:
    assert names(reader, None, "metrics.accuracy desc") == [
        "no-params",  # ties break by start time, newest first
        "small-lr",
        "baseline",
        "sgd",
        "broken",
    ]
    assert names(reader, None, "metrics.accuracy")[:2] == ["sgd", "baseline"]
    assert names(reader, None, "metrics.accuracy")[-1] == "broken"


def test_sorting_by_params_attributes_and_several_keys(reader: RunReader) -> None:
    assert names(reader, "params.model.lr > 0", "params.model.lr", "name desc") == [
        "small-lr",
        "sgd",
        "baseline",
        "broken",
    ]
    assert names(reader, None, "name") == ["baseline", "broken", "no-params", "sgd", "small-lr"]
    assert names(reader, None, "started") == [name for name, *_ in RUNS]


@pytest.mark.parametrize(
    "order",
    [(), ("metrics.accuracy desc",), ("params.opt", "seed desc"), ("dirty", "status desc")],
)
def test_keyset_pages_cover_every_run_once_in_order(reader: RunReader, order: tuple[str]) -> None:
    whole = names(reader, None, *order)
    seen: list[str] = []
    token = None
    while True:
        page = reader.runs(None, order, limit=2, page_token=token)
        seen += [r.name or "" for r in page]
        token = page.next_page_token
        if token is None:
            break
    assert seen == whole


def test_a_page_token_only_serves_its_own_query(reader: RunReader) -> None:
    token = reader.runs("metrics.accuracy > 0", limit=1).next_page_token
    assert token is not None
    with pytest.raises(UsageError, match="belongs to another filter or order"):
        reader.runs("metrics.accuracy > 0.5", limit=1, page_token=token)
    with pytest.raises(UsageError, match="page token is malformed"):
        reader.runs(None, limit=1, page_token="not-a-token")


def test_listed_runs_carry_their_params_metrics_and_tags(reader: RunReader) -> None:
    (run,) = reader.runs("name = 'sgd'")
    assert run.params == {"model.lr": 0.1, "model.depth": 5, "opt": "sgd"}
    assert run.metrics["accuracy"].last == 0.82
    assert run.tags == {"stage": "candidate"}
    assert reader.keys() == {
        "params": ["model.depth", "model.lr", "opt"],
        "metrics": ["accuracy", "loss"],
        "tags": ["stage"],
    }


def test_values_are_bound_never_spliced_into_the_sql(reader: RunReader) -> None:
    hostile = "x' OR '1'='1"
    assert names(reader, f"name = '{hostile.replace(chr(39), chr(39) * 2)}'") == []
    assert names(reader, "params.`opt'; DROP TABLE runs; --` = 'a'") == []
    assert reader.count() == len(RUNS)


@pytest.mark.parametrize(
    "bad",
    ["metrics.accuracy >", "metrics. > 1", "foo.bar = 1", "params.lr > 'abc'", "status = 'ok'"],
)
def test_a_bad_filter_is_refused_before_any_query(reader: RunReader, bad: str) -> None:
    with pytest.raises(FilterError):
        reader.runs(bad)
