"""A run's trace in the store: one object written when the run completes, read back to compare.

While a run is still going, its trace is read from its journal, which lags at most
:data:`samerun.journal.FLUSH_INTERVAL_S` behind the process (its last step may be incomplete).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from samerun._exceptions import StoreError, TraceNotFound
from samerun.journal import read_journal
from samerun.manifest import TraceSummary, load_manifest
from samerun.store.objects import ObjectStore
from samerun.store.project import Store
from samerun.tracing.model import RECORD, Trace


def save_trace(records: Sequence[Sequence[Any]], objects: ObjectStore) -> TraceSummary | None:
    """Store journaled trace records (``[step, kind, …]``) as one object; None when empty."""
    if not records:
        return None
    trace = Trace.from_records(records)
    return TraceSummary(objects.put_bytes(trace.encode()), len(trace.steps), trace.entries)


def journal_trace(run_dir: Path) -> Trace:
    """The trace a running run has journaled so far."""
    return Trace.from_records(r[1:] for r in read_journal(run_dir) if r and r[0] == RECORD)


def read_trace(store: Store, run_id: str) -> Trace:
    """The trace of run ``run_id`` (a full id): stored if it ended, journaled if it is running."""
    manifest = load_manifest(store, run_id)
    summary = manifest.outputs.trace
    if summary is not None:
        data = store.objects.get_bytes(summary.oid)
        try:
            return Trace.decode(data)
        except ValueError as err:
            raise StoreError(f"object {summary.oid}: {err}") from None
    if manifest.status == "running":
        trace = journal_trace(store.project.run_dir(run_id))
        if trace.steps:
            return trace
    raise TraceNotFound(run_id)
