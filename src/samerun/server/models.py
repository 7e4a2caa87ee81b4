"""The team server's shared model registry: list and show a project's models, register versions
from its runs, move aliases, protect them.

A model belongs to the project of its first version's run; every route names the project and
reads or writes only its models. Registering and moving an alias need ``write``; a protected
alias moves only for a ``maintain`` caller, and protecting one needs ``maintain``. Each move (and
each protection) is told to the configured webhooks (:mod:`samerun.server.webhooks`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from samerun.registry.model import AliasEvent
from samerun.registry.registry import Registry
from samerun.server.policy import Access, requires
from samerun.server.webhooks import Notifier

router = APIRouter(include_in_schema=False)
Read = Annotated[Access, Depends(requires("read"))]
Write = Annotated[Access, Depends(requires("write"))]
Maintain = Annotated[Access, Depends(requires("maintain"))]
PREFIX = "/api/v1/projects/{project}/models"


def _registry(request: Request, access: Access) -> Registry:
    user = access.caller.user
    return Registry(
        request.app.state.store,
        actor=None if user is None else user.name,
        projects=access.projects,
    )


def _notify(request: Request, project: str, kind: str, event: AliasEvent) -> None:
    notifier: Notifier = request.app.state.notifier
    notifier.notify(
        kind,
        {
            "project": project,
            "model": event.model,
            "alias": event.alias,
            "from_version": event.from_version,
            "to_version": event.to_version,
            "actor": event.actor,
            "at": event.at,
            "reason": event.reason,
            "event_hash": event.hash,
        },
    )


@router.get("/api/v1/models")
async def list_models(request: Request, access: Read) -> dict[str, Any]:
    """The models of the projects the caller reads (``?project=`` narrows to one)."""
    found = await run_in_threadpool(_registry(request, access).models)
    return {"models": [model.to_dict() for model in found]}


@router.get(PREFIX + "/{name}")
async def show_model(request: Request, project: str, name: str, access: Read) -> dict[str, Any]:
    """Model ``name`` of ``project``: its versions, its aliases and which are protected."""
    registry = _registry(request, access)

    def read() -> dict[str, Any]:
        return {
            "model": name,
            "project": project,
            "versions": [v.to_dict() for v in registry.versions(name)],
            "aliases": registry.aliases(name),
            "protected": registry.protected(name),
        }

    return await run_in_threadpool(read)


@router.get(PREFIX + "/{name}/history")
async def model_history(
    request: Request, project: str, name: str, access: Read, alias: str | None = None
) -> dict[str, Any]:
    """Every alias move of model ``name`` (of ``alias`` only, when given), oldest first."""
    registry = _registry(request, access)
    found = await run_in_threadpool(lambda: registry.history(name, alias=alias))
    return found.to_dict()


@router.post(PREFIX + "/{name}/versions")
async def register_version(
    request: Request,
    project: str,
    name: str,
    access: Write,
    run: Annotated[str, Body()],
    artifacts: Annotated[list[str] | None, Body()] = None,
    description: Annotated[str, Body()] = "",
    tags: Annotated[dict[str, str] | None, Body()] = None,
) -> dict[str, Any]:
    """Register the next version of model ``name`` from run ``run`` of ``project``."""
    registry = _registry(request, access)
    version = await run_in_threadpool(
        lambda: registry.register(
            name, run, artifacts or (), description=description, tags=tags or {}
        )
    )
    return version.to_dict()


@router.put(PREFIX + "/{name}/aliases/{alias}")
async def move_alias(
    request: Request,
    project: str,
    name: str,
    alias: str,
    access: Write,
    version: Annotated[int, Body()],
    reason: Annotated[str, Body()] = "",
) -> dict[str, Any]:
    """Point ``alias`` of model ``name`` at ``version``; a protected alias moves only for a
    maintainer of the project."""
    registry = _registry(request, access)
    protected = await run_in_threadpool(registry.protected, name)
    if alias in protected and not access.caller.may("maintain", project):
        raise HTTPException(
            403, f"alias {alias} of {name} is protected: only a maintainer of {project} moves it"
        )
    event = await run_in_threadpool(lambda: registry.set_alias(name, alias, version, reason=reason))
    _notify(request, project, "alias.moved", event)
    return event.to_dict()


@router.put(PREFIX + "/{name}/aliases/{alias}/protection")
async def protect_alias(
    request: Request,
    project: str,
    name: str,
    alias: str,
    access: Maintain,
    protected: Annotated[bool, Body(embed=True)],
) -> dict[str, Any]:
    """Protect ``alias`` of model ``name`` (only maintainers move it then), or lift it."""
    registry = _registry(request, access)
    now = await run_in_threadpool(lambda: registry.protect(name, alias, protected))
    return {"model": name, "protected": now}
