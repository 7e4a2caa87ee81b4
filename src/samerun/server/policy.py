"""What each route of the team server needs, and who may call it: the server fails closed.

Permissions are a closed set: ``public`` (anyone: the sign-in page, scripts and styles),
``read`` (browse and pull), ``write`` (push runs and data, tag runs), ``maintain`` (manage a
project's members) and ``admin`` (grant admin). A role grants a set of them in a project
(:data:`GRANTS`). Every route declares the one it needs with ``Depends(requires(...))``;
:func:`undeclared` lists the routes of an app that do not, and the server refuses to start
with any (a test walks the routes too).

The caller is the user of the ``Authorization: Bearer`` token, or else of the session cookie.
The project is the one the path or query names (``{project}``, ``?project=``), the caller
needing the permission there (else 403); a ``read`` route that names none reads every project
the caller may read, a filter the read API puts into its SQL. A write (any method but GET,
HEAD, OPTIONS) is refused unless its body is JSON (the API), an object's bytes (``PUT
.../objects/{oid}``) or a form (the pages), checked once the caller may make it; signed in by
cookie, it must also come from the server's own origin and carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, NamedTuple, get_args
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount

from samerun.server.auth import SESSION_COOKIE, Accounts, User, csrf_token
from samerun.server.projects import Role, roles_of

Permission = Literal["public", "read", "write", "maintain", "admin"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
#: What each role may do in its project.
GRANTS: dict[Role, frozenset[Permission]] = {
    "reader": frozenset({"read"}),
    "writer": frozenset({"read", "write"}),
    "maintainer": frozenset({"read", "write", "maintain"}),
    "admin": frozenset({"read", "write", "maintain", "admin"}),
}
#: Mounted apps every route check passes: the pages' scripts, styles and vendored libraries.
PUBLIC_MOUNTS = frozenset({"/static"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Where a cookie-authenticated write carries its CSRF token: a form field or a header.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: The body of the pages' forms (sign in, sign out).
FORM = "application/x-www-form-urlencoded"
#: The writes whose body is raw bytes: an object sent by ``samerun push``, and a pack of them.
OBJECT_PUT = re.compile(r"/api/v1/projects/[^/]+/objects/[^/]+")
OBJECT_PACK = re.compile(r"/api/v1/projects/[^/]+/objects")
OCTETS = "application/octet-stream"

Dependency = Callable[[Request], Awaitable["Access"]]
_DECLARED: dict[Callable[..., Any], Permission] = {}


class Caller(NamedTuple):
    """Who sent a request: a user (None: nobody signed in), how, and their roles."""

    user: User | None
    session: str | None  # the session cookie's secret, when signed in by cookie
    roles: Mapping[str, Role]

    def may(self, permission: Permission, project: str) -> bool:
        found = self.roles.get(project)
        return found is not None and permission in GRANTS[found]

    def projects(self, permission: Permission) -> tuple[str, ...]:
        """The projects where the caller has ``permission``, by name."""
        return tuple(sorted(p for p in self.roles if self.may(permission, p)))


class Access(NamedTuple):
    """What a request was allowed: by whom, and on which projects."""

    caller: Caller
    permission: Permission
    projects: tuple[str, ...]  # the projects the request may touch
    project: str | None  # the one its path or query named


@functools.cache
def requires(permission: Permission) -> Dependency:
    """The dependency that lets a request through with ``permission`` or refuses it (401 when
    nobody is signed in, 403 otherwise). One object per permission, so that FastAPI resolves it
    once per request however many times a route's dependencies name it."""
    if permission not in PERMISSIONS:
        raise ValueError(f"{permission!r} is not a permission; use one of {PERMISSIONS}")

    async def dependency(request: Request) -> Access:
        return await authorize(request, permission)

    dependency.__name__ = f"requires_{permission}"
    _DECLARED[dependency] = permission
    return dependency


def declared(route: BaseRoute) -> set[Permission]:
    """The permissions ``route`` declares (empty: none, and the route is refused)."""
    if isinstance(route, Mount):
        return {"public"} if route.path in PUBLIC_MOUNTS else set()
    if not isinstance(route, APIRoute):
        return set()

    def walk(dependant: Dependant) -> set[Permission]:
        found = {_DECLARED[d.call] for d in dependant.dependencies if d.call in _DECLARED}
        for inner in dependant.dependencies:
            found |= walk(inner)
        return found

    return walk(route.dependant)


