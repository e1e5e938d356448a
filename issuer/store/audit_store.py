"""The audit log in the repository: a person's entries, the full check (the chain, then the
tables against it, then a head kept elsewhere), and the cheap check the API runs per request.

The full check reads the whole log and every table it covers (``healthcode-issuer audit
verify``). A request for one person's entries must not: :class:`ChainWatch` remembers the
head it last verified and checks only the entries after it, plus the person's own entries and
their neighbours, and re-reads everything at most every :data:`FULL_CHECK_INTERVAL` seconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from . import audit
from .audit_tables import LogIndex, Mismatch, TableReport, check_tables
from .base import StoreBase, clock
from .db import AuditEntry

#: The API re-verifies the whole chain at most this often (seconds); between, incrementally.
FULL_CHECK_INTERVAL = 600


@dataclass(frozen=True)
class AuditReport:
    """What :meth:`AuditStore.audit_report` found: the log's size and head, the first break
    of the chain, how the tables differ from the log, and how the log stands to a saved head."""

    count: int
    head: tuple[int, str]
    broken: audit.ChainBreak | None
    tables: TableReport = field(default_factory=TableReport)
    against: audit.ChainBreak | None = None
    #: Entries checked on their plain fields only (written before record MACs existed).
    legacy: int = 0

    @property
    def ok(self) -> bool:
        return self.broken is None and self.tables.count == 0 and self.against is None

    @property
    def problem(self) -> audit.ChainBreak | Mismatch | None:
        """The first thing wrong, or None."""
        if self.broken is not None:
            return self.broken
        if self.tables.mismatches:
            return self.tables.mismatches[0]
        return self.against


class ChainWatch:
    """The chain as one process last verified it: checks the entries added since, and the
    whole chain again when :data:`FULL_CHECK_INTERVAL` has passed or a check failed."""

    def __init__(self, interval: int = FULL_CHECK_INTERVAL) -> None:
        self.interval = interval
        self.head: tuple[int, str] = (0, audit.GENESIS_HASH)
        self.full_check_at: int | None = None
        self._lock = threading.Lock()

    def check(self, session: Session, now: int) -> audit.ChainBreak | None:
        """Verify what is new since the last check (everything, when due); None if it holds."""
        with self._lock:
            full = self.full_check_at is None or now - self.full_check_at >= self.interval
            start = last = (0, audit.GENESIS_HASH) if full else self.head

            def seen(entry: AuditEntry) -> None:
                nonlocal last
                last = (entry.seq, entry.hash)

            broken = audit.verify_chain(session, start, on_entry=seen)
            if broken is not None:
                self.full_check_at = None  # check everything next time
                return broken
            self.head = last
            if full:
                self.full_check_at = now
            return None


class AuditStore(StoreBase):
    """The repository's audit operations (:class:`issuer.store.Store` inherits them)."""

    def audit_entries(self, person_id: str) -> list[dict[str, Any]]:
        """Return the audit entries about a person, oldest first: seq, at, actor, action,
        reason, details."""
        with self.reading() as session:
            return [_entry(e) for e in audit.entries_for(session, person_id)]

    def audit_trail(self, person_id: str, watch: ChainWatch, now: int | None = None
                    ) -> dict[str, Any]:
        """A person's entries and whether the chain holds, checked cheaply (see
        :class:`ChainWatch`): ``entries``, ``chain_ok``, ``verified_through`` (the head's
        size), ``full_check_at``."""
        with self.reading() as session:
            entries = audit.entries_for(session, person_id)
            ok = watch.check(session, clock(now)) is None and audit.links_hold(session, entries)
            return {"entries": [_entry(e) for e in entries], "chain_ok": ok,
                    "verified_through": watch.head[0], "full_check_at": watch.full_check_at}

    def audit_head(self) -> tuple[int, str]:
        """``(size, hash)`` of the log's last entry."""
        with self.reading() as session:
            return audit.head(session)

    def audit_report(self, against: tuple[int, str] | None = None) -> AuditReport:
        """Verify the chain, then the tables against it, then (``against``: a head saved
        before) that the log still holds that head. One snapshot for all of it."""
        with self.reading() as session:
            _snapshot(session)
            index = LogIndex()
            broken = audit.verify_chain(session, on_entry=index.add)
            count, head = audit.count(session), audit.head(session)
            if broken is not None:
                return AuditReport(count, head, broken)
            tables = check_tables(session, self.data_keys, index)
            held = audit.check_head(session, *against) if against is not None else None
            return AuditReport(count, head, None, tables, held, index.legacy)

    def verify_audit(self) -> tuple[int, audit.ChainBreak | Mismatch | None]:
        """Return ``(number of entries, first problem or None)``: a chain break, or a table
        that differs from the log."""
        report = self.audit_report()
        return report.count, report.problem


def _snapshot(session: Session) -> None:
    """Read the log and the tables from one snapshot, so that a write committed meanwhile
    never shows as a row without its entry (SQLite's read transaction is one already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "reason": entry.reason, "details": json.loads(entry.details_json)}
