"""The audit log: who changed what about whom, when and why, as an append-only hash chain.

Entry ``n`` stores ``hash = SHA-256(canonical JSON of {seq, at, actor, person_id, action,
reason, details_json, prev_hash})`` where ``prev_hash`` is the hash of entry ``n - 1`` (64
zeros for the first). Editing, deleting, inserting or reordering entries breaks the chain at
the first entry touched, and :func:`verify_chain` says where and how. Removing entries from the
end, or editing one and re-hashing everything after it, cannot be seen from the chain alone:
the head (size and last hash, :func:`head`) kept elsewhere shows it (:func:`check_head`). What
the entries say about the tables (observation values, credentials, revocations) is checked
against the tables by :mod:`.audit_tables`.

Appends are serialised: ``seq`` is the last entry's plus one, read under a lock (PostgreSQL: a
transaction-scoped advisory lock; SQLite: the write lock that ``BEGIN IMMEDIATE`` took, see
issuer/store/db.py). Should two appends ever race anyway, the second fails on the primary key
instead of forking the chain. An append belongs to the caller's transaction: when the change it
records is rolled back, so is the entry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from . import public_log
from .db import AuditEntry

GENESIS_HASH = "0" * 64
#: The entries' columns as plain rows (attributes named as :class:`AuditEntry`'s), which the
#: checks read twice as fast as ORM objects.
ENTRIES = select(*AuditEntry.__table__.c)
#: PostgreSQL advisory lock key serialising appends ("hcaudt" 1).
AUDIT_LOCK_KEY = 0x6863_6175_6474_0001
_VERIFY_BATCH = 1000


class BreakReason(StrEnum):
    """Why the chain is broken at an entry (stable strings)."""

    HASH_MISMATCH = "hash_mismatch"  # the entry was changed after it was written
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # the entry before it was changed or replaced
    SEQ_GAP = "seq_gap"  # entries are missing before this one
    TRUNCATED = "truncated"  # the log is shorter than a head seen before
    HEAD_MISMATCH = "head_mismatch"  # the log at a saved head's size hashes to something else


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why."""

    seq: int
    reason: BreakReason
    expected: str
    found: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.reason} (expected {self.expected}, found {self.found})"


def canonical_json(value: Any) -> str:
    """Return ``value`` as canonical JSON: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def entry_hash(*, seq: int, at: int, actor: str, person_id: str | None, action: str,
               reason: str, details_json: str, prev_hash: str) -> str:
    """Return the hex SHA-256 that chains an entry with these fields."""
    fields = {"seq": seq, "at": at, "actor": actor, "person_id": person_id, "action": action,
              "reason": reason, "details_json": details_json, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def append(session: Session, actor: str, action: str, reason: str,
           person_id: str | None = None, details: Mapping[str, Any] | None = None,
           now: int | None = None) -> AuditEntry:
    """Add an entry at the end of the chain, in ``session``'s transaction, and return it.

    ``details`` must be JSON-serialisable (``TypeError``/``ValueError`` otherwise) and should
    never hold personal data: the log outlives it. The caller commits.
    """
    at = int(time.time()) if now is None else now
    details = dict(details or {})
    canonical_json(details)  # refused before anything is locked or written
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    leaves = _Leaves(session)
    details = leaves.publish(seq, at=at, actor=actor, action=action, reason=reason,
                             person_id=person_id, details=details)
    leaves.store()
    details_json = canonical_json(details)
    fields = {"seq": seq, "at": at, "actor": actor, "person_id": person_id, "action": action,
              "reason": reason, "details_json": details_json, "prev_hash": prev_hash}
    entry = AuditEntry(**fields, hash=entry_hash(**fields))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Pending:
    """An entry to append with :func:`append_many` (fields as :func:`append` takes them)."""

    actor: str
    action: str
    reason: str
    person_id: str | None
    details: Mapping[str, Any]
    at: int


def append_many(session: Session, entries: Iterable[Pending]) -> int:
    """Append several entries in order, in ``session``'s transaction, with one read of the
    chain's end and one multi-row insert (for batch jobs); return how many were added."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
    session.flush()  # entries appended one by one earlier in this transaction come first
    seq, prev_hash = head(session)
    rows = []
    leaves = _Leaves(session)
    for entry in entries:
        seq += 1
        details = leaves.publish(seq, at=entry.at, actor=entry.actor, action=entry.action,
                                 reason=entry.reason, person_id=entry.person_id,
                                 details=entry.details)
        fields = {"seq": seq, "at": entry.at, "actor": entry.actor,
                  "person_id": entry.person_id, "action": entry.action, "reason": entry.reason,
                  "details_json": canonical_json(details), "prev_hash": prev_hash}
        prev_hash = entry_hash(**fields)
        rows.append({**fields, "hash": prev_hash})
    if rows:
        session.execute(insert(AuditEntry), rows)
    leaves.store()
    return len(rows)


class _Leaves:
    """The public log's leaves of entries being appended (:mod:`.public_log`): each entry that
    changes what a person's code says gets the next index, recorded in its details as
    ``log``. Nothing, in a session the store did not open (it carries no publisher)."""

    def __init__(self, session: Session) -> None:
        self.session, self.publisher = session, public_log.publisher(session)
        self.next: int | None = None
        self.rows: list[tuple[int, int, bytes]] = []

    def publish(self, seq: int, *, at: int, actor: str, action: str, reason: str,
                person_id: str | None, details: Mapping[str, Any]) -> dict[str, Any]:
        """The entry's details, with its leaf's index if it gets one."""
        details = dict(details)
        if self.publisher is None or action not in public_log.PUBLIC_ACTIONS:
            return details
        if self.next is None:
            self.next = self.publisher.next_index(self.session)
        index, self.next = self.next, self.next + 1
        self.rows.append((index, seq, public_log.leaf(
            index, at=at, actor=actor, action=action, reason=reason, person_id=person_id,
            details=details, mac_key=self.publisher.mac_key)))
        return {**details, "log": index}

    def store(self) -> None:
        if self.publisher is not None:
            self.publisher.add(self.session, self.rows)


