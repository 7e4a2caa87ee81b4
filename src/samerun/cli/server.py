"""``samerun server``: serve the team server, and manage its users, tokens, projects, members.

The management commands work on the server's database directly (whoever can reach it with
``--metadata`` administers the server): there is no default account and no password to reset.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import click

from samerun._exceptions import UsageError
from samerun.cli import render
from samerun.cli.ui import listen

if TYPE_CHECKING:
    import sqlalchemy as sa

F = TypeVar("F", bound=Callable[..., object])


def store_options(command: F) -> F:
    """``--metadata`` and ``--objects``, on ``samerun server`` and each of its commands."""
    command = click.option(
        "--objects",
        envvar="SAMERUN_SERVER_OBJECTS",
        metavar="URL",
        help="The object store: s3://bucket/prefix or a directory [env: SAMERUN_SERVER_OBJECTS]."
        " Only serving reads it.",
    )(command)
    return click.option(
        "--metadata",
        envvar="SAMERUN_SERVER_METADATA",
        metavar="URL",
        help="The metadata database: postgresql+psycopg://user@host/db"
        " [env: SAMERUN_SERVER_METADATA].",
    )(command)


def needed(value: str | None, option: str) -> str:
    if not value:
        env = "SAMERUN_SERVER_" + option.upper()
        raise UsageError(f"give the server's --{option} URL (or set {env})")
    return value


@contextlib.contextmanager
def engine_of(metadata: str | None) -> Iterator[sa.Engine]:
    """The server database's engine (its schema created or upgraded first), closed after."""
    from samerun.store.meta import open_meta_store  # start-up: other commands need no SQL

    meta = open_meta_store(needed(metadata, "metadata"), create=True)
    try:
        yield meta.engine
    finally:
        meta.close()


#: Where ``--config`` leaves the file's path and webhooks for the serving command.
CONFIG_KEY = "samerun.server.config"


def _read_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """Make the config file's keys the defaults of ``samerun server`` and, for the store
    options, of every command under it (the command line and environment still win)."""
    if value is None:
        return
    from pathlib import Path

    from samerun.server.config import load_server_config

    config = load_server_config(Path(value))
    ctx.meta[CONFIG_KEY] = (str(Path(value).resolve()), config.webhooks)
    given = config.given()
    stores = {k: v for k, v in given.items() if k in ("metadata", "objects")}

    def defaults_of(command: click.Command) -> dict[str, object]:
        found: dict[str, object] = dict(stores)
        if isinstance(command, click.Group):
            found.update({name: defaults_of(sub) for name, sub in command.commands.items()})
        return found

    ctx.default_map = {**defaults_of(server), **given}


@click.group(invoke_without_command=True)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="SAMERUN_SERVER_CONFIG",
    is_eager=True,
    expose_value=False,
    callback=_read_config,
    help="A YAML file with metadata, objects, host, port, workers, secure_cookies and "
    "webhooks; the options and their variables win over it [env: SAMERUN_SERVER_CONFIG].",
)
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=5005, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Served over TLS (here or by a proxy in front): mark the session cookie Secure.",
)
@click.pass_context
def server(
    ctx: click.Context,
    metadata: str | None,
    objects: str | None,
    host: str,
    port: int,
    workers: int,
    secure_cookies: bool,
) -> None:
    """Serve a team's runs from PostgreSQL and S3, behind sign-in and project roles.

    Every page and API route needs a signed-in member of the project it reads (or an API
    token); there are no default credentials: create the first user with `admin create`.

    \b
    Example:
      samerun server --metadata postgresql+psycopg://samerun@db/samerun \\
                     --objects s3://team-bucket/samerun --host 0.0.0.0 --port 5005 --workers 4
      samerun server --config /etc/samerun/server.yaml
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn  # start-up: the management commands run without the web stack

    from samerun.server.app import serve_server_app

    metadata_url, objects_url = needed(metadata, "metadata"), needed(objects, "objects")
    with engine_of(metadata_url):  # a database that cannot be reached is one line
        pass
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if secure_cookies else "http"
    render.console().print(
        f"samerun server: serving on {scheme}://{shown}:{port} ({workers} worker(s))",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    config_path, webhooks = ctx.meta.get(CONFIG_KEY, (None, ()))
    if workers == 1:
        app = serve_server_app(
            metadata_url, objects_url, host, secure_cookies=secure_cookies, webhooks=webhooks
        )
        config = uvicorn.Config(app, log_level="warning", server_header=False)
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[listen(host, port)])
        return
    os.environ.update(  # each worker process builds the app from these
        SAMERUN_SERVER_METADATA=metadata_url,
        SAMERUN_SERVER_OBJECTS=objects_url,
        SAMERUN_SERVER_HOST=host,
        SAMERUN_SERVER_SECURE_COOKIES="1" if secure_cookies else "0",
    )
    if config_path is not None:  # the workers read its webhooks
        os.environ["SAMERUN_SERVER_CONFIG"] = config_path
    listen(host, port).close()  # a port in use is one sentence, before the workers start
    uvicorn.run(
        "samerun.server.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        server_header=False,
    )


@server.group()
def admin() -> None:
    """Create the server's users."""


