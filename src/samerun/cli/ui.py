"""``samerun ui``: serve the web UI over the project's store."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import click

from samerun._exceptions import StoreError, UsageError
from samerun.cli import render


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=5005, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--store",
    "project",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The project whose store to serve [default: the one around the current directory].",
)
def ui(host: str, port: int, project: Path | None) -> None:
    """Browse, compare and check runs in the browser.

    Serves this project's runs on http://127.0.0.1:5005 (only this machine can reach it unless
    --host says otherwise). Nothing is fetched from the internet: the pages' scripts ship with
    samerun. Stop it with Ctrl-C.

    \b
    Example:
      samerun ui
      samerun ui --port 8080 --store path/to/project
    """
    import uvicorn  # start-up: every other command runs without the web stack

    from samerun.store.project import Project, find_root, open_store
    from samerun.web.app import serve_app

    root = find_root(project.resolve() if project else None)
    if not Project(root).exists:
        raise StoreError(f"no samerun store in {root}; record a run there first")
    open_store(Project(root)).close()  # a store that cannot be read is one line, not a traceback
    listening = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    # one line, as written (a path may hold [brackets]), however narrow the terminal
    render.console().print(
        f"samerun ui: serving {root} on {url}", highlight=False, markup=False, soft_wrap=True
    )
    config = uvicorn.Config(serve_app(root, host), log_level="warning", server_header=False)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops, not an error
        uvicorn.Server(config).run(sockets=[listening])


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, bound before the URL is printed: a port in use is
    one sentence, not a server that says it serves and then exits."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarts reuse the port
        sock.bind((host, port))
        sock.listen()
    except OSError as err:
        sock.close()
        raise UsageError(
            f"cannot listen on {host} port {port}: {err.strerror or err}; "
            "choose another with --port (or --host)"
        ) from None
    return sock
