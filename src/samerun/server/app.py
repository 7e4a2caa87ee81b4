"""The team server's ASGI app: the web UI's routes over PostgreSQL and S3, behind sign-in.

The UI's pages and ``/api/v1`` routes are served as they are, each declared ``read``: the read
API they use is narrowed to the projects the caller reads (``?project=`` narrows it to one), in
SQL. The data page is not served: it reads a git work tree, which a server has none of. The
server adds signing in and out, the caller's session, the first writes (a run's tags, by a
project's writers) and sync (:mod:`samerun.server.sync`: push and pull). Errors are one
sentence; a 500 says only that the server failed (its log has the rest), never a path, a URL or
a secret.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from samerun import __version__
from samerun._exceptions import SamerunError
from samerun.api import RunReader
from samerun.server.auth import SESSION_COOKIE, SESSION_TTL_S, Accounts, LoginLimiter, csrf_token
from samerun.server.config import load_server_config
from samerun.server.limits import BodyLimit
from samerun.server.models import router as models_router
from samerun.server.policy import Access, form_of, requires, undeclared
from samerun.server.projects import members_of
from samerun.server.sync import router as sync_router
from samerun.server.webhooks import Notifier, Webhook
from samerun.store.meta import open_meta_store
from samerun.store.objects import open_object_store
from samerun.store.project import Project, Store
from samerun.web import api, pages
from samerun.web.app import create_app, error_response, status_of
from samerun.web.app_state import reader
from samerun.web.security import secured, served_hosts

HERE = Path(__file__).resolve().parent
WEB = HERE.parent / "web"
#: The server has no project directory: runs arrive whole (no journal to read), and nothing
#: under a path inside a file can exist, so no lookup there ever finds anything.
NO_ROOT = Path(os.devnull) / "samerun-server"
#: Pages of the UI the server does not serve (they read a git work tree).
NOT_SERVED = frozenset({"/data"})
#: Its own templates first, then the UI's (the sign-in page extends the UI's base page).
TEMPLATES = Jinja2Templates(directory=[HERE / "templates", WEB / "templates"])

Read = Annotated[Access, Depends(requires("read"))]
Handler = Callable[[Request, Exception], Awaitable[Response]]


def team_reader(request: Request, access: Read) -> RunReader:
    """The read API over the server's store, narrowed to the projects ``access`` allows: what
    every UI route reads through, in place of the local UI's whole-store reader."""
    return RunReader(request.app.state.store, projects=access.projects)


def create_server_app(
    metadata_url: str,
    objects_url: str,
    *,
    secure_cookies: bool = False,
    limiter: LoginLimiter | None = None,
    webhooks: Sequence[Webhook] = (),
) -> FastAPI:
    """The server over the stores at ``metadata_url`` (created or upgraded at start-up) and
    ``objects_url``. ``secure_cookies``: it is served over TLS (directly or behind a proxy),
    so the session cookie is marked ``Secure`` and writes must come from an https origin.
    ``webhooks`` are told of every alias move (:mod:`samerun.server.webhooks`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        meta = open_meta_store(metadata_url, create=True)
        app.state.store = Store(Project(NO_ROOT), meta, open_object_store(objects_url))
        app.state.accounts = Accounts(meta.engine)
        app.state.notifier = Notifier(webhooks)
        try:
            yield
        finally:
            app.state.notifier.close()
            meta.close()

    app = FastAPI(
        title="samerun server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.secure_cookies = secure_cookies
    app.state.not_served = NOT_SERVED  # the pages' navigation leaves these out
    app.state.limiter = limiter or LoginLimiter()
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    read = [Depends(requires("read"))]
    _add_routes(app, router.routes, [])
    _add_routes(app, sync_router.routes, [])  # push and pull, each declaring its permission
    _add_routes(app, models_router.routes, [])  # the shared registry, likewise
    _add_routes(app, api.router.routes, read)
    _add_routes(
        app, [r for r in pages.router.routes if getattr(r, "path", "") not in NOT_SERVED], read
    )
    app.dependency_overrides[reader] = team_reader
    _add_error_handlers(app)
    missing = undeclared(app)
    if missing:  # a programming error: the server would otherwise serve a route unguarded
        raise RuntimeError(f"routes without a permission declaration: {', '.join(missing)}")
    return app


def _add_routes(app: FastAPI, routes: list[BaseRoute], dependencies: list[Any]) -> None:
    """Each of ``routes`` as a route of ``app``'s own, with ``dependencies`` added (not an
    included router, whose routes FastAPI resolves lazily, out of the route walk's reach)."""
    for route in routes:
        assert isinstance(route, APIRoute)  # the UI's and the server's routers hold only these
        app.router.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            dependencies=[*route.dependencies, *dependencies],
            response_class=route.response_class,
            name=route.name,
            include_in_schema=False,
        )


def serve_server_app(
    metadata_url: str,
    objects_url: str,
    host: str,
    *,
    secure_cookies: bool = False,
    webhooks: Sequence[Webhook] = (),
) -> ASGIApp:
    """:func:`create_server_app` behind the UI's Host check and security headers, with the
    body limit (:mod:`samerun.server.limits`)."""
    app = create_server_app(
        metadata_url, objects_url, secure_cookies=secure_cookies, webhooks=webhooks
    )
    return secured(BodyLimit(app), served_hosts(host))