@admin.command("create")
@click.argument("name")
@store_options
def admin_create(name: str, metadata: str | None, objects: str | None) -> None:
    """Create user NAME and print its password, once (it is stored only as a hash).

    \b
    Example:
      samerun server admin create alice --metadata postgresql+psycopg://samerun@db/samerun
    """
    from samerun.server.auth import Accounts

    with engine_of(metadata) as engine:
        password = Accounts(engine).create_user(name)
    click.echo(f"created user {name}; password (shown once): {password}")


@server.group()
def token() -> None:
    """Create and revoke users' API tokens (for `samerun push`, CI, scripts)."""


@token.command("create")
@click.argument("user")
@click.option("--name", "label", required=True, help="A label for the token: where it is used.")
@store_options
def token_create(user: str, label: str, metadata: str | None, objects: str | None) -> None:
    """Create an API token for USER and print it, once (it is stored only as a hash).

    \b
    Example:
      samerun server token create alice --name laptop
    """
    from samerun.server.auth import Accounts

    with engine_of(metadata) as engine:
        issued = Accounts(engine).create_token(user, label)
    click.echo(f"created token {label} for {user} (shown once): {issued.secret}")


@token.command("revoke")
@click.argument("user")
@click.option("--name", "label", required=True, help="The label of the token to revoke.")
@store_options
def token_revoke(user: str, label: str, metadata: str | None, objects: str | None) -> None:
    """Revoke USER's token named --name: it is refused from the next request on.

    \b
    Example:
      samerun server token revoke alice --name laptop
    """
    from samerun.server.auth import Accounts

    with engine_of(metadata) as engine:
        revoked = Accounts(engine).revoke_token(user, label)
    if not revoked:
        raise UsageError(f"user {user!r} has no live token named {label!r}")
    click.echo(f"revoked token {label} of {user}")


@server.group()
def project() -> None:
    """Create the server's projects."""


@project.command("create")
@click.argument("name")
@store_options
def project_create(name: str, metadata: str | None, objects: str | None) -> None:
    """Create project NAME; give people roles in it with `member add`.

    \b
    Example:
      samerun server project create vision
    """
    from samerun.server.projects import create_project

    with engine_of(metadata) as engine:
        create_project(engine, name)
    click.echo(f"created project {name}")


@server.group()
def member() -> None:
    """Give users roles in projects."""


@member.command("add")
@click.argument("project_name", metavar="PROJECT")
@click.argument("user")
@click.argument("role_name", metavar="ROLE")
@store_options
def member_add(
    project_name: str, user: str, role_name: str, metadata: str | None, objects: str | None
) -> None:
    """Give USER the ROLE (reader, writer, maintainer, admin) in PROJECT, replacing any other.

    \b
    Example:
      samerun server member add vision alice writer
    """
    from samerun.server.projects import add_member, role

    given = role(role_name)
    with engine_of(metadata) as engine:
        add_member(engine, project_name, user, given)
    click.echo(f"{user} is now {given} of {project_name}")
