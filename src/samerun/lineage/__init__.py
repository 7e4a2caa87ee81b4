"""Lineage for audits: the record index, lineage queries, erasure requests, the audit trail's
verification (:mod:`samerun.lineage.audit`) and signed provenance (:mod:`samerun.lineage.attest`).
"""
