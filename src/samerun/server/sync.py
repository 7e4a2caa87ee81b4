"""The team server's sync routes: what ``samerun push`` and ``samerun pull`` call.

Writers of a project send objects (re-hashed here, refused unless their bytes hash to the oid
they are sent as, never deserialized; at most :data:`~samerun.sync.MAX_OBJECT_BYTES` each),
then runs, which go in whole, in one transaction, once every object they name is stored.
Readers fetch a run's manifest and its objects.

Objects are stored once, content-addressed, but granted per project: an object enters a project
when a writer of that project sends its bytes, and only then may the project's runs name it and
its readers fetch it. Knowing an object's id grants nothing, and asking whether a project holds
one says nothing about the other projects (their objects count as missing and are sent again).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from samerun._exceptions import SamerunError
from samerun.api import RunReader
from samerun.hashing import hash_bytes, hash_file
from samerun.manifest import Manifest
from samerun.server.policy import Access, requires
from samerun.server.projects import grant_objects, granted_objects, objects_after
from samerun.store.project import Store
from samerun.sync import (
    MAX_OBJECT_BYTES,
    MAX_OIDS_PER_REQUEST,
    PACK_BYTES,
    SyncConflict,
    import_run,
    named_objects,
    run_objects,
    unpack,
)

router = APIRouter(include_in_schema=False)
Read = Annotated[Access, Depends(requires("read"))]
Write = Annotated[Access, Depends(requires("write"))]
OID_LENGTH = len("blake3:") + 64


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _checked_oid(oid: str) -> str:
    """``oid`` if it is one (``blake3:`` and 64 lowercase hex digits), else a 400."""
    digest = oid.removeprefix("blake3:")
    if len(oid) != OID_LENGTH or digest == oid or digest.strip("0123456789abcdef"):
        raise HTTPException(400, f"{oid[:80]!r} is not an object id (blake3:<64 hex digits>)")
    return oid


@router.post("/api/v1/projects/{project}/objects/missing")
async def missing_objects(
    request: Request, project: str, access: Write, oids: Annotated[list[str], Body(embed=True)]
) -> dict[str, list[str]]:
    """Which of ``oids`` the project lacks: what a push must send."""
    if len(oids) > MAX_OIDS_PER_REQUEST:
        raise HTTPException(
            413, f"ask about at most {MAX_OIDS_PER_REQUEST} objects at once, not {len(oids)}"
        )
    checked = [_checked_oid(oid) for oid in oids]
    held = await run_in_threadpool(granted_objects, _store(request).meta.engine, project, checked)
    return {"missing": [oid for oid in checked if oid not in held]}


@router.get("/api/v1/projects/{project}/objects")
async def list_objects(
    request: Request,
    project: str,
    access: Read,
    after: str = "",
    limit: Annotated[int, Query(ge=1, le=MAX_OIDS_PER_REQUEST)] = MAX_OIDS_PER_REQUEST,
) -> dict[str, Any]:
    """The objects ``project`` holds, in id order, ``limit`` after ``after``; ``next`` is the
    ``after`` of the next page (null on the last): what a data remote lists before a push."""
    engine = _store(request).meta.engine
    found = await run_in_threadpool(objects_after, engine, project, after, limit)
    return {"oids": found, "next": found[-1] if len(found) == limit else None}


@router.put("/api/v1/projects/{project}/objects/{oid}")
async def put_object(request: Request, project: str, oid: str, access: Write) -> dict[str, Any]:
    """Store the body as object ``oid`` if its bytes hash to ``oid`` (400 otherwise, 413 past
    the size limit; nothing stored either way)."""
    _checked_oid(oid)
    objects = _store(request).objects
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_OBJECT_BYTES:
        raise _too_large()
    fd, tmp = tempfile.mkstemp(prefix="samerun-put-")
    try:
        size = 0
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_OBJECT_BYTES:
                    raise _too_large()
                await run_in_threadpool(handle.write, chunk)
        if await run_in_threadpool(hash_file, tmp) != oid:
            raise HTTPException(400, f"the body does not hash to {oid}; nothing was stored")
        if not await run_in_threadpool(objects.exists, oid):
            await run_in_threadpool(objects.put_file, tmp, oid)
        await run_in_threadpool(grant_objects, _store(request).meta.engine, project, [oid])
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"oid": oid, "size": size}


@router.post("/api/v1/projects/{project}/objects")
async def put_objects(request: Request, project: str, access: Write) -> dict[str, Any]:
    """Store a pack of objects (:func:`samerun.sync.pack`, at most
    :data:`~samerun.sync.PACK_BYTES`) once every one hashes to its oid, granted in one
    transaction; 400 and nothing stored when one does not, or the pack is malformed."""
    try:
        found = unpack(await request.body())  # at most MAX_BODY_BYTES (server/limits.py)
    except ValueError as err:
        raise HTTPException(400, f"the pack is malformed: {err}; nothing was stored") from err
    if sum(len(data) for _, data in found) > PACK_BYTES:
        limit = PACK_BYTES // (1024 * 1024)
        raise HTTPException(413, f"a pack may hold at most {limit} MiB; nothing was stored")
    for oid, data in found:
        _checked_oid(oid)
        if await run_in_threadpool(hash_bytes, data) != oid:
            raise HTTPException(400, f"the bytes sent as {oid} do not hash to it; nothing stored")
    store = _store(request)
    for oid, data in found:
        await run_in_threadpool(store.objects.put_bytes, data, oid)
    await run_in_threadpool(grant_objects, store.meta.engine, project, [oid for oid, _ in found])
    return {"stored": len(found)}


def _too_large() -> HTTPException:
    limit = MAX_OBJECT_BYTES // (1024 * 1024)
    return HTTPException(
        413, f"an object may be at most {limit} MiB; keep larger ones in a data remote"
    )


@router.post("/api/v1/projects/{project}/runs")
async def add_run(
    request: Request,
    project: str,
    access: Write,
    manifest: Annotated[dict[str, Any], Body()],
    tags: Annotated[dict[str, str], Body()],
) -> dict[str, Any]:
    """Insert a finished run of ``project`` from its manifest, whole, once every object it
    names is stored (else 409, naming them); the same run again is a no-op, a different run
    with its id a 409."""
    try:
        parsed = Manifest.from_dict(manifest)
    except (KeyError, TypeError, ValueError, SamerunError) as err:
        raise HTTPException(400, f"the manifest is malformed: {err}") from err
    if len(parsed.id) != 32 or parsed.id.strip("0123456789abcdef"):
        raise HTTPException(400, f"{parsed.id[:40]!r} is not a run id (32 hex digits)")
    store = _store(request)
    try:
        created = await run_in_threadpool(_import_whole, store, parsed, project)
    except SyncConflict as err:
        detail = str(err) if not err.missing else f"{err} (missing: {', '.join(err.missing)})"
        raise HTTPException(409, detail) from err
    if created and tags:
        await run_in_threadpool(store.meta.set_tags, parsed.id, tags)
    return {"id": parsed.id, "created": created}


def _import_whole(store: Store, manifest: Manifest, project: str) -> bool:
    """Import ``manifest``'s run into ``project`` once every object it needs (down to the
    files of its trees) was sent to that project; else :class:`SyncConflict` naming them."""
    engine = store.meta.engine
    for needed in (named_objects, lambda m: run_objects(store.objects, m)):
        oids = needed(manifest)
        missing = sorted(set(oids) - granted_objects(engine, project, oids))
        if missing:
            raise SyncConflict(
                f"run {manifest.id} names {len(missing)} objects not sent to project "
                f"{project} yet, such as {missing[0]}; send them first",
                missing,
            )
    return import_run(store, manifest, project=project)


@router.get("/api/v1/projects/{project}/runs/{ref}/manifest")
async def run_manifest(request: Request, project: str, ref: str, access: Read) -> dict[str, Any]:
    """The manifest of run ``ref`` of ``project``: what a pull starts from."""
    runs = RunReader(_store(request), projects=access.projects)
    run = await run_in_threadpool(runs.get_run, ref)
    return run.manifest.to_dict()


@router.get("/api/v1/projects/{project}/objects/{oid}")
async def get_object(request: Request, project: str, oid: str, access: Read) -> Response:
    """Object ``oid``'s bytes, streamed from its file where the store has files; a 404 alike
    whether the object is stored for no project or for another one."""
    store = _store(request)
    objects = store.objects
    held = await run_in_threadpool(granted_objects, store.meta.engine, project, [_checked_oid(oid)])
    if not held or not await run_in_threadpool(objects.exists, oid):
        raise HTTPException(404, f"no object {oid} in project {project}")
    path = objects.path_of(oid)
    if path is None:
        data = await run_in_threadpool(objects.get_bytes, oid)
        return Response(data, media_type="application/octet-stream")
    return FileResponse(path, media_type="application/octet-stream")
