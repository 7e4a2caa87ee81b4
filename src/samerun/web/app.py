"""The web UI's ASGI app: the store it reads, its templates and static files, its errors.

Handlers are ``async`` and call the read API directly: every request is served on the event
loop's one thread, so the store (one SQLite connection, or a PostgreSQL pool) is never used by
two requests at once, and a request costs no thread hand-off. The read API's queries take
milliseconds; the slowest call, a million-point metric history, about 0.2 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from samerun import __version__
from samerun._exceptions import RunNotFound, SamerunError, UsageError
from samerun.api import RunReader
from samerun.store.project import Project, open_store
from samerun.web import api, pages
from samerun.web.app_state import TEMPLATES
from samerun.web.security import secured, served_hosts

HERE = Path(__file__).resolve().parent


def status_of(err: SamerunError) -> int:
    """The HTTP status a samerun error answers with: 404 unknown, 400 malformed, 500 else."""
    if isinstance(err, RunNotFound):
        return 404
    if isinstance(err, UsageError):
        return 400
    return 500


def create_app(root: Path) -> FastAPI:
    """The UI over the store of the project at ``root`` (opened at start-up, closed at exit)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(Project(root))
        app.state.reader = RunReader(store)
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="samerun",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is served
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.root = root
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(SamerunError)
    async def samerun_error(request: Request, err: SamerunError) -> HTMLResponse | JSONResponse:
        """One clear message: JSON for the API, a page for a person; never a stack trace."""
        status = status_of(err)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(err)}, status_code=status)
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"message": str(err), "status": status}, status_code=status
        )

    return app


def serve_app(root: Path, host: str) -> ASGIApp:
    """:func:`create_app` behind the Host check and the security headers."""
    return secured(create_app(root), served_hosts(host))
