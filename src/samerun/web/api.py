"""The JSON API under ``/api/v1``: the read API over HTTP, for the pages' scripts and for tools.

Every path a URL names (an artifact, a file of a dataset) is looked up among the paths the
run's record lists, never joined to a directory: nothing outside the store can be named, so
``../`` and its encodings find nothing (404). Recorded files are served under a sandboxing
Content-Security-Policy, as attachments unless they are images, and never unpickled.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from samerun._exceptions import UsageError
from samerun.api import RecordedRun, RunReader
from samerun.data.tree import load_tree
from samerun.series import series_view
from samerun.web.app_state import reader
from samerun.web.security import ARTIFACT_CSP

#: What every error of the API answers: one sentence, what was wrong and what to do.
ERROR = {
    "description": "Bad input (400) or not found (404)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}
# declared for every route, in place of FastAPI's 422: a bad parameter is a 400 here
router = APIRouter(prefix="/api/v1", tags=["runs"], responses={"4XX": ERROR})
Reader = Annotated[RunReader, Depends(reader)]

#: Recorded files shown inline (as images); every other file is a download.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
#: The most bytes of a file returned for a preview.
PREVIEW_BYTES = 64 * 1024
# The runs routes answer with a JSONResponse of plain JSON values: FastAPI's own encoder would
# walk every value of a whole record again (hundreds of distributions) before json.dumps.


@router.get("/runs")
async def list_runs(
    runs: Reader,
    filter: str | None = None,
    sort: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: str | None = None,
) -> JSONResponse:
    """A page of runs: ``filter`` in the read API's grammar, ``sort`` keys (``name``,
    ``metrics.accuracy desc``), ``page_token`` the previous page's ``next_page_token``."""
    page = runs.runs(filter, sort or (), limit, page_token)
    return JSONResponse(
        {
            "runs": [
                {**run.to_dict(), "metrics": {k: m.last for k, m in run.metrics.items()}}
                for run in page
            ],
            "next_page_token": page.next_page_token,
            "total": runs.count(filter),
        }
    )


@router.get("/keys")
async def keys(runs: Reader) -> dict[str, list[str]]:
    """Every param, metric and tag key of the project's runs (the column chooser's list)."""
    return runs.keys()


@router.get("/runs/{ref}")
async def get_run(runs: Reader, ref: str) -> JSONResponse:
    """One run's whole record, its listing fields and its verification history."""
    run = runs.get_run(ref)
    record = {
        **run.manifest.to_dict(),
        "info": run.info.to_dict(),
        "verifications": [v.to_dict() for v in run.verifications],
    }
    return JSONResponse(record)


@router.get("/runs/{ref}/metrics/{key:path}/history")
async def metric_history(
    runs: Reader,
    ref: str,
    key: str,
    max_points: Annotated[int, Query(ge=1, le=20_000)] = 1500,
    min_step: int | None = None,
    max_step: int | None = None,
) -> dict[str, Any]:
    """Metric ``key`` in buckets of min, max and last over its steps (or a step range)."""
    history = runs.get_run(ref).metric_history(
        key, max_points, min_step=min_step, max_step=max_step
    )
    return history.to_dict()


@router.get("/runs/{ref}/metrics/{key:path}/csv", response_class=PlainTextResponse)
async def metric_csv(runs: Reader, ref: str, key: str) -> Response:
    """Every point of metric ``key`` as CSV (step,value), streamed."""
    run = runs.get_run(ref)
    summary = run.metrics.get(key)
    if summary is None:
        raise UsageError(f"run {run.id[:8]} has no metric {key!r}")
    steps, values = series_view(run.objects.get_bytes(summary.series))

    def lines() -> Iterator[str]:
        yield "step,value\n"
        for start in range(0, len(steps), 10_000):
            chunk = zip(steps[start : start + 10_000], values[start : start + 10_000], strict=True)
            yield "".join(f"{step},{value!r}\n" for step, value in chunk)

    filename = f"{run.id[:8]}-{_safe_name(key)}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/runs/{ref}/patch", response_class=PlainTextResponse)
async def patch(runs: Reader, ref: str) -> Response:
    """The run's recorded uncommitted change, as text (empty when the tree was clean)."""
    run = runs.get_run(ref)
    oid = run.manifest.inputs.code.patch
    text = run.objects.get_bytes(oid).decode("utf-8", "replace") if oid else ""
    return PlainTextResponse(text, headers={"content-security-policy": ARTIFACT_CSP})


@router.get("/runs/{ref}/artifacts/{path:path}")
async def artifact(runs: Reader, ref: str, path: str) -> Response:
    """A recorded output file, by the path the record lists (a file of a recorded directory
    too): images inline, anything else as a download; always sandboxed."""
    run = runs.get_run(ref)
    oid = artifact_oid(run, path)
    if oid is None:
        return JSONResponse(
            {"error": f"run {run.id[:8]} recorded no output file {path!r}"}, status_code=404
        )
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    media = IMAGE_TYPES.get(suffix)
    headers = {"content-security-policy": ARTIFACT_CSP}
    if media is None:
        media = "application/octet-stream"
        headers["content-disposition"] = f'attachment; filename="{_safe_name(path)}"'
    return Response(run.objects.get_bytes(oid), media_type=media, headers=headers)


def artifact_oid(run: RecordedRun, path: str) -> str | None:
    """The object of output file ``path`` of ``run``, found among the recorded paths only."""
    for recorded in run.manifest.outputs.artifacts:
        if recorded.path == path and recorded.kind == "file":
            return recorded.oid
        if recorded.kind == "dir" and path.startswith(recorded.path + "/"):
            inner = path[len(recorded.path) + 1 :]
            tree = load_tree(run.objects, recorded.oid)
            return next((e.oid for e in tree.entries if e.path == inner), None)
    return None


def _safe_name(text: str) -> str:
    """``text`` as a download's file name: its last part, letters, digits and ``.-_`` only."""
    last = text.rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in last) or "download"
