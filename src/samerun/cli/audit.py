"""``samerun audit verify``: re-walk the tamper-evident trail (:mod:`samerun.lineage.audit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from samerun._exceptions import UsageError
from samerun.cli import render

if TYPE_CHECKING:
    from samerun.store.project import Store

#: How many runs from before the trail the text report lists.
_SHOWN = 20


@click.group()
def audit() -> None:
    """The tamper-evident trail of runs, verdicts, model versions, alias moves and erasures.

    \b
    Example:
      samerun audit verify
    """


@audit.command("verify")
@click.option(
    "--metadata",
    metavar="URL",
    help="Check a team server's store instead of this project's: its metadata database.",
)
@click.option("--objects", metavar="URL", help="With --metadata: the server's object store.")
@click.option(
    "--noted",
    "noted",
    multiple=True,
    metavar="HASH",
    help="An entry hash kept elsewhere (a head printed before): it must still be on the trail.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_trail(
    metadata: str | None, objects: str | None, noted: tuple[str, ...], as_json: bool
) -> int:
    """Re-walk the trail, re-hash what it names and check the database against it; exit 1 on
    any entry that no longer matches.

    \b
    Example:
      samerun audit verify --json
      samerun audit verify --noted blake3:9f2c...   # a head kept in a release note
      samerun audit verify --metadata postgresql+psycopg://samerun@db/samerun --objects s3://b/p
    """
    from samerun.cli.store import open_project_store
    from samerun.lineage.audit import verify

    if (metadata is None) != (objects is None):
        raise UsageError("give both --metadata and --objects to check a team server's store")
    store = open_project_store() if metadata is None else _server_store(metadata, str(objects))
    try:
        report = verify(store, noted=noted)
    finally:
        store.close()
    if as_json:
        render.print_json(report.to_dict())
        return 0 if report.intact else 1
    if report.started_at is None:
        _print("the trail has no entries yet")
    else:
        _print(
            f"the trail starts at entry 1 on {render.when(report.started_at)}: "
            f"{report.entries} entries, {report.objects_rehashed} object(s) re-hashed"
        )
    if report.before_trail:
        _print(f"{len(report.before_trail)} run(s) recorded before the trail:")
        for run_id in report.before_trail[:_SHOWN]:
            _print(f"  {run_id}")
        if len(report.before_trail) > _SHOWN:
            _print(f"  ... and {len(report.before_trail) - _SHOWN} more (--json lists them all)")
    if report.deleted:
        shown = ", ".join(run_id[:12] for run_id in report.deleted[:_SHOWN])
        more = f" and {len(report.deleted) - _SHOWN} more" if len(report.deleted) > _SHOWN else ""
        _print(f"{len(report.deleted)} run(s) deleted on request, on the trail: {shown}{more}")
    for finding in report.findings:
        render.error_console().print(
            f"tampered: {finding}", highlight=False, markup=False, soft_wrap=True
        )
    if report.intact:
        _print(f"intact; head {report.head}")
    return 0 if report.intact else 1


def _server_store(metadata: str, objects: str) -> Store:
    # start-up: only a check of a team server's store needs the server's modules
    from samerun.server.app import NO_ROOT
    from samerun.store.meta import open_meta_store
    from samerun.store.objects import open_object_store
    from samerun.store.project import Project, Store

    return Store(Project(NO_ROOT), open_meta_store(metadata), open_object_store(objects))


def _print(text: str) -> None:
    render.console().print(text, highlight=False, soft_wrap=True, markup=False)
