"""The server-rendered pages: runs, run, compare, data (Jinja2 templates, htmx, uPlot).

Each route reads through :class:`~samerun.api.RunReader`, builds the typed records below and
hands them to a template; the templates escape every value (autoescape), and the scripts they
load are files under ``/static`` (the Content-Security-Policy allows nothing inline), fed by
``data-*`` attributes and the JSON API. Routes answer HTML only: the team server adds its
permission checks in front of them without touching a template.

Partial updates are htmx requests (``HX-Request``) answered with a fragment of the same page:
the runs table re-rendered for a new filter, sort, column set or page, a dataset's files, an
artifact's preview. A history restore (``HX-History-Restore-Request``) gets the whole page.
"""

from __future__ import annotations

import csv
import io
import json
import math
import posixpath
import subprocess
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.datastructures import QueryParams

from samerun import query
from samerun._exceptions import FilterError, RunNotFound, TraceNotFound, UsageError
from samerun.api import RecordedRun, RunInfo, RunReader
from samerun.cli.render import duration, when
from samerun.data.pointer import Pointer, find_pointers, parse_pointer, read_pointer
from samerun.data.tree import load_tree
from samerun.manifest import iso
from samerun.paths import inside
from samerun.registry.model import ModelVersion
from samerun.registry.registry import Registry
from samerun.store.objects import ObjectStore
from samerun.tracing.compare import Divergence, first_divergence
from samerun.tracing.stored import read_trace
from samerun.web.api import IMAGE_TYPES, PREVIEW_BYTES, artifact_oid
from samerun.web.app_state import TEMPLATES, reader

router = APIRouter(include_in_schema=False)
Reader = Annotated[RunReader, Depends(reader)]

#: Rows on one page of the runs table (the next page is one keyset query away).
PAGE_ROWS = 100
#: Runs read per query while the CSV export streams every matching run.
CSV_PAGE_ROWS = 1000
#: Columns of each kind (params, metrics) shown when the URL chooses none.
DEFAULT_COLUMNS = 4
#: The kinds of key a column can show, as :meth:`RunReader.keys` lists them.
CHOOSABLE: tuple[tuple[str, query.Kind], ...] = (
    ("params", "param"),
    ("metrics", "metric"),
    ("tags", "tag"),
)
#: The kinds of key shown when the URL chooses no column.
DEFAULT_KINDS = ("params", "metrics")
#: The runs table's fixed columns: the filter grammar's attribute each sorts by, and its label.
FIXED_COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("verdict", "verified"),
    ("started", "started"),
    ("duration", "duration"),
    ("seed", "seed"),
    ("commit", "commit"),
)
#: The most lines of a recorded patch shown on the run page (the rest is a download away).
PATCH_LINES = 5000
#: The most files of one directory listed on a page (an artifact's, a dataset version's).
LISTED_FILES = 500
#: The first lines or rows of a text, JSON or CSV file its preview shows.
PREVIEW_LINES = 40
#: The layers of a comparison, in the order the compare page shows them.
LAYER_ORDER = ("params", "metrics", "code", "data", "command", "environment", "randomness")

PreviewKind = Literal["text", "json", "csv", "image", "html", "download"]
#: How a recorded file is previewed, by suffix; anything else (a pickle, a checkpoint, an
#: archive) is never read: its size and a download link are all the page shows.
PREVIEW_KINDS: dict[str, PreviewKind] = {
    **dict.fromkeys((".txt", ".log", ".md", ".rst", ".py", ".yaml", ".yml", ".toml"), "text"),
    **dict.fromkeys((".cfg", ".ini", ".out", ".err"), "text"),
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".html": "html",
    ".htm": "html",
    **dict.fromkeys(IMAGE_TYPES, "image"),
}


# -- what templates format ----------------------------------------------------------------------


