from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest

from samerun.server.webhooks import ATTEMPTS, SIGNATURE_HEADER, Notifier, Webhook, signature
from tests.conftest import Receiver

SECRET = "0123456789abcdef-secret"


def test_the_signature_is_the_bodys_hmac_sha256() -> None:
    body = b'{"event": "alias.moved"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(SECRET, body) == f"sha256={expected}"


def test_a_failed_delivery_is_tried_again_with_the_same_id(receiver: Receiver) -> None:
    receiver.answers.extend([500, 503])
    notifier = Notifier([Webhook(receiver.url, SECRET)], wait_s=0)
    notifier.notify("alias.moved", {"model": "churn", "to_version": 2})
    notifier.close()
    tries = receiver.wait_for(3)
    assert len({t.headers["x-samerun-delivery"] for t in tries}) == 1
    payload = json.loads(tries[-1].body)
    assert (payload["event"], payload["model"], payload["to_version"]) == (
        "alias.moved",
        "churn",
        2,
    )
    assert tries[-1].headers[SIGNATURE_HEADER] == signature(SECRET, tries[-1].body)


def test_a_receiver_that_never_answers_is_logged_without_the_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answers.extend([500] * ATTEMPTS)
    notifier = Notifier([Webhook(receiver.url, SECRET)], wait_s=0)
    with caplog.at_level(logging.WARNING, logger="samerun.server"):
        notifier.notify("alias.moved", {"model": "churn"})
        notifier.close()
    assert len(receiver.received) == ATTEMPTS
    assert "answered 500 for alias.moved" in caplog.text
    assert SECRET not in caplog.text
