"""The team server's limit on request bodies, applied before any route reads one.

Every write but an object upload carries JSON (a run's manifest, tags, a list of object ids),
a few KiB to a few MiB; a body past :data:`MAX_BODY_BYTES` is refused with 413 before a route
parses it, so no request makes the server hold more than that in memory. An object upload
(``PUT .../objects/{oid}``) streams to disk instead and has its own limit,
:data:`samerun.sync.MAX_OBJECT_BYTES`, checked as it arrives (:mod:`samerun.server.sync`).
The other limits live where they apply: filters (:mod:`samerun.query`), object ids per
``objects/missing`` request (:data:`samerun.sync.MAX_OIDS_PER_REQUEST`), metric points per
history request (:mod:`samerun.web.api`). The README's "Team server" section lists them all.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samerun.server.policy import OBJECT_PUT

#: The largest request body taken, an object upload aside.
MAX_BODY_BYTES = 16 * 1024 * 1024


class BodyLimit:
    """Refuses (413) a request whose body is larger than ``limit`` bytes, whether it says so
    in Content-Length or not: the body is read first, then handed to ``app`` whole."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] == "PUT" and OBJECT_PUT.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit // (1024 * 1024)
        message = f"a request body may be at most {limit} MiB"
        await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