def undeclared(app: FastAPI) -> list[str]:
    """``METHODS path`` of each route of ``app`` that declares no permission."""
    return [
        f"{','.join(sorted(getattr(route, 'methods', None) or ['*']))} {getattr(route, 'path', '')}"
        for route in app.routes
        if not declared(route)
    ]


async def authorize(request: Request, permission: Permission) -> Access:
    """Let ``request`` through with ``permission``, or raise the HTTP error that refuses it."""
    caller = await identify(request)
    access = allowed(request, caller, permission)
    if request.method not in SAFE_METHODS:
        await check_write(request, caller)
    return access


def allowed(request: Request, caller: Caller, permission: Permission) -> Access:
    """What ``caller`` may touch with ``permission`` in ``request``, or the 401 or 403 that
    refuses it: checked before the body's type, so a refusal never depends on the body."""
    if permission == "public":
        return Access(caller, permission, (), None)
    if caller.user is None:
        raise HTTPException(
            401, "sign in first, or send an API token", headers={"www-authenticate": "Bearer"}
        )
    project = request.path_params.get("project") or request.query_params.get("project")
    if project is not None:
        if not caller.may(permission, project):
            raise HTTPException(403, f"you have no {permission} permission on project {project!r}")
        return Access(caller, permission, (project,), project)
    if permission != "read":  # only reading may span projects
        raise HTTPException(403, f"a {permission} request must name its project")
    return Access(caller, permission, caller.projects("read"), None)


async def identify(request: Request) -> Caller:
    """The caller of ``request`` (looked up once per request): a bad token is a 401, a missing
    or stale session cookie is nobody."""
    known: Caller | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    accounts: Accounts = request.app.state.accounts
    user, session = None, None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer":
            user = await run_in_threadpool(accounts.token_user, secret.strip())
        if user is None:
            raise HTTPException(
                401,
                "the API token is not valid (revoked or mistyped); create a new one with "
                "`samerun server token create`",
                headers={"www-authenticate": "Bearer"},
            )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        user = await run_in_threadpool(accounts.session_user, cookie)
        session = cookie if user is not None else None
    roles = {} if user is None else await run_in_threadpool(roles_of, accounts.engine, user.id)
    caller = Caller(user, session, roles)
    request.state.caller = caller
    return caller


async def check_write(request: Request, caller: Caller) -> None:
    """Refuse a write whose body is not what the route reads (415), or that a page on another
    site could have sent in the caller's name (403): by cookie, or anonymously (signing in),
    it must come from this server's origin, and by cookie carry the session's CSRF token.
    A request with an API token carries no ambient credential, so it needs neither."""
    wanted = body_type(request)
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent != wanted:
        raise HTTPException(415, f"send this request's body as {wanted}, not {sent or 'nothing'}")
    if "authorization" in request.headers:
        return
    if not same_origin(request):
        raise HTTPException(403, "a cross-origin request is refused: it came from another site")
    # Signing in again (as someone else, say) holds an old session's cookie but comes from the
    # sign-in form, which has no token: the same-origin check above is its protection.
    if caller.session is not None and request.url.path != SIGN_IN:
        given = request.headers.get(CSRF_HEADER)
        if given is None and wanted == FORM:
            given = (await form_of(request)).get(CSRF_FIELD)
        if given is None or not _equal(given, csrf_token(caller.session)):
            raise HTTPException(
                403, "the request's CSRF token is missing or wrong; reload the page"
            )


#: The sign-in form's path.
SIGN_IN = "/login"


def body_type(request: Request) -> str:
    """The body a write must send: an object's bytes (:data:`OBJECT_PUT`) or a pack of them
    (:data:`OBJECT_PACK`), JSON to the rest of the API, a form to the pages."""
    path = request.url.path
    if request.method == "PUT" and OBJECT_PUT.fullmatch(path):
        return OCTETS
    if request.method == "POST" and OBJECT_PACK.fullmatch(path):
        return OCTETS
    return "application/json" if path.startswith("/api/") else FORM


def same_origin(request: Request) -> bool:
    """Whether the request's ``Origin`` (or, without one, its ``Referer``) is this server: the
    same host and port its ``Host`` header (checked against the allow-list) names."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    secure = request.app.state.secure_cookies
    scheme_ok = parts.scheme == "https" or (not secure and parts.scheme == "http")
    return scheme_ok and parts.netloc.lower() == request.headers.get("host", "").lower()


async def form_of(request: Request) -> dict[str, str]:
    """A form body's fields (the first value of each); the body stays readable after."""
    body = (await request.body()).decode("utf-8", "replace")
    return {key: values[0] for key, values in parse_qs(body, max_num_fields=20).items()}


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