def shown(value: Any) -> str:
    """A param, metric or tag value as a cell shows it: numbers to 6 significant digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def url_part(text: str) -> str:
    """``text`` as one segment of a URL path (a metric key, a ref): every ``/`` escaped too."""
    return quote(text, safe="")


def url_path(text: str) -> str:
    """``text`` as the tail of a URL path (an artifact's path): its ``/`` kept."""
    return quote(text, safe="/")


TEMPLATES.env.filters.update(
    when=when, duration=duration, shown=shown, url_part=url_part, url_path=url_path
)
TEMPLATES.env.trim_blocks = TEMPLATES.env.lstrip_blocks = True  # no blank lines where tags were


def wants_fragment(request: Request) -> bool:
    """Whether htmx asked for part of a page (not a history restore, which needs all of it)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def not_found(request: Request, message: str) -> HTMLResponse:
    """The error page with status 404: what the URL named is not in the run's record."""
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"message": message, "status": 404}, status_code=404
    )


# -- runs ---------------------------------------------------------------------------------------


class Column(NamedTuple):
    """A chosen column of the runs table: a param, metric (its last value) or tag."""

    field: query.Field

    @property
    def name(self) -> str:
        """How the URL, the filter grammar and the sort keys name it: ``params.lr``."""
        return str(self.field)

    def value(self, run: RunInfo) -> Any:
        key = self.field.key
        if self.field.kind == "param":
            return run.params.get(key)
        if self.field.kind == "metric":
            summary = run.metrics.get(key)
            return None if summary is None else summary.last
        return run.tags.get(key)


def column(name: str) -> Column:
    """The column ``name`` (``metrics.loss``) names; a :class:`FilterError` if it names none."""
    field = query.parse_field(name)
    if field.kind == "attribute":
        raise FilterError(name, None, "a chosen column is a params., metrics. or tags. key")
    return Column(field)


def column_choices(keys: dict[str, list[str]]) -> list[tuple[str, list[Column]]]:
    """Every column the chooser offers: each kind's keys (params, metrics, tags)."""
    return [
        (group, [Column(query.Field(kind, key)) for key in keys[group]])
        for group, kind in CHOOSABLE
    ]


@dataclass(frozen=True)
class RunsView:
    """What the runs page shows, all of it in the URL query so that a copied URL restores it:
    ``filter``, ``sort`` (repeated), ``col`` (repeated; ``col=`` alone: no chosen column) and
    ``page`` (the keyset token of the page after the first)."""

    filter: str = ""
    sort: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    page: str | None = None

    @classmethod
    def from_query(cls, params: QueryParams, keys: dict[str, list[str]]) -> RunsView:
        """The view a URL asks for; without ``col``, the first params and metrics."""
        if "col" in params:
            columns = [name for name in params.getlist("col") if name.strip()]
        else:
            columns = [
                choice.name
                for kind, choices in column_choices(keys)
                if kind in DEFAULT_KINDS
                for choice in choices[:DEFAULT_COLUMNS]
            ]
        return cls(
            filter=params.get("filter", ""),
            sort=tuple(key for key in params.getlist("sort") if key.strip()),
            columns=tuple(dict.fromkeys(columns)),
            page=params.get("page") or None,
        )

    def chosen(self) -> list[Column]:
        """The chosen columns, checked (a :class:`FilterError` names one that is not a key)."""
        return [column(name) for name in self.columns]

    def query_string(self) -> str:
        pairs = [("filter", self.filter)] if self.filter else []
        pairs += [("sort", key) for key in self.sort]
        pairs += [("col", name) for name in self.columns] or [("col", "")]
        pairs += [("page", self.page)] if self.page else []
        return urlencode(pairs)

    def url(self, path: str = "/") -> str:
        return f"{path}?{self.query_string()}"

    def direction(self, field: str) -> Literal["asc", "desc", ""]:
        """How the table is sorted by ``field`` first: newest first when no sort is chosen."""
        if not self.sort:
            return "desc" if field == "started" else ""
        words = self.sort[0].split()
        if words[0] != field:
            return ""
        return "desc" if words[-1].lower() == "desc" else "asc"

    def sorted_by(self, field: str) -> RunsView:
        """The view sorted by ``field`` (ascending; descending when it already is), from the
        first page."""
        order = f"{field} desc" if self.direction(field) == "asc" else field
        return replace(self, sort=(order,), page=None)

    def at_page(self, token: str | None) -> RunsView:
        return replace(self, page=token)


