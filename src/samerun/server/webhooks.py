"""Webhooks: the team server tells other systems when a model's alias moves.

Each webhook is a URL and a secret, configured by the server's administrator (the ``webhooks``
key of the config file), never by an API caller: the server sends requests only where its
administrator said. Each event is a JSON POST, sent from a background thread so that no request
waits on a slow receiver, tried up to :data:`ATTEMPTS` times, with these headers:

- ``X-Samerun-Event``: the event's kind, e.g. ``alias.moved``, ``alias.protected``;
- ``X-Samerun-Delivery``: a unique id (the same on each try of one delivery);
- ``X-Samerun-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the body under the
  webhook's secret. A receiver recomputes it over the raw body and compares in constant time.

The body (README, "Webhooks") is the event: ``{"event", "delivery", "sent_at", "project",
"model", "alias", "from_version", "to_version", "actor", "at", "reason", "event_hash"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import httpx

logger = logging.getLogger("samerun.server")

ATTEMPTS = 3
FIRST_WAIT_S = 1.0
TIMEOUT_S = 10.0
SIGNATURE_HEADER = "x-samerun-signature"


class Webhook(NamedTuple):
    url: str
    secret: str


def signature(secret: str, body: bytes) -> str:
    """The ``X-Samerun-Signature`` of ``body``: ``sha256=`` and its hex HMAC under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    """Sends each event to every webhook, in the background."""

    def __init__(self, webhooks: Sequence[Webhook], *, wait_s: float = FIRST_WAIT_S) -> None:
        self.webhooks = list(webhooks)
        self.wait_s = wait_s
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="samerun-webhook")

    def notify(self, kind: str, event: dict[str, Any]) -> None:
        for hook in self.webhooks:
            self._pool.submit(self._deliver, hook, kind, event)

    def close(self) -> None:
        """Wait for the deliveries under way, then stop."""
        self._pool.shutdown(wait=True)

    def _deliver(self, hook: Webhook, kind: str, event: dict[str, Any]) -> None:
        delivery = uuid.uuid4().hex
        payload = {"event": kind, "delivery": delivery, "sent_at": time.time(), **event}
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "content-type": "application/json",
            "x-samerun-event": kind,
            "x-samerun-delivery": delivery,
            SIGNATURE_HEADER: signature(hook.secret, body),
        }
        for attempt in range(ATTEMPTS):
            try:
                answer = httpx.post(hook.url, content=body, headers=headers, timeout=TIMEOUT_S)
                if answer.is_success:
                    return
                problem = f"answered {answer.status_code}"
            except httpx.HTTPError as err:
                problem = f"failed: {err.__class__.__name__}"
            if attempt + 1 < ATTEMPTS:
                time.sleep(self.wait_s * 2**attempt)
        logger.warning(
            "webhook %s %s for %s %s after %d tries", hook.url, problem, kind, delivery, ATTEMPTS
        )
