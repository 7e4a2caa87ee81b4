"""The audit trail: append to it, and re-walk it.

The chain itself (its entries and how one is appended inside a write transaction) is
:mod:`samerun.store.trail`, since the store appends each run as it commits it; this module is
the API the library layer uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samerun.store.trail import AUDIT_KINDS, AuditEntry, AuditKind, AuditRecord, append_in

if TYPE_CHECKING:
    from samerun.store.meta import MetaStore

__all__ = ["AUDIT_KINDS", "AuditEntry", "AuditKind", "AuditRecord", "append", "append_in"]


def append(meta: MetaStore, record: AuditRecord) -> AuditEntry:
    """Append ``record`` to the trail of ``meta`` in a write transaction of its own.

    A writer that stores the record in a table of its own appends with :func:`append_in` inside
    that transaction instead, so that the row and its entry are committed together.
    """
    with meta._write() as conn:
        return append_in(conn, record)
