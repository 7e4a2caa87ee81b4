"""References, names and event hashes: the registry's boundary checks."""

from __future__ import annotations

import pytest

from samerun._exceptions import UsageError
from samerun.registry.model import AliasEvent, ModelRef, alias_name


def test_a_reference_names_the_latest_a_version_or_an_alias() -> None:
    assert ModelRef.parse("churn") == ModelRef("churn")
    assert ModelRef.parse("churn:3") == ModelRef("churn", version=3)
    assert ModelRef.parse("churn@production") == ModelRef("churn", alias="production")
    assert str(ModelRef.parse("churn@production")) == "churn@production"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn:x", "is not a positive number"),
        ("churn:0", "is not a positive number"),
        ("9churn", "model name '9churn' is not valid"),
        ("churn@prod uction", "is not a simple identifier"),
    ],
)
def test_a_malformed_reference_is_one_clear_sentence(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ModelRef.parse(text)


def test_an_alias_is_a_simple_identifier() -> None:
    assert alias_name("production") == "production"
    with pytest.raises(UsageError):
        alias_name("../etc")


def test_an_event_hash_covers_every_field() -> None:
    fields: dict[str, object] = {
        "model": "m",
        "seq": 1,
        "alias": "a",
        "kind": "set",
        "from_version": None,
        "to_version": 1,
        "actor": "ann",
        "at": 1.5,
        "reason": "",
        "prev_hash": None,
    }
    event = AliasEvent.sealed(**fields)
    assert AliasEvent.sealed(**event.body()) == event
    assert AliasEvent.sealed(**{**fields, "to_version": 2}).hash != event.hash
