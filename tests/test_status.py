from __future__ import annotations

import pytest

from samerun._exceptions import UsageError
from samerun.status import END_STATUSES, RUN_STATUSES, end_status, entry_kind, run_status, verdict


def test_each_known_value_passes_as_itself() -> None:
    assert [run_status(s) for s in RUN_STATUSES] == list(RUN_STATUSES)
    assert [end_status(s) for s in END_STATUSES] == ["finished", "failed", "killed"]
    assert verdict("not-replayable") == "not-replayable"
    assert entry_kind("dir") == "dir"


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (run_status, "succeeded", "unknown run status 'succeeded'; use one of running, finished"),
        (end_status, "running", "a run cannot end as 'running'"),
        (verdict, "same", "unknown verdict 'same'; use one of identical"),
    ],
)
def test_an_unknown_value_is_one_clear_usage_error(check, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message):
        check(value)


def test_a_malformed_entry_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown entry kind 'link'"):
        entry_kind("link")
