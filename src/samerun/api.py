"""The public read API: list, filter and page through runs, read one run, compare two.

The command line, the web pages, the team server and the model registry all read runs through
this module::

    import samerun

    for run in samerun.runs(filter="metrics.accuracy > 0.9", order_by=["metrics.accuracy desc"]):
        print(run.id, run.name, run.status, run.metrics["accuracy"].last)
    run = samerun.get_run("last")
    run.metric_history("loss", max_points=1500)
    samerun.compare("1a2b", "last")

Module-level functions read the current project's store (found from the working directory, or
``project=``); :class:`RunReader` reads an already open store. Filters are parsed and compiled to
SQL by :mod:`samerun.query`; pages are cut by keyset, so page N costs what page 1 costs.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import operator
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from samerun import query
from samerun._exceptions import RunNotFound, StoreError, UsageError
from samerun.hashing import hash_bytes
from samerun.journal import read_journal
from samerun.series import Steps, Values, series_view
from samerun.status import RunStatus
from samerun.store.meta import RunRow
from samerun.store.objects import ObjectStore
from samerun.store.project import Project, Store, find_root, open_store
from samerun.summary import MetricSummary, VerificationRecord

if TYPE_CHECKING:
    from samerun.manifest import Manifest
    from samerun.verify.comparators import Tolerance
    from samerun.verify.compare import Comparison

_ROW_FIELDS = [f.name for f in fields(RunRow)]
DEFAULT_LIMIT = 100
#: The most runs one comparison puts side by side.
MAX_COMPARED = 100
#: The longest tag key and value, in UTF-8 bytes: tags are indexed as (key, value) for
#: filtering, and PostgreSQL refuses an index entry past about 2.7 KB.
MAX_TAG_KEY_BYTES = 250
MAX_TAG_VALUE_BYTES = 2000


@dataclass(frozen=True)
class RunInfo(RunRow):
    """A run as listings show it: its row, plus params (dotted keys), metric summaries, tags."""

    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "params": self.params, "tags": self.tags}


@dataclass(frozen=True)
class RunPage(Sequence[RunInfo]):
    """One page of runs; pass ``next_page_token`` back to get the next (None on the last)."""

    runs: list[RunInfo]
    next_page_token: str | None = None

    @overload
    def __getitem__(self, index: int) -> RunInfo: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RunInfo]: ...
    def __getitem__(self, index: int | slice) -> RunInfo | Sequence[RunInfo]:
        return self.runs[index]

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[RunInfo]:
        return iter(self.runs)


@dataclass(frozen=True)
class MetricBucket:
    """The points of one step range: how many, their extremes, and the last one."""

    first_step: int
    last_step: int
    count: int
    min: float
    max: float
    last: float


class MetricHistory(NamedTuple):
    """A metric's series, at most ``max_points`` buckets over its step range."""

    key: str
    points: int  # in the whole series
    buckets: list[MetricBucket]

    @property
    def downsampled(self) -> bool:
        return len(self.buckets) < self.points

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "points": self.points,
            "downsampled": self.downsampled,
            "buckets": [vars(b) for b in self.buckets],
        }


class ComparedRow(NamedTuple):
    """One key of a layer across the compared runs: its value in each (None where absent)."""

    key: str
    values: list[Any]
    differs: bool
    informational: bool  # shown, never a cause (a commit id, the interpreter's build)


class ComparedLayer(NamedTuple):
    layer: str
    rows: list[ComparedRow]

    @property
    def differs(self) -> bool:
        return any(row.differs and not row.informational for row in self.rows)


class ManyComparison(NamedTuple):
    """Two to :data:`MAX_COMPARED` runs side by side: each input layer, then the metrics."""

    runs: list[RunInfo]
    layers: list[ComparedLayer]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [run.to_dict() for run in self.runs],
            "layers": [
                {
                    "layer": layer.layer,
                    "differs": layer.differs,
                    "rows": [row._asdict() for row in layer.rows],
                }
                for layer in self.layers
            ],
        }