class FilterProblem(NamedTuple):
    """Why the view's runs cannot be listed, and where in the filter, when it is there."""

    message: str
    caret: str | None  # spaces and a ``^`` under the failing column of the filter


def problem_of(err: UsageError, view: RunsView) -> FilterProblem:
    """The message of ``err``, with a caret under its column when it is in the view's filter."""
    if isinstance(err, FilterError) and err.position is not None and err.text == view.filter:
        return FilterProblem(str(err), " " * err.position + "^")
    return FilterProblem(str(err), None)


@router.get("/", response_class=HTMLResponse)
async def runs_page(request: Request, runs: Reader) -> HTMLResponse:
    """The runs table; an htmx request gets the table alone (its new filter, sort, columns or
    page already in the URL htmx pushes). A bad filter or page token: the page, its message,
    status 400."""
    keys = runs.keys()
    view = RunsView.from_query(request.query_params, keys)
    context: dict[str, Any] = {
        "view": view,
        "choices": column_choices(keys),
        "fixed": FIXED_COLUMNS,
    }
    status = 200
    try:
        columns = view.chosen()
        page = runs.runs(view.filter or None, view.sort, PAGE_ROWS, view.page)
        context |= {"columns": columns, "page": page, "total": runs.count(view.filter or None)}
    except UsageError as err:
        status = 400
        context |= {"columns": [], "page": [], "total": 0, "problem": problem_of(err, view)}
    template = "_runs_table.html" if wants_fragment(request) else "runs.html"
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers["vary"] = "HX-Request"
    return response


def csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)
    gets a leading ``'``, numbers are written as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return shown(value) if not isinstance(value, float) else repr(value)


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as CSV text, each cell through :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return out.getvalue()


def csv_row(run: RunInfo, columns: Sequence[Column]) -> list[Any]:
    """A run as the CSV export writes it: :data:`CSV_HEADER`, then the chosen columns."""
    fixed = [run.id, run.name, run.status, run.verdict, iso(run.started_at), run.duration_s]
    return [*fixed, run.seed, run.commit_sha, run.dirty, *(c.value(run) for c in columns)]


#: The CSV export's first columns (:func:`csv_row`).
CSV_HEADER = ["id", "name", "status", "verdict", "started", "duration_s", "seed", "commit", "dirty"]


@router.get("/runs.csv")
async def runs_csv(request: Request, runs: Reader) -> StreamingResponse:
    """Every run the view's filter matches, in its order, with its columns, as CSV (streamed a
    page of runs at a time; a bad filter is refused before anything is sent)."""
    view = RunsView.from_query(request.query_params, runs.keys())
    columns = view.chosen()
    first = runs.runs(view.filter or None, view.sort, CSV_PAGE_ROWS)

    async def lines() -> AsyncIterator[str]:
        # An async iterator runs on the event loop's thread, like every other use of the store.
        yield csv_lines([[*CSV_HEADER, *(c.name for c in columns)]])
        page = first
        while True:
            yield csv_lines(csv_row(run, columns) for run in page)
            if page.next_page_token is None:
                return
            page = runs.runs(view.filter or None, view.sort, CSV_PAGE_ROWS, page.next_page_token)

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="runs.csv"'},
    )


# -- run ----------------------------------------------------------------------------------------


DiffKind = Literal["file", "hunk", "add", "del", "meta", "context"]


class DiffLine(NamedTuple):
    """A line of a recorded patch and what it is (the page colors it by its CSS class)."""

    kind: DiffKind
    text: str


