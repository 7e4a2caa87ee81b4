"""The web UI's ASGI app: the store it reads, its templates and static files, its errors.

Handlers are ``async`` and call the read API directly: every request is served on the event
loop's one thread, so the store (one SQLite connection, or a PostgreSQL pool) is never used by
two requests at once, and a request costs no thread hand-off. The read API's queries take
milliseconds; the slowest call, a million-point metric history, about 0.2 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
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
    # Pages, JSON and scripts compress 4-8x (a 100-row runs page: about 100 KB of HTML).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(SamerunError)
    async def samerun_error(request: Request, err: SamerunError) -> Response:
        return error_response(request, str(err), status_of(err))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        """An unknown URL or method, a missing static file: the same message as any error."""
        path = request.url.path
        message = {
            404: f"nothing at {path}",
            405: f"{request.method} is not allowed at {path}",
        }.get(err.status_code, err.detail)
        return error_response(request, message, err.status_code, err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> Response:
        """A parameter of the wrong type or range: 400, naming the parameter."""
        problems = [
            f"{'.'.join(map(str, problem['loc'][1:]))}: {problem['msg'][:1].lower()}"
            f"{problem['msg'][1:]}"
            for problem in err.errors()
        ]
        return error_response(request, "; ".join(problems), 400)

    return app


def error_response(
    request: Request, message: str, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """One clear message: JSON for the API, a page for a person; never a stack trace."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"message": message, "status": status},
        status_code=status,
        headers=headers,
    )


def serve_app(root: Path, host: str) -> ASGIApp:
    """:func:`create_app` behind the Host check and the security headers."""
    return secured(create_app(root), served_hosts(host))