class RecordedRun(NamedTuple):
    """One run, typed: its listing fields, its whole manifest and its verification history."""

    info: RunInfo
    manifest: Manifest
    verifications: list[VerificationRecord]
    objects: ObjectStore
    run_dir: Path  # where a running run journals its metrics

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def name(self) -> str | None:
        return self.manifest.name

    @property
    def status(self) -> RunStatus:
        return self.manifest.status

    @property
    def params(self) -> dict[str, Any]:
        return self.manifest.inputs.params

    @property
    def metrics(self) -> dict[str, MetricSummary]:
        return self.manifest.outputs.metrics

    def metric_history(
        self,
        key: str,
        max_points: int = 1500,
        *,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> MetricHistory:
        """The series of metric ``key`` in at most ``max_points`` buckets of min, max and last.

        ``min_step``/``max_step`` narrow it to a step range (both ends included), bucketed
        afresh: zooming into a chart re-asks for the visible range at full resolution.
        Read from the stored series object with arrays and a binary search per bucket: one
        Python object per bucket, not per point, so a 1,000,000-point series stays fast.
        """
        if max_points < 1:
            raise UsageError("max_points must be at least 1")
        if min_step is not None and max_step is not None and min_step > max_step:
            raise UsageError(f"the step range {min_step}..{max_step} is empty")
        summary = self.metrics.get(key)
        if summary is not None:
            try:
                steps, values = series_view(self.objects.get_bytes(summary.series))
            except ValueError as err:
                raise StoreError(f"object {summary.series}: {err}") from None
        elif self.manifest.status == "running":
            steps, values = _journal_series(self.run_dir, key)
        else:
            known = ", ".join(sorted(self.metrics)) or "none"
            raise UsageError(f"run {self.id[:8]} has no metric {key!r} (it has: {known})")
        steps, values = _in_order(steps, values)
        if min_step is not None or max_step is not None:
            start = 0 if min_step is None else bisect.bisect_left(steps, min_step)
            end = len(steps) if max_step is None else bisect.bisect_right(steps, max_step)
            steps, values = steps[start:end], values[start:end]
        return MetricHistory(key, len(steps), _buckets(steps, values, max_points))


def _journal_series(run_dir: Path, key: str) -> tuple[Steps, Values]:
    steps, values = array("q"), array("d")
    for record in read_journal(run_dir):
        if record[0] == "m" and record[1] == key:
            steps.append(int(record[2]))
            values.append(float(record[3]))
    return steps, values


def _in_order(steps: Steps, values: Values) -> tuple[Steps, Values]:
    """The series sorted by step: as it is (views, no copy) unless logged out of order (rare)."""
    if all(map(operator.le, steps, steps[1:])):
        return steps, values
    order = sorted(range(len(steps)), key=steps.__getitem__)
    return array("q", (steps[i] for i in order)), array("d", (values[i] for i in order))


def _buckets(steps: Steps, values: Values, max_points: int) -> list[MetricBucket]:
    """At most ``max_points`` buckets of equal step width over the (sorted) series' steps.

    Performance: a series can hold millions of points, so nothing here makes a Python object per
    point beyond what ``min``, ``max`` and the order check pass over in C: the steps and values
    are views of the stored bytes, the bucket edges come from a binary search over the steps,
    the extremes from ``min``/``max`` over slices of the views, which copy nothing
    (tests/test_api.py guards the memory this takes).
    """
    count = len(steps)
    if count == 0:
        return []
    if count <= max_points:
        return [MetricBucket(s, s, 1, v, v, v) for s, v in zip(steps, values, strict=True)]
    low, high = steps[0], steps[-1]
    width = (high - low + 1) / max_points
    buckets = []
    start = 0
    for index in range(1, max_points + 1):
        end = count if index == max_points else bisect.bisect_left(steps, low + index * width)
        if end > start:
            lowest, highest = _extremes(values[start:end])
            last = values[end - 1]
            buckets.append(
                MetricBucket(steps[start], steps[end - 1], end - start, lowest, highest, last)
            )
            start = end
    return buckets


def _extremes(chunk: Values) -> tuple[float, float]:
    """Min and max, NaN left out (NaN if all are NaN).

    ``min``/``max`` already pass over a NaN (it never compares smaller or larger) unless the
    first value is one; only then is the chunk filtered.
    """
    lowest, highest = min(chunk), max(chunk)
    if math.isnan(lowest) or math.isnan(highest):
        finite = [v for v in chunk if not math.isnan(v)] or [math.nan]
        lowest, highest = min(finite), max(finite)
    return lowest, highest


class RunReader:
    """Reads the runs of one open store (the store stays open; the caller closes it).

    ``projects`` narrows it to the runs of those team-server projects: listings, counts and
    keys filter in SQL, and a run of another project is not found, as if it did not exist.
    """

    def __init__(self, store: Store, projects: Sequence[str] | None = None) -> None:
        self.store = store
        self.projects = None if projects is None else tuple(projects)

    def runs(
        self,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        limit: int | None = DEFAULT_LIMIT,
        page_token: str | None = None,
        *,
        replays: bool = True,
    ) -> RunPage:
        """A page of runs matching ``filter``, in ``order_by`` order (newest first by default);
        ``replays=False`` leaves out the replays ``samerun verify`` recorded (the original's
        verification history holds their verdicts)."""
        if limit is not None and limit < 1:
            raise UsageError("limit must be at least 1")
        node = None if filter is None or not filter.strip() else query.parse(filter)
        order = query.parse_order(list(order_by))
        signature = _signature(filter, order_by, replays)
        after = None if page_token is None else _read_token(page_token, signature)
        sql, keys = query.search(
            "r.id",
            node,
            order,
            after=after,
            limit=None if limit is None else limit + 1,
            replays=replays,
            projects=self.projects,
        )
        meta = self.store.meta
        found = meta.select(sql.text, sql.params)  # ids and sort keys: narrow rows
        more = limit is not None and len(found) > limit
        found = found[:limit] if limit is not None else found
        token = _write_token(signature, list(found[-1][-keys:])) if more else None
        rows = meta.run_rows([row[0] for row in found])
        return RunPage(self._infos([RunRow.sql_values(row) for row in rows]), token)

    def count(self, filter: str | None = None, *, replays: bool = True) -> int:
        """How many runs match ``filter`` (all runs without one)."""
        node = None if filter is None or not filter.strip() else query.parse(filter)
        sql = query.count(node, replays=replays, projects=self.projects)
        return int(self.store.meta.select(sql.text, sql.params)[0][0])

    def _infos(self, rows: list[list[Any]]) -> list[RunInfo]:
        """Runs from their rows' field values (``RunRow.sql_values``), with their params, metric
        summaries and tags, each fetched for all of them at once."""
        ids = [values[0] for values in rows]
        meta = self.store.meta
        params, metrics, tags = meta.params_of(ids), meta.metric_summaries(ids), meta.tags_of(ids)
        return [
            RunInfo(
                **dict(zip(_ROW_FIELDS, values, strict=True)),
                params=params[run_id],
                metrics=metrics[run_id],
                tags=tags[run_id],
            )
            for values, run_id in zip(rows, ids, strict=True)
        ]

    def get_run(self, ref: str) -> RecordedRun:
        """Run ``ref`` (an id, a unique id prefix, or ``last``), typed and whole."""
        from samerun.manifest import Manifest  # start-up: listing runs never reads a whole record

        meta = self.store.meta
        row = self._resolve(ref)
        (info,) = self._infos([list(vars(row).values())])
        manifest = Manifest.from_json(meta.manifest_json(row.id))
        return RecordedRun(
            info,
            manifest,
            meta.verifications(row.id),
            self.store.objects,
            self.store.project.run_dir(row.id),
        )

    def _resolve(self, ref: str) -> RunRow:
        """Run ``ref``'s row; with ``projects``, a run of any other project is not found."""
        row = self.store.meta.resolve(ref)
        if self.projects is not None:
            compiler = query.Compiler()
            where = query.project_condition(compiler, "project", self.projects)
            sql = f"SELECT 1 FROM runs WHERE id = {compiler.bind(row.id)} AND {where}"
            if not self.store.meta.select(sql, compiler.params):
                raise RunNotFound(ref)
        return row

    def compare(self, a: str, b: str, *, tolerance: Tolerance | None = None) -> Comparison:
        """The layer-by-layer comparison ``samerun diff A B`` renders."""
        from samerun.verify.compare import compare_runs  # start-up: listing runs never compares

        first, second = self.get_run(a).manifest, self.get_run(b).manifest
        return compare_runs(first, second, self.store.objects, tolerance=tolerance)

    def compare_many(self, refs: Sequence[str]) -> ManyComparison:
        """Runs ``refs`` side by side, layer by layer, each against the first: the comparison
        ``samerun diff`` renders for two, widened to many (inputs and metrics; the outputs'
        bytes are compared by :meth:`compare`, two at a time)."""
        from samerun.verify.compare import input_layers  # start-up: listing never compares

        if not 2 <= len(refs) <= MAX_COMPARED:
            raise UsageError(f"compare 2 to {MAX_COMPARED} runs, not {len(refs)}")
        recorded = [self.get_run(ref) for ref in refs]
        base = recorded[0].manifest
        rows: dict[str, dict[str, ComparedRow]] = {}
        for column, run in enumerate(recorded[1:], start=1):
            # Which files changed between commits is asked of git once per pair: too slow for
            # a hundred runs, and shown by the two-run comparison instead.
            pair = input_layers(base, run.manifest, self.store.objects, _no_files_between)
            for layer in pair:
                found = rows.setdefault(layer.layer, {})
                for change in layer.changes:
                    row = found.get(change.key) or ComparedRow(
                        change.key, [None] * len(recorded), False, change.informational
                    )
                    row.values[0] = change.before
                    row.values[column] = change.after
                    found[change.key] = row
        metrics: dict[str, ComparedRow] = {}
        for column, run in enumerate(recorded):
            for key, summary in run.metrics.items():
                row = metrics.setdefault(
                    key, ComparedRow(key, [None] * len(recorded), False, False)
                )
                row.values[column] = summary.last
        layers = [
            ComparedLayer(name, [_settled(row) for _, row in sorted(found.items())])
            for name, found in [*rows.items(), ("metrics", metrics)]
        ]
        return ManyComparison([run.info for run in recorded], layers)

    def keys(self) -> dict[str, list[str]]:
        """Every param, metric and tag key any run has (for column choosers)."""
        meta = self.store.meta
        tables = {"params": "params", "metrics": "metric_summaries", "tags": "tags"}
        if self.projects is None:
            return {kind: meta.keys(table) for kind, table in tables.items()}
        compiler = query.Compiler()
        scope = query.project_condition(compiler, "r.project", self.projects)
        runs = f"SELECT r.id FROM runs r WHERE {scope}"
        return {
            kind: sorted(
                str(key)
                for (key,) in meta.select(
                    f"SELECT DISTINCT key FROM {table} WHERE run_id IN ({runs})", compiler.params
                )
            )
            for kind, table in tables.items()
        }

    def set_tags(self, ref: str, tags: dict[str, str | None]) -> None:
        """Label run ``ref``; a None value removes the tag. Tags are not part of its record."""
        for key, value in tags.items():
            if not key or key != key.strip():
                raise UsageError(f"tag key {key!r}: a tag key is a non-empty word")
            if len(key.encode()) > MAX_TAG_KEY_BYTES:
                raise UsageError(f"tag key {key[:40]!r}…: at most {MAX_TAG_KEY_BYTES} bytes")
            if value is not None and len(value.encode()) > MAX_TAG_VALUE_BYTES:
                raise UsageError(
                    f"tag {key!r}: a value may be at most {MAX_TAG_VALUE_BYTES} bytes "
                    "(keep longer text in an artifact)"
                )
        self.store.meta.set_tags(self._resolve(ref).id, tags)


def _no_files_between(_root: str, _a: str, _b: str) -> set[str]:
    return set()


def _settled(row: ComparedRow) -> ComparedRow:
    """``row`` with ``differs`` set: some run's value is not the first run's."""
    return row._replace(differs=any(value != row.values[0] for value in row.values[1:]))


def _signature(filter: str | None, order_by: Sequence[str], replays: bool) -> str:
    return hash_bytes(json.dumps([filter or "", list(order_by), replays]).encode())[-16:]


def _write_token(signature: str, last: list[Any]) -> str:
    text = json.dumps({"q": signature, "after": last}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_token(token: str, signature: str) -> list[object]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = data["after"]
        same_query = data["q"] == signature
    except (ValueError, TypeError, KeyError):
        raise UsageError("the page token is malformed; start again from the first page") from None
    if not same_query or not isinstance(after, list):
        raise UsageError(
            "the page token belongs to another filter or order; start again from the first page"
        )
    if not all(value is None or isinstance(value, (str, int, float)) for value in after):
        raise UsageError("the page token is malformed; start again from the first page")
    return after


@contextmanager
def _reader(project: str | Path | None) -> Iterator[RunReader]:
    root = find_root(None if project is None else Path(project))
    found = Project(root)
    if not found.exists:
        raise StoreError(f"no samerun store in {root}; record a run or run `samerun init`")
    store = open_store(found)
    try:
        yield RunReader(store)
    finally:
        store.close()


def runs(
    filter: str | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = DEFAULT_LIMIT,
    page_token: str | None = None,
    *,
    project: str | Path | None = None,
) -> RunPage:
    """A page of the project's runs; see :meth:`RunReader.runs` and :mod:`samerun.query`."""
    with _reader(project) as reader:
        return reader.runs(filter, order_by, limit, page_token)


def get_run(ref: str, *, project: str | Path | None = None) -> RecordedRun:
    """One run of the project, typed: ``samerun.get_run("last").metric_history("loss")``."""
    with _reader(project) as reader:
        return reader.get_run(ref)


def compare(
    a: str, b: str, *, tolerance: Tolerance | None = None, project: str | Path | None = None
) -> Comparison:
    """Compare two runs of the project, layer by layer (what ``samerun diff`` shows)."""
    with _reader(project) as reader:
        return reader.compare(a, b, tolerance=tolerance)


def set_tags(ref: str, project: str | Path | None = None, **tags: str | None) -> None:
    """Tag a run of the project: ``samerun.set_tags("last", stage="candidate")``."""
    with _reader(project) as reader:
        reader.set_tags(ref, dict(tags))