def diff_lines(patch: bytes) -> list[DiffLine]:
    """The lines of a ``git diff``, each classified."""
    lines = []
    for text in patch.decode("utf-8", "replace").splitlines():
        if text.startswith("diff --git"):
            kind: DiffKind = "file"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith(("+++", "---", "index ", "new file", "deleted file", "similarity")):
            kind = "meta"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "context"
        lines.append(DiffLine(kind, text))
    return lines


class RecordedFile(NamedTuple):
    """An output file of a run (one of a recorded directory's too) and how it is previewed."""

    path: str
    size: int
    preview: PreviewKind


def preview_kind(path: str) -> PreviewKind:
    """How the file at ``path`` is previewed, by the suffix of its name."""
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return PREVIEW_KINDS.get(suffix, "download")


def recorded_files(run: RecordedRun) -> tuple[list[RecordedFile], int]:
    """The run's output files, directories expanded (at most :data:`LISTED_FILES` of each),
    and how many more there are."""
    files, left_out = [], 0
    for artifact in run.manifest.outputs.artifacts:
        if artifact.kind == "file":
            files.append(RecordedFile(artifact.path, artifact.size, preview_kind(artifact.path)))
            continue
        entries = load_tree(run.objects, artifact.oid).entries
        left_out += max(0, len(entries) - LISTED_FILES)
        for entry in entries[:LISTED_FILES]:
            path = f"{artifact.path}/{entry.path}"
            files.append(RecordedFile(path, entry.size, preview_kind(path)))
    return files, left_out


class Series(NamedTuple):
    """A run's line on a chart, in the color its column has on the page (``--c0``…``--c9``)."""

    color: int
    run: RunInfo


class Chart(NamedTuple):
    """A metric's chart: one series per run that logged it at more than one step."""

    key: str
    series: list[Series]

    def series_json(self) -> str:
        """The series for ``static/charts.js``: each run's id, label and color."""
        return json.dumps(
            [{"run": s.run.id, "label": label(s.run), "color": s.color} for s in self.series]
        )


def label(run: RunInfo) -> str:
    return run.name or run.id[:8]


def charts_for(runs: Sequence[RunInfo]) -> list[Chart]:
    """A chart per metric some run logged at more than one step, keys in order; each run
    keeps its place's color, whichever runs lack the metric."""
    keys = sorted({key for run in runs for key, m in run.metrics.items() if m.count > 1})
    return [
        Chart(
            key,
            [
                Series(index % 10, run)
                for index, run in enumerate(runs)
                if key in run.metrics and run.metrics[key].count > 1
            ],
        )
        for key in keys
    ]


@router.get("/runs/{ref}", response_class=HTMLResponse)
async def run_page(request: Request, runs: Reader, ref: str) -> HTMLResponse:
    """One run, pillar by pillar as ``samerun show`` prints it, with charts and previews."""
    run = runs.get_run(ref)
    code = run.manifest.inputs.code
    patch = diff_lines(run.objects.get_bytes(code.patch)) if code.patch else []
    files, files_left_out = recorded_files(run)
    return TEMPLATES.TemplateResponse(
        request,
        "run.html",
        {
            "run": run,
            "inputs": run.manifest.inputs,
            "patch": patch[:PATCH_LINES],
            "patch_cut": len(patch) > PATCH_LINES,
            "files": files,
            "files_left_out": files_left_out,
            "charts": charts_for([run.info]),
        },
    )


@router.get("/runs/{ref}/data/{index}", response_class=HTMLResponse)
async def data_files(request: Request, runs: Reader, ref: str, index: int) -> HTMLResponse:
    """The files of the ``index``-th dataset the run read (the run page asks on demand)."""
    run = runs.get_run(ref)
    data = run.manifest.inputs.data
    if not 0 <= index < len(data):
        return not_found(request, f"run {run.id[:8]} read no dataset number {index}")
    read = data[index]
    tree = load_tree(run.objects, read.oid) if read.oid and read.kind == "dir" else None
    entries = [] if tree is None else tree.entries
    return TEMPLATES.TemplateResponse(
        request,
        "_files.html",
        {"data": read, "entries": entries[:LISTED_FILES], "more": len(entries) - LISTED_FILES},
    )


