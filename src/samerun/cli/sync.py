"""``samerun login``, ``push`` and ``pull``: move runs between this project and a team server.

Thin wrappers over :mod:`samerun.sync`, which does the work and says what it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from samerun.cli import render
from samerun.cli.store import open_project_store

if TYPE_CHECKING:
    from samerun.sync import Remote

URL_HELP = "The server (default: the one `samerun login` signed in to) [env: SAMERUN_SERVER_URL]."


def remote_for(url: str | None, token: str | None = None) -> Remote:
    """The server at ``url`` (default: the only one signed in to), with ``token`` or the one
    ``samerun login`` kept for it."""
    from samerun.sync import Remote, signed_in, token_for

    url = url or signed_in()
    return Remote(url, token if token is not None else token_for(url))


@click.command()
@click.argument("url")
@click.option("--token", help="An API token (`samerun server token create`); asked when not given.")
def login(url: str, token: str | None) -> None:
    """Keep an API token for the team server at URL, once the server accepts it.

    The token goes into ~/.config/samerun/credentials.json (under $XDG_CONFIG_HOME when set),
    readable by you only.

    \b
    Example:
      samerun login https://samerun.example.com
    """
    from samerun.sync import save_token

    if token is None:
        token = click.prompt("API token", hide_input=True).strip()
    remote = remote_for(url, token)
    try:
        user = remote.user()
    finally:
        remote.close()
    path = save_token(url, token)
    render.console().print(f"signed in to {url} as {user}; token kept in {path}", highlight=False)


@click.command()
@click.argument("runs", nargs=-1)
@click.option("--project", "-p", required=True, help="The server's project to push into.")
@click.option("--url", envvar="SAMERUN_SERVER_URL", help=URL_HELP)
def push(runs: tuple[str, ...], project: str, url: str | None) -> None:
    """Push RUNS (default: finished runs not pushed there yet) to a team server's project.

    Only the objects the server lacks are sent; pushing again, after a failure or not, sends
    what is still missing and never duplicates a run.

    \b
    Example:
      samerun push --project vision last
    """
    from samerun.sync import push as push_runs

    remote = remote_for(url)
    store = open_project_store()
    try:
        pushed = push_runs(store, remote, project, runs)
    finally:
        remote.close()
        store.close()
    out = render.console()
    if not pushed:
        out.print(f"nothing to push to {project}", highlight=False)
    for run in pushed:
        what = "pushed" if run.created else "already there"
        out.print(f"{run.run_id}  {what}  ({run.objects_sent} objects sent)", highlight=False)


@click.command()
@click.argument("run")
@click.option("--project", "-p", required=True, help="The server's project to pull from.")
@click.option("--url", envvar="SAMERUN_SERVER_URL", help=URL_HELP)
def pull(run: str, project: str, url: str | None) -> None:
    """Pull RUN of a team server's project into this project's store, objects re-hashed.

    \b
    Example:
      samerun pull 3f2a --project vision
    """
    from samerun.sync import pull as pull_run

    remote = remote_for(url)
    store = open_project_store(create=True)
    try:
        pulled = pull_run(store, remote, project, run)
    finally:
        remote.close()
        store.close()
    what = "pulled" if pulled.created else "already here"
    render.console().print(
        f"{pulled.run_id}  {what}  ({pulled.objects_fetched} objects fetched)", highlight=False
    )
