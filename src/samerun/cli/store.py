"""The project store as every command opens it."""

from __future__ import annotations

from samerun._exceptions import StoreError
from samerun.cli import render
from samerun.store.project import Project, Store, find_root, open_store


def open_project_store(create: bool = False) -> Store:
    """The current project's store; read-only commands also mark dead runs as failed."""
    project = Project(find_root())
    if not create and not project.exists:
        raise StoreError(f"no samerun store in {project.root}; record a run or run `samerun init`")
    created = not project.exists
    store = open_store(project, create=create)
    if created:
        render.error_console().print(
            f"samerun: created a store in {project.store_dir}", highlight=False
        )
    if store.meta.running_runs():
        from samerun.recorder import reap_stale  # start-up: paid only when a run may be dead

        reap_stale(store)
    return store