@dataclass(frozen=True)
class Preview:
    """What the run page shows of a recorded file: the first lines of text or JSON, the first
    rows of a CSV, an image, an HTML page inside a sandboxed frame, or only a download link."""

    run: str
    path: str
    kind: PreviewKind
    lines: list[str]
    rows: list[list[str]]
    html: str
    cut: bool  # the file goes on past what is shown


def file_head(objects: ObjectStore, oid: str, size: int) -> bytes:
    """At most :data:`PREVIEW_BYTES` from the start of object ``oid`` (from its file when the
    store is local, so a big log is not read whole)."""
    path = objects.path_of(oid)
    if path is None:
        return objects.get_bytes(oid)[:PREVIEW_BYTES]
    with open(path, "rb") as handle:
        return handle.read(min(size, PREVIEW_BYTES))


def preview(run: RecordedRun, path: str, oid: str, size: int) -> Preview:
    """The preview of output file ``path``: nothing that is not text is ever decoded, and
    nothing at all is read of a file the page only offers as a download."""
    kind = preview_kind(path)
    empty = Preview(run.id, path, kind, [], [], "", False)
    if kind in ("download", "image"):
        return empty
    head = file_head(run.objects, oid, size)
    cut = size > len(head)
    text = head.decode("utf-8", "replace")
    if kind == "html":
        return replace(empty, html=text, cut=cut)
    if kind == "csv":
        delimiter = "\t" if path.lower().endswith(".tsv") else ","
        lines = text.splitlines()
        rows = list(csv.reader(lines[: PREVIEW_LINES + 1], delimiter=delimiter))
        return replace(empty, rows=rows, cut=cut or len(lines) > PREVIEW_LINES + 1)
    if kind == "json" and not cut:
        with suppress(ValueError):  # not JSON after all: shown as it is
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    lines = text.splitlines()
    return replace(empty, lines=lines[:PREVIEW_LINES], cut=cut or len(lines) > PREVIEW_LINES)


@router.get("/runs/{ref}/preview/{path:path}", response_class=HTMLResponse)
async def artifact_preview(request: Request, runs: Reader, ref: str, path: str) -> HTMLResponse:
    """The preview of one recorded file (the run page asks when its row is opened)."""
    run = runs.get_run(ref)
    oid = artifact_oid(run, path)
    if oid is None:
        return not_found(request, f"run {run.id[:8]} recorded no output file {path!r}")
    size = next((f.size for f in recorded_files(run)[0] if f.path == path), 0)
    return TEMPLATES.TemplateResponse(
        request, "_preview.html", {"preview": preview(run, path, oid, size)}
    )


# -- compare ------------------------------------------------------------------------------------


class TraceFinding(NamedTuple):
    """Where two runs' traces first part: ``missing`` names the runs without one."""

    missing: list[str]
    divergence: Divergence | None


def trace_finding(runs: RunReader, a: str, b: str) -> TraceFinding:
    """Where the traces of runs ``a`` and ``b`` (full ids) first part, if both have one."""
    traces, missing = [], []
    for run_id in (a, b):
        try:
            traces.append(read_trace(runs.store, run_id))
        except TraceNotFound:
            missing.append(run_id)
    if missing:
        return TraceFinding(missing, None)
    return TraceFinding([], first_divergence(traces[0], traces[1]))


