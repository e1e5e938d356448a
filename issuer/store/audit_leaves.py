"""The public log's leaves against the audit entries that record them: each entry that carries
a leaf index (``log``) has that leaf, made from the entry (issuer/store/public_log.py), under
its own seq; from the first entry, no leaf is there that no entry records.

A leaf edited in the table (with its hash recomputed, or not), moved to another index, or
deleted is found here; one already seen by a witness, a phone or a monitor is found by them
too, even if the audit log were rewritten to match (docs/SECURITY.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.tlog.merkle import leaf_hash

from . import public_log
from .audit_scan import by_key
from .audit_tables import Finding, Logged, Mismatch, TableReport, missing
from .db import AuditEntry, LogLeaf
from .pii import DataKeys

TABLE = "log_leaf"


def compare_leaves(session: Session, keys: DataKeys,
                   logged: dict[int, tuple[AuditEntry, dict[str, Any]]],
                   report: TableReport) -> None:
    """Report each leaf ``logged`` names (:attr:`issuer.store.audit_tables.LogIndex.leaves`:
    index -> the entry and its details, parsed once) that is missing, or differs from its
    entry."""
    mac_key = keys.derived(public_log.KEY_PURPOSE)
    columns = LogLeaf.__table__.c
    for row in by_key(session, select(columns), columns.idx, list(logged)):
        entry, details = logged.pop(row.idx)
        report.checked[TABLE] = report.checked.get(TABLE, 0) + 1
        if row.seq != entry.seq \
                or row.data.encode() != _expected(row.idx, entry, details, mac_key) \
                or bytes(row.hash) != leaf_hash(row.data.encode()):
            report.add(Mismatch(TABLE, str(row.idx), Finding.CHANGED, entry.seq,
                                "differs from the audit entry that records it"))
    missing(report, TABLE, {index: Logged(entry.seq, {}, None)
                            for index, (entry, _) in logged.items()})


def unlogged_leaves(session: Session, report: TableReport) -> None:
    """From the first entry: report leaves beyond those the entries recorded (by count, then
    by looking each up against the entries only if the count differs)."""
    total = session.scalar(select(func.count()).select_from(LogLeaf)) or 0
    if total == report.checked.get(TABLE, 0):
        return
    seen = set(session.scalars(select(AuditEntry.seq).where(
        AuditEntry.details_json.like('%"log":%'))))
    for idx, seq in session.execute(select(LogLeaf.idx, LogLeaf.seq)):
        if seq not in seen:
            report.add(Mismatch(TABLE, str(idx), Finding.UNLOGGED, None,
                                "no audit entry records it"))


def _expected(index: int, entry: AuditEntry, details: dict[str, Any], mac_key: bytes
              ) -> bytes:
    details = {key: value for key, value in details.items() if key != "log"}
    return public_log.leaf(index, at=entry.at, actor=entry.actor, action=entry.action,
                           reason=entry.reason, person_id=entry.person_id, details=details,
                           mac_key=mac_key)
