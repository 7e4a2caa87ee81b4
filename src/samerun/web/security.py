"""What every response carries, and what every request must show: the web UI fails closed.

Requests whose ``Host`` header is not one the server answers to are refused before any route
runs (a page on another site that rebinds its DNS name to 127.0.0.1 cannot read the store):
rebinding needs a name the attacker controls, so the names a server answers to are its own
(the loopback names, the machine's name) and the addresses it listens on.
Every response says ``nosniff``, may not be framed, and runs no inline script: the pages load
their scripts from ``/static`` only, so an injected ``<script>`` would not run even if escaping
failed. Raw artifacts are served under their own, stricter policy (see :data:`ARTIFACT_CSP`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import psutil
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
    """``app`` behind the Host check (a foreign Host reaches no route) and the headers (on
    every response, the Host check's refusal too)."""
    return SecurityHeaders(TrustedHostMiddleware(app, allowed_hosts=sorted(set(hosts))))


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WILDCARD = {"0.0.0.0", "::", ""}


def served_hosts(host: str) -> list[str]:
    """The Host names a server bound to ``host`` answers to (any port: the port is the
    server's own, and a rebinding page cannot choose it without choosing the name).

    Bound to loopback: the loopback names. Bound to an address: that address and the machine's
    name. Bound to every interface (``0.0.0.0``, ``::``): that address too (the URL printed), the
    loopback names, the machine's name and every address of its interfaces. An address is never
    an attacker's name, so it is always safe to answer to.
    """
    names = {host}
    if host in LOOPBACK | WILDCARD:
        names |= LOOPBACK
    if host not in LOOPBACK:
        names.add(socket.gethostname())
    if host in WILDCARD:
        names |= {
            found.address.split("%")[0]  # an IPv6 link-local address's zone is no part of Host
            for addresses in psutil.net_if_addrs().values()
            for found in addresses
            if found.family in (socket.AF_INET, socket.AF_INET6)
        }
    return sorted(_as_host_header(name) for name in names if name)


def _as_host_header(name: str) -> str:
    """``name`` as a Host header spells it: an IPv6 address in brackets, names in lower case."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name.lower()
    return f"[{address}]" if address.version == 6 else str(address)