class Axes(NamedTuple):
    """What the parallel coordinates plot draws: a line per run across its params, colored by
    a metric (``static/compare.js`` reads this as JSON)."""

    params: list[str]
    metrics: list[str]
    runs: list[dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps(self._asdict())


def axes_of(runs: Sequence[RunInfo]) -> Axes:
    params = sorted({key for run in runs for key in run.params})
    metrics = sorted({key for run in runs for key in run.metrics})
    return Axes(
        params,
        metrics,
        [
            {
                "label": label(run),
                "params": run.params,
                "metrics": {k: m.last for k, m in run.metrics.items() if math.isfinite(m.last)},
            }
            for run in runs
        ],
    )


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(
    request: Request, runs: Reader, run: Annotated[list[str] | None, Query()] = None
) -> HTMLResponse:
    """Two to 100 runs side by side: every layer (differences only at a click), overlaid
    metric charts, parallel coordinates; for two runs, their outputs and where traces part."""
    refs = run or []
    comparison = runs.compare_many(refs)
    ids = [info.id for info in comparison.runs]
    order = {name: index for index, name in enumerate(LAYER_ORDER)}
    layers = sorted(comparison.layers, key=lambda layer: order.get(layer.layer, len(order)))
    two = len(ids) == 2
    return TEMPLATES.TemplateResponse(
        request,
        "compare.html",
        {
            "runs": comparison.runs,
            "layers": layers,
            "pair": runs.compare(ids[0], ids[1]) if two else None,
            "trace": trace_finding(runs, ids[0], ids[1]) if two else None,
            "charts": charts_for(comparison.runs),
            "axes": axes_of(comparison.runs),
        },
    )


# -- models -------------------------------------------------------------------------------------


class VersionLineage(NamedTuple):
    """A model version and what made it: its run, the data versions it read, its environment."""

    version: ModelVersion
    aliases: list[str]  # the aliases pointing at it now
    run: RecordedRun | None  # None: the run is not readable here (not pulled, another project)


def registry_of(runs: RunReader) -> Registry:
    """The registry over the pages' store, narrowed to the reader's projects on a server."""
    return Registry(runs.store, projects=runs.projects)


@router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request, runs: Reader) -> HTMLResponse:
    """Every model with its versions and aliases."""
    return TEMPLATES.TemplateResponse(
        request, "models.html", {"models": registry_of(runs).models()}
    )


@router.get("/models/{name}", response_class=HTMLResponse)
async def model_page(request: Request, runs: Reader, name: str) -> HTMLResponse:
    """One model: each version's lineage (run, data, environment, verdict) and the alias
    timeline, newest first."""
    registry = registry_of(runs)
    aliases = registry.aliases(name)
    held: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        held.setdefault(number, []).append(alias)

    def run_of(version: ModelVersion) -> RecordedRun | None:
        try:
            return registry.run_of(version)
        except RunNotFound:
            return None

    versions = [
        VersionLineage(v, held.get(v.version, []), run_of(v))
        for v in reversed(registry.versions(name))
    ]
    return TEMPLATES.TemplateResponse(
        request,
        "model.html",
        {
            "name": name,
            "versions": versions,
            "events": list(reversed(registry.history(name).events)),
            "protected": registry.protected(name),
        },
    )


# -- data ---------------------------------------------------------------------------------------


class DataUse(NamedTuple):
    """A run that read a dataset: the version its pointer named and what it really read."""

    run: str
    name: str | None
    started_at: float
    version: str | None
    read: str | None


class DatasetVersion(NamedTuple):
    """A version of a dataset: a commit that changed its pointer (None: the workspace's
    pointer, not committed yet), what the pointer named then, and the runs that read it."""

    commit: str | None
    at: float | None
    subject: str
    pointer: Pointer | None  # None: the commit removed the pointer file
    runs: list[DataUse]


class Dataset(NamedTuple):
    """A pointer file of the project (or one that recorded runs name), and its history."""

    pointer_file: str
    path: str  # the dataset, as runs record it
    versions: list[DatasetVersion]
    other_runs: list[DataUse]  # runs whose version is in no commit: the workspace held another
    problem: str | None = None


def data_uses(runs: RunReader) -> dict[str, list[DataUse]]:
    """Every recorded run that read a versioned dataset, by pointer file, newest first.

    The read API has no index of the data runs read, so the manifests are read: only those
    that list a dataset (the rest are left out by SQL, the manifests being canonical JSON).
    """
    rows = runs.store.meta.select(
        "SELECT id, name, started_at, manifest FROM runs WHERE manifest LIKE :has_data"
        " ORDER BY started_at DESC, id",
        {"has_data": '%"data":[{%'},
    )
    uses: dict[str, list[DataUse]] = {}
    for run_id, name, started_at, manifest in rows:
        for item in json.loads(manifest)["inputs"]["data"]:
            if item.get("pointer"):
                use = DataUse(run_id, name, started_at, item.get("version"), item.get("oid"))
                uses.setdefault(item["pointer"], []).append(use)
    return uses


