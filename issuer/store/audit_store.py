"""The audit log in the repository: a person's entries, the check (the chain, then the tables
against it, then a head kept elsewhere: in full, or from a checkpoint on), and the cheap check
the API runs per request.

The full check reads the whole log and every table it covers (``healthcode-issuer audit verify
--full``); resumed from a checkpoint (:mod:`.audit_since`) it reads what was appended since.
A request for one person's entries must read neither: :class:`ChainWatch` remembers the head
it last verified and checks only the entries after it, plus the person's own entries and
their neighbours; every :data:`FULL_CHECK_INTERVAL` seconds it verifies again from the last
checkpoint ``audit verify`` saved (from the first entry when there is none).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from . import audit
from .audit_since import Marks, check_since, marks_of, origin
from .audit_tables import Mismatch, TableReport
from .base import StoreBase, clock
from .db import AuditEntry

#: The API verifies again from the last checkpoint at most this often (seconds); between,
#: only what was appended since its last check.
FULL_CHECK_INTERVAL = 600
#: The most entries of one person the API returns at once (then pages by ``seq``).
AUDIT_PAGE = 500


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
    #: Entries verified by this check.
    checked: int = 0
    #: The checkpoint it resumed from (None: a full check, from the first entry).
    since: Marks | None = None
    #: Where it ended, for the next checkpoint (None when it found a problem).
    marks: Marks | None = None

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


@dataclass(frozen=True)
class Verified:
    """A head ``audit verify`` verified the log up to (its saved checkpoint): size, hash, when
    (``at``), and when its last full check was (``full_at``)."""

    size: int
    hash: str
    at: int
    full_at: int


class ChainWatch:
    """The chain as one process last verified it: checks the entries added since, and,
    when :data:`FULL_CHECK_INTERVAL` has passed or a check failed, everything from the last
    checkpoint (``saved()``: the :class:`Verified` head ``audit verify`` saved, or None)."""

    def __init__(self, interval: int = FULL_CHECK_INTERVAL,
                 saved: Callable[[], Verified | None] | None = None) -> None:
        self.interval = interval
        self.saved = saved
        self.head: tuple[int, str] = (0, audit.GENESIS_HASH)
        #: The checkpoint the last full check started from (None: the first entry).
        self.base: Verified | None = None
        self.full_check_at: int | None = None
        self._lock = threading.Lock()

    def check(self, session: Session, now: int) -> audit.ChainBreak | None:
        """Verify what is new since the last check (from the checkpoint on, when due); None
        if it holds."""
        with self._lock:
            full = self.full_check_at is None or now - self.full_check_at >= self.interval
            start = last = self.head
            if full:
                self.base = self.saved() if self.saved is not None else None
                start = last = (0, audit.GENESIS_HASH) if self.base is None else (
                    self.base.size, self.base.hash)

            def seen(entry: AuditEntry) -> None:
                nonlocal last
                last = (entry.seq, entry.hash)

            broken = audit.verify_chain(session, start, on_entry=seen)
            if broken is not None:
                self.full_check_at = None  # from the checkpoint again next time
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

    def audit_trail(self, person_id: str, watch: ChainWatch, now: int | None = None,
                    after: int = 0, limit: int | None = None) -> dict[str, Any]:
        """A person's entries and whether the chain holds, checked cheaply (see
        :class:`ChainWatch`): ``entries`` (after entry ``after``, at most ``limit``),
        ``next_after`` (``after`` for the next page; None on the last), ``chain_ok``,
        ``verified_through`` (the head's size), ``full_check_at``, ``checkpoint``
        (``size``, ``at``, ``full_at`` of the one the watch last started from, or None)."""
        with self.reading() as session:
            entries = audit.entries_for(session, person_id, after,
                                        None if limit is None else limit + 1)
            more = limit is not None and len(entries) > limit
            entries = entries[:limit] if more else entries
            ok = watch.check(session, clock(now)) is None and audit.links_hold(session, entries)
            base = watch.base
            return {"entries": [_entry(e) for e in entries], "chain_ok": ok,
                    "next_after": entries[-1].seq if more else None,
                    "verified_through": watch.head[0], "full_check_at": watch.full_check_at,
                    "checkpoint": None if base is None else {
                        "size": base.size, "at": base.at, "full_at": base.full_at}}

    def audit_head(self) -> tuple[int, str]:
        """``(size, hash)`` of the log's last entry."""
        with self.reading() as session:
            return audit.head(session)

    def audit_report(self, against: tuple[int, str] | None = None, since: Marks | None = None,
                     hold: tuple[int, str] | None = None) -> AuditReport:
        """Verify the chain, then the tables against it, then (``against``: a head saved
        before) that the log still holds that head. One snapshot for all of it.

        ``since``: a checkpoint (the :attr:`AuditReport.marks` of a check that passed): only
        what was appended after it is read (:func:`issuer.store.audit_since.check_since`).
        Without it everything is; ``hold``, the head of a checkpoint, must then still be in
        the log (a full check must not pass a log cut short since its checkpoint)."""
        with self.reading() as session:
            _snapshot(session)
            held = audit.check_head(session, *against) if against is not None else None
            found = check_since(session, self.data_keys,
                                since if since is not None else origin(session))
            if since is None:  # the full check: a checkpoint's head must still be there
                broken = found.broken
                if broken is None and hold is not None:
                    broken = audit.check_head(session, *hold)
                if broken is not None:
                    return AuditReport(audit.count(session), audit.head(session), broken,
                                       against=held)
            return _report(session, found.head, found.broken, found.tables, held,
                           found.legacy, found.checked, since, found.macs)

    def verify_audit(self) -> tuple[int, audit.ChainBreak | Mismatch | None]:
        """Return ``(number of entries, first problem or None)``: a chain break, or a table
        that differs from the log."""
        report = self.audit_report()
        return report.count, report.problem


def _report(session: Session, head: tuple[int, str], broken: audit.ChainBreak | None,
            tables: TableReport, against: audit.ChainBreak | None, legacy: int, checked: int,
            since: Marks | None, macs: bool) -> AuditReport:
    """The report, with the marks to resume from when nothing was found wrong."""
    if broken is not None:
        head = audit.head(session)
    ok = broken is None and tables.count == 0 and against is None
    return AuditReport(head[0], head, broken, tables, against, legacy, checked, since,
                       marks_of(session, head, macs) if ok else None)


def _snapshot(session: Session) -> None:
    """Read the log and the tables from one snapshot, so that a write committed meanwhile
    never shows as a row without its entry (SQLite's read transaction is one already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "reason": entry.reason, "details": json.loads(entry.details_json)}
