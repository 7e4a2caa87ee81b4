"""The closed sets of the run record: run statuses, verdicts, entry and origin kinds.

Each is a ``Literal`` type for the checker and a tuple for the boundary: a value read from a
user or a record goes through its validator once, and everything past it is typed. This module
imports nothing heavy, so the Python API of a run being recorded can check a status cheaply.
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

from samerun._exceptions import UsageError

#: Where a run is: ``running`` until it ends ``finished`` (exit 0), ``failed`` or ``killed``.
RunStatus = Literal["running", "finished", "failed", "killed"]
#: How a run ended, as a caller may end it.
EndStatus = Literal["finished", "failed", "killed"]
#: The result of comparing a run with its replay (or any two runs' outputs).
Verdict = Literal["identical", "equivalent", "diverged", "not-replayable"]
#: What an artifact or a data input is: one file, or a directory (a tree object).
EntryKind = Literal["file", "dir"]
#: Where an installed distribution came from (PEP 610): a package index, a VCS commit, a local
#: directory, or an archive file or URL.
OriginKind = Literal["index", "vcs", "directory", "archive"]
#: The tool a run was imported from (``samerun import mlflow``).
ImportSource = Literal["mlflow"]
#: An input of an imported run that the tool it came from never recorded.
UnknownInput = Literal["code", "command", "environment", "randomness", "data"]

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
END_STATUSES: tuple[EndStatus, ...] = get_args(EndStatus)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)
ORIGIN_KINDS: tuple[OriginKind, ...] = get_args(OriginKind)
IMPORT_SOURCES: tuple[ImportSource, ...] = get_args(ImportSource)
UNKNOWN_INPUTS: tuple[UnknownInput, ...] = get_args(UnknownInput)

_Known = TypeVar("_Known", bound=str)


def run_status(value: str) -> RunStatus:
    """``value`` as a run status; an unknown one is refused with the list of known ones."""
    found = _member(value, RUN_STATUSES)
    if found is None:
        raise UsageError(f"unknown run status {value!r}; use one of {', '.join(RUN_STATUSES)}")
    return found


def end_status(value: str) -> EndStatus:
    """``value`` as the status a run ends with (``running`` is not one)."""
    found = _member(value, END_STATUSES)
    if found is None:
        raise UsageError(f"a run cannot end as {value!r}; use one of {', '.join(END_STATUSES)}")
    return found


def verdict(value: str) -> Verdict:
    """``value`` as a verdict; an unknown one is refused."""
    found = _member(value, VERDICTS)
    if found is None:
        raise UsageError(f"unknown verdict {value!r}; use one of {', '.join(VERDICTS)}")
    return found


def entry_kind(value: str) -> EntryKind:
    """``value`` as an entry kind; anything but ``file`` or ``dir`` is a malformed record."""
    found = _member(value, ENTRY_KINDS)
    if found is None:
        raise ValueError(f"unknown entry kind {value!r} (file or dir)")
    return found


def origin_kind(value: str) -> OriginKind:
    """``value`` as an origin kind; anything else is a malformed record."""
    found = _member(value, ORIGIN_KINDS)
    if found is None:
        raise ValueError(f"unknown origin kind {value!r} ({', '.join(ORIGIN_KINDS)})")
    return found


def import_source(value: str) -> ImportSource:
    """``value`` as the tool a run was imported from; anything else is a malformed record."""
    found = _member(value, IMPORT_SOURCES)
    if found is None:
        raise ValueError(f"unknown import source {value!r} ({', '.join(IMPORT_SOURCES)})")
    return found


def unknown_input(value: str) -> UnknownInput:
    """``value`` as an input an imported run lacks; anything else is a malformed record."""
    found = _member(value, UNKNOWN_INPUTS)
    if found is None:
        raise ValueError(f"unknown input {value!r} ({', '.join(UNKNOWN_INPUTS)})")
    return found


def _member(value: str, allowed: tuple[_Known, ...]) -> _Known | None:
    """The member of ``allowed`` equal to ``value`` (typed as the set's Literal), or None."""
    return next((known for known in allowed if known == value), None)