def git_output(root: Path, args: list[str], stdin: bytes | None = None) -> bytes | None:
    """What ``git ARGS`` prints in ``root``; None outside a repository or without git."""
    try:
        done = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def pointer_history(root: Path, pointer_file: str) -> list[DatasetVersion]:
    """Each commit that changed ``pointer_file`` (a checked relative path), newest first, with
    the pointer it left: one ``git log`` and one ``git cat-file --batch`` for all of them."""
    log = git_output(root, ["log", "--format=%H%x1f%at%x1f%s", "--", pointer_file])
    commits = [
        line.split("\x1f", 2) for line in (log or b"").decode("utf-8", "replace").split("\n")
    ]
    commits = [found for found in commits if len(found) == 3]
    wanted = "".join(f"{commit}:{pointer_file}\n" for commit, _, _ in commits).encode()
    blobs = (git_output(root, ["cat-file", "--batch"], wanted) if commits else None) or b""
    versions, at = [], 0
    for commit, seconds, subject in commits:
        end = blobs.find(b"\n", at)
        header, at = blobs[at:end], end + 1
        pointer = None
        if end >= 0 and not header.endswith(b" missing"):  # "<oid> blob <size>", the bytes
            size = int(header.rsplit(b" ", 1)[-1])
            with suppress(UsageError):  # a malformed pointer: the version shows none
                pointer = parse_pointer(blobs[at : at + size], f"{pointer_file}@{commit[:8]}")
            at += size + 1
        versions.append(DatasetVersion(commit, float(seconds), subject, pointer, []))
    return versions


def dataset(root: Path, pointer_file: str, uses: list[DataUse]) -> Dataset:
    """The history of one pointer file, each version with the runs that read it.

    ``pointer_file`` may come from a run's record: it is checked to be a plain path inside the
    project before anything is read or asked of git.
    """
    try:
        workspace = inside(root, pointer_file, "a run's data input")
    except UsageError as err:
        return Dataset(pointer_file, pointer_file, [], uses, str(err))
    versions: list[DatasetVersion] = []
    problem = None
    if workspace.is_file():
        try:
            current = read_pointer(root, workspace).pointer
            versions.append(DatasetVersion(None, None, "in the workspace", current, []))
        except UsageError as err:
            problem = str(err)
    versions += pointer_history(root, pointer_file)
    if (
        len(versions) > 1
        and versions[0].commit is None
        and versions[0].pointer == versions[1].pointer
    ):
        versions.pop(0)  # the workspace holds the last committed version
    placed = set()
    for version in versions:
        for use in uses:
            if version.pointer and use.version == version.pointer.oid and use.run not in placed:
                version.runs.append(use)
                placed.add(use.run)
    named = next((v.pointer for v in versions if v.pointer is not None), None)
    path = (
        pointer_file
        if named is None
        else posixpath.join(posixpath.dirname(pointer_file), named.path)
    )
    others = [use for use in uses if use.run not in placed]
    return Dataset(pointer_file, path, versions, others, problem)


@router.get("/data", response_class=HTMLResponse)
async def data_page(request: Request, runs: Reader) -> HTMLResponse:
    """The project's datasets, their versions in git history, and which runs read each."""
    root = runs.store.project.root
    uses = data_uses(runs)
    pointers = [p.relative_to(root).as_posix() for p in find_pointers(root)]
    names = sorted(set(pointers) | set(uses))
    datasets = [dataset(root, name, uses.get(name, [])) for name in names]
    return TEMPLATES.TemplateResponse(request, "data.html", {"datasets": datasets})