def verify_chain(session: Session, start: tuple[int, str] = (0, GENESIS_HASH),
                 on_entry: Callable[[AuditEntry], None] | None = None) -> ChainBreak | None:
    """Check every entry in order; return the first break, or None if the chain holds.

    ``start``: a head ``(seq, hash)`` verified before; only the entries after it are checked,
    once entry ``seq`` is found still there with that hash. ``on_entry`` sees each entry that
    holds (a row with :class:`AuditEntry`'s attributes), in order
    (:class:`issuer.store.audit_tables.LogIndex` collects what they say).
    """
    if start[0] > 0:
        broken = check_head(session, *start)
        if broken is not None:
            return broken
    result = session.execute(ENTRIES.where(AuditEntry.seq > start[0]).order_by(AuditEntry.seq)
                             .execution_options(yield_per=_VERIFY_BATCH))
    with result:  # closes the server-side cursor when we stop early
        return first_break(result, start, on_entry)


def first_break(entries: Iterable[AuditEntry], start: tuple[int, str] = (0, GENESIS_HASH),
                on_entry: Callable[[AuditEntry], None] | None = None) -> ChainBreak | None:
    """The first break in ``entries`` (read in order, the first following the head
    ``start``), or None; ``on_entry`` as :func:`verify_chain` takes it."""
    expected_seq, prev_hash = start[0] + 1, start[1]
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(entry.seq, BreakReason.SEQ_GAP, f"seq {expected_seq}",
                              f"seq {entry.seq}")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, BreakReason.PREV_HASH_MISMATCH, prev_hash,
                              entry.prev_hash)
        recomputed = stored_hash(entry)
        if entry.hash != recomputed:
            return ChainBreak(entry.seq, BreakReason.HASH_MISMATCH, recomputed, entry.hash)
        if on_entry is not None:
            on_entry(entry)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return None


def stored_hash(entry: AuditEntry) -> str:
    """The hash an entry's stored fields give (equal to ``entry.hash`` unless edited)."""
    return entry_hash(seq=entry.seq, at=entry.at, actor=entry.actor, person_id=entry.person_id,
                      action=entry.action, reason=entry.reason, details_json=entry.details_json,
                      prev_hash=entry.prev_hash)


def check_head(session: Session, size: int, hash_: str) -> ChainBreak | None:
    """Whether the log still holds the head ``(size, hash)`` seen before: entry ``size``
    exists and has that hash (which, the chain holding, commits to every entry before it).
    None if it does; ``truncated`` when the log is shorter, ``head_mismatch`` when it was
    rewritten up to there since."""
    if size == 0:
        return None if hash_ == GENESIS_HASH else ChainBreak(
            0, BreakReason.HEAD_MISMATCH, hash_, GENESIS_HASH)
    found = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == size))
    if found is None:
        return ChainBreak(size, BreakReason.TRUNCATED, f"at least {size} entries",
                          f"{count(session)} entries")
    if found != hash_:
        return ChainBreak(size, BreakReason.HEAD_MISMATCH, hash_, found)
    return None


def links_hold(session: Session, entries: list[AuditEntry]) -> bool:
    """Whether each of ``entries`` (some of the log's, such as one person's) still hashes to
    its stored hash and is still linked from its neighbours: an edit of one of them shows
    here even when it was re-hashed, without reading the whole log."""
    if any(entry.hash != stored_hash(entry) for entry in entries):
        return False
    wanted = sorted({s for e in entries for s in (e.seq - 1, e.seq + 1) if s > 0})
    near: dict[int, tuple[str, str]] = {}
    for at in range(0, len(wanted), _VERIFY_BATCH):
        near.update((row.seq, (row.hash, row.prev_hash)) for row in session.execute(
            select(AuditEntry.seq, AuditEntry.hash, AuditEntry.prev_hash)
            .where(AuditEntry.seq.in_(wanted[at:at + _VERIFY_BATCH]))))
    for entry in entries:
        before = GENESIS_HASH if entry.seq == 1 else near.get(entry.seq - 1, ("", ""))[0]
        after = near.get(entry.seq + 1)
        if entry.prev_hash != before or (after is not None and after[1] != entry.hash):
            return False
    return True


def head(session: Session) -> tuple[int, str]:
    """Return ``(seq, hash)`` of the last entry (``(0, GENESIS_HASH)`` for an empty log).

    Kept somewhere else (printed, mailed, signed), it shows later whether entries were cut
    off the end, which the chain itself cannot.
    """
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS_HASH)


def count(session: Session) -> int:
    """Return the number of entries."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def entries_for(session: Session, person_id: str, after: int = 0, limit: int | None = None
                ) -> list[AuditEntry]:
    """Return the entries about ``person_id``, oldest first: those after entry ``after``, at
    most ``limit`` of them."""
    return list(session.scalars(entries_query(person_id, after, limit)))


def entries_query(person_id: str, after: int = 0, limit: int | None = None) -> Select:
    """The query :func:`entries_for` runs: by the ``person_id`` index, paged by ``seq``."""
    return (select(AuditEntry).where(AuditEntry.person_id == person_id, AuditEntry.seq > after)
            .order_by(AuditEntry.seq).limit(limit))
