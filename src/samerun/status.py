"""The closed sets of the run record: run statuses, verdicts and entry kinds.

Each is a ``Literal`` type for the checker and a tuple for the boundary: a value read from a
user or a record goes through its validator once, and everything past it is typed. This module
imports nothing heavy, so the Python API of a run being recorded can check a status cheaply.
"""

from __future__ import annotations

from typing import Literal, get_args

from samerun._exceptions import UsageError

#: Where a run is: ``running`` until it ends ``finished`` (exit 0), ``failed`` or ``killed``.
RunStatus = Literal["running", "finished", "failed", "killed"]
#: How a run ended, as a caller may end it.
EndStatus = Literal["finished", "failed", "killed"]
#: The result of comparing a run with its replay (or any two runs' outputs).
Verdict = Literal["identical", "equivalent", "diverged", "not-replayable"]
#: What an artifact or a data input is: one file, or a directory (a tree object).
EntryKind = Literal["file", "dir"]

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
END_STATUSES: tuple[EndStatus, ...] = get_args(EndStatus)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)


def run_status(value: str) -> RunStatus:
    """``value`` as a run status; an unknown one is refused with the list of known ones."""
    for status in RUN_STATUSES:
        if value == status:
            return status
    raise UsageError(f"unknown run status {value!r}; use one of {', '.join(RUN_STATUSES)}")


def end_status(value: str) -> EndStatus:
    """``value`` as the status a run ends with (``running`` is not one)."""
    for status in END_STATUSES:
        if value == status:
            return status
    raise UsageError(f"a run cannot end as {value!r}; use one of {', '.join(END_STATUSES)}")


def verdict(value: str) -> Verdict:
    """``value`` as a verdict; an unknown one is refused."""
    for known in VERDICTS:
        if value == known:
            return known
    raise UsageError(f"unknown verdict {value!r}; use one of {', '.join(VERDICTS)}")


def entry_kind(value: str) -> EntryKind:
    """``value`` as an entry kind; anything but ``file`` or ``dir`` is a malformed record."""
    for kind in ENTRY_KINDS:
        if value == kind:
            return kind
    raise ValueError(f"unknown entry kind {value!r} (file or dir)")