def from_environment() -> ASGIApp:
    """The served app as ``samerun server`` configures it for its worker processes, from
    ``SAMERUN_SERVER_METADATA``, ``SAMERUN_SERVER_OBJECTS``, ``SAMERUN_SERVER_HOST``,
    ``SAMERUN_SERVER_SECURE_COOKIES`` and the webhooks of ``SAMERUN_SERVER_CONFIG``'s file
    (uvicorn's factory: each worker builds its own)."""
    config = os.environ.get("SAMERUN_SERVER_CONFIG")
    return serve_server_app(
        os.environ["SAMERUN_SERVER_METADATA"],
        os.environ["SAMERUN_SERVER_OBJECTS"],
        os.environ.get("SAMERUN_SERVER_HOST", "127.0.0.1"),
        secure_cookies=os.environ.get("SAMERUN_SERVER_SECURE_COOKIES") == "1",
        webhooks=load_server_config(Path(config)).webhooks if config else (),
    )


def _add_error_handlers(app: FastAPI) -> None:
    """The UI's error handlers, with two changes: an anonymous page request is sent to sign
    in, and a 500 names nothing of the server (paths, URLs) but says to read its log."""
    web = create_app(NO_ROOT).exception_handlers  # never started: only its handlers are used
    http_error: Handler = web[HTTPException]  # type: ignore[assignment]  # both are async
    samerun_error: Handler = web[SamerunError]  # type: ignore[assignment]

    async def refused(request: Request, err: Exception) -> Response:
        assert isinstance(err, HTTPException)
        if err.status_code == 401 and not request.url.path.startswith("/api/"):
            target = quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return await http_error(request, err)

    async def failed(request: Request, err: Exception) -> Response:
        assert isinstance(err, SamerunError)
        if status_of(err) >= 500:
            return error_response(request, "the server failed; its log says why", 500)
        return await samerun_error(request, err)

    app.add_exception_handler(HTTPException, refused)
    app.add_exception_handler(SamerunError, failed)
    app.add_exception_handler(RequestValidationError, web[RequestValidationError])


# -- the server's own routes -----------------------------------------------------------------------

router = APIRouter(include_in_schema=False)
Public = Depends(requires("public"))


def local_path(target: str | None) -> str:
    """``target`` if it is a path of this server (where to go after signing in), else ``/``:
    never another site (``//host``, ``/\\host``, ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def login_page(
    request: Request, message: str = "", status: int = 200, *, name: str = "", next: str = "/"
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        "login.html",
        {"message": message, "name": name, "next": local_path(next)},
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse, dependencies=[Public])
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in page."""
    return login_page(request, next=next)


@router.post("/login", dependencies=[Public])
async def login(request: Request) -> Response:
    """Check a name and password; on success start a session (a new one: a session id set
    before signing in is never reused) and go where the user was going."""
    form = await form_of(request)
    name, password = form.get("name", ""), form.get("password", "")
    target = local_path(form.get("next"))
    client = request.client.host if request.client else ""
    limiter: LoginLimiter = request.app.state.limiter
    wait = limiter.retry_after(name, client)
    if wait > 0:
        refusal = login_page(
            request,
            f"too many failed sign-ins; try again in {int(wait) + 1} seconds",
            429,
            name=name,
            next=target,
        )
        refusal.headers["retry-after"] = str(int(wait) + 1)
        return refusal
    accounts: Accounts = request.app.state.accounts
    user = await run_in_threadpool(accounts.check_password, name, password)  # argon2: ~50 ms
    if user is None:
        limiter.failed(name, client)
        return login_page(request, "wrong user name or password", 401, name=name, next=target)
    limiter.succeeded(name, client)
    secret = await run_in_threadpool(accounts.start_session, user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
    return response


@router.get("/logout", response_class=HTMLResponse)
async def logout_form(request: Request, access: Read) -> HTMLResponse:
    """The sign-out page: a button (signing out is a write, so it is a POST with the token)."""
    session = access.caller.session
    return TEMPLATES.TemplateResponse(
        request,
        "logout.html",
        {
            "user": access.caller.user.name if access.caller.user else "",
            "csrf_token": csrf_token(session) if session else "",
        },
    )


@router.post("/logout")
async def logout(request: Request, access: Read) -> Response:
    """End the session: its cookie is refused from now on, wherever a copy of it is."""
    if access.caller.session is not None:
        accounts: Accounts = request.app.state.accounts
        await run_in_threadpool(accounts.end_session, access.caller.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


@router.get("/api/v1/session")
async def session(access: Read) -> dict[str, Any]:
    """Who is signed in, their role in each project, and the CSRF token a page's script sends
    with a write (``X-CSRF-Token``); null when signed in by API token."""
    caller = access.caller
    return {
        "user": caller.user.name if caller.user else None,
        "projects": dict(sorted(caller.roles.items())),
        "csrf_token": csrf_token(caller.session) if caller.session else None,
    }


@router.get("/api/v1/projects/{project}/members")
async def members(
    request: Request, project: str, access: Annotated[Access, Depends(requires("maintain"))]
) -> dict[str, Any]:
    """The members of ``project`` and their roles (its maintainers manage them)."""
    found = members_of(request.app.state.accounts.engine, project)
    return {"members": [{"user": m.user, "role": m.role} for m in found]}


@router.put("/api/v1/projects/{project}/runs/{ref}/tags")
async def set_tags(
    request: Request,
    project: str,
    ref: str,
    tags: Annotated[dict[str, str | None], Body()],
    access: Annotated[Access, Depends(requires("write"))],
) -> dict[str, Any]:
    """Set (or, with null, remove) tags of run ``ref`` of ``project``; its writers may."""
    runs = RunReader(request.app.state.store, projects=access.projects)
    runs.set_tags(ref, tags)
    return {"tags": runs.get_run(ref).info.tags}
