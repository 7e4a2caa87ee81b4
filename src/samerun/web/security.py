"""What every response carries, and what every request must show: the web UI fails closed.

Requests whose ``Host`` header is not one the server answers to are refused before any route
runs (a page on another site that rebinds its DNS name to 127.0.0.1 cannot read the store).
Every response says ``nosniff``, may not be framed, and runs no inline script: the pages load
their scripts from ``/static`` only, so an injected ``<script>`` would not run even if escaping
failed. Raw artifacts are served under their own, stricter policy (see :data:`ARTIFACT_CSP`).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The pages' policy: their own scripts, styles and images; nothing inline, nothing framed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; frame-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: A recorded file served as it is: a sandbox with no script, no origin, no network.
ARTIFACT_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Adds :data:`HEADERS` and a Content-Security-Policy to every response (``PAGE_CSP`` unless
    the route set a stricter one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [
                    (name.encode(), value.encode())
                    for name, value in HEADERS.items()
                    if name.encode() not in names
                ]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def secured(app: ASGIApp, hosts: Iterable[str]) -> ASGIApp:
    """``app`` behind the Host check (outermost: a foreign Host reaches nothing) and headers."""
    return TrustedHostMiddleware(SecurityHeaders(app), allowed_hosts=sorted(set(hosts)))


def served_hosts(host: str) -> list[str]:
    """The Host names a server bound to ``host`` answers to (any port: the port is the
    server's own, and a rebinding page cannot choose it without choosing the name)."""
    names = {host}
    if host in ("127.0.0.1", "localhost", "::1"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return sorted(names)
