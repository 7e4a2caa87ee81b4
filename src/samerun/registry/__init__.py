"""The model registry: immutable versions, aliases whose every move is a hash-chained event,
rollback that checks before it moves, and re-verification of what an alias points at.

``samerun.models`` is this module::

    import samerun

    v = samerun.models.register("churn", run="1a2b", artifacts=["model.pkl"])
    samerun.models.set_alias("churn", "production", v.version, reason="beats v2 on holdout")
    paths = samerun.models.get("churn@production").paths      # local files, checked by hash
    samerun.models.history("churn", alias="production", at=1_763_640_000.0).aliases
    samerun.models.rollback("churn", "production", verify=True)

Each function opens the current project's store (found from the working directory, or
``project=``); :class:`Registry` works on an already open one. The team server adds protected
aliases, model pages and webhooks on top of the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from samerun._exceptions import StoreError
from samerun.registry.model import (
    AliasEvent,
    ChainCheck,
    History,
    Materialized,
    ModelRef,
    ModelSummary,
    ModelVersion,
    Rollback,
    Watch,
)
from samerun.registry.registry import Registry
from samerun.store.project import Project, find_root, open_store

__all__ = [
    "AliasEvent",
    "ChainCheck",
    "History",
    "Materialized",
    "ModelRef",
    "ModelSummary",
    "ModelVersion",
    "Registry",
    "Rollback",
    "Watch",
    "card",
    "check_history",
    "get",
    "history",
    "list_models",
    "open_registry",
    "register",
    "resolve",
    "rollback",
    "set_alias",
    "watch",
]

ProjectPath = str | Path | None


@contextmanager
def open_registry(project: ProjectPath = None, *, create: bool = False) -> Iterator[Registry]:
    """The registry of the project at (or above) ``project``, its store closed on exit."""
    found = Project(find_root(None if project is None else Path(project)))
    if not create and not found.exists:
        raise StoreError(f"no samerun store in {found.root}; record a run or run `samerun init`")
    store = open_store(found, create=create)
    try:
        yield Registry(store)
    finally:
        store.close()


def register(
    name: str,
    run: str,
    artifacts: Sequence[str] = (),
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    project: ProjectPath = None,
) -> ModelVersion:
    """Register the next version of ``name`` from a finished run; see :meth:`Registry.register`."""
    with open_registry(project) as registry:
        return registry.register(name, run, artifacts, description=description, tags=tags)


def resolve(ref: str, *, project: ProjectPath = None) -> ModelVersion:
    """The version ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` names."""
    with open_registry(project) as registry:
        return registry.resolve(ref)


def list_models(*, project: ProjectPath = None) -> list[ModelSummary]:
    """Every model of the project, with its version count and aliases."""
    with open_registry(project) as registry:
        return registry.models()


def set_alias(
    name: str, alias: str, version: int, *, reason: str = "", project: ProjectPath = None
) -> AliasEvent:
    """Point ``alias`` of ``name`` at ``version``; the move is appended to its history."""
    with open_registry(project) as registry:
        return registry.set_alias(name, alias, version, reason=reason)


def history(
    name: str, *, alias: str | None = None, at: float | None = None, project: ProjectPath = None
) -> History:
    """The alias moves of ``name``, and where each alias pointed at ``at`` (a Unix time)."""
    with open_registry(project) as registry:
        return registry.history(name, alias=alias, at=at)


def check_history(name: str, *, project: ProjectPath = None) -> ChainCheck:
    """Re-walk the hash chain of ``name``'s alias events; each problem names its event."""
    with open_registry(project) as registry:
        return registry.check_history(name)


def rollback(
    name: str,
    alias: str,
    *,
    to: int | None = None,
    steps: int = 1,
    verify: bool = False,
    reason: str = "",
    on_event: Callable[[str], None] = lambda _message: None,
    project: ProjectPath = None,
) -> Rollback:
    """Move ``alias`` back to an earlier holder, checked first; see :meth:`Registry.rollback`."""
    with open_registry(project) as registry:
        return registry.rollback(
            name, alias, to=to, steps=steps, verify=verify, reason=reason, on_event=on_event
        )


def get(ref: str, dest: str | Path | None = None, *, project: ProjectPath = None) -> Materialized:
    """The local paths of the files ``ref`` names, checked by hash (never loaded)."""
    with open_registry(project) as registry:
        return registry.get(ref, None if dest is None else Path(dest))


def card(ref: str, *, project: ProjectPath = None) -> str:
    """The Markdown provenance card of the version ``ref`` names."""
    with open_registry(project) as registry:
        return registry.card(ref)


def watch(
    ref: str,
    *,
    on_event: Callable[[str], None] = lambda _message: None,
    project: ProjectPath = None,
) -> Watch:
    """Re-verify what ``ref`` points at now; the result says whether its verdict changed."""
    with open_registry(project) as registry:
        return registry.watch(ref, on_event=on_event)
