"""The audit check resumed from a checkpoint: the entries appended since a head verified
before, and the table rows those entries record, without reading the rest of the log or of
the tables.

A checkpoint (:class:`Marks`) is where a check that passed ended: the head ``(size, hash)``,
the highest observation id, the latest person ``created_at`` and credential ``revoked_at``,
and whether entries carried record MACs yet. :func:`check_since` then

- checks that entry ``size`` still has that hash (which, the chain holding then, commits to
  every entry up to it: a log cut short or rewritten and re-hashed shows here);
- verifies the entries after it, in slices of :data:`SLICE` (memory stays bounded however
  many were appended), and for each slice compares the rows its entries record, fetched by
  key: people, observations, credentials, and the revocations the slice records (of any
  credential, old ones included);
- reports rows added since the checkpoint that no new entry records: observations above the
  id mark, people created after the time mark, credentials revoked after the revocation mark.

What it does not read, by design (``audit verify --full`` does): entries up to the checkpoint
(one edited in place without fixing its hash, which only reading it shows), and table rows
that only entries up to the checkpoint speak of (an old observation's value changed, an old
revocation cleared, an organisation renamed). Nor does it see a row slipped in below a mark
(an observation given an unused old id, a person or a revocation dated back), or a credential
no entry records (credentials have no order to take a mark of).

The full check is the same walk from :func:`origin`, the marks before the first entry and
below every row: it reads the whole log and every row, and, every entry having been read,
also finds a credential no entry records. Its memory stays bounded at any size (a byte per
observation id; the rest per slice): at a city's tens of millions of entries an index of the
whole log in memory would take tens of gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .audit_leaves import compare_leaves, unlogged_leaves
from .audit_scan import KEYS, Ids, batches, by_key, entries_about, stream
from .audit_tables import (
    PEOPLE,
    Finding,
    Logged,
    LogIndex,
    Mismatch,
    TableReport,
    Void,
    check_revocation,
    check_void,
    compare_person,
    compare_row,
    missing,
    revoked_ctis,
    uncovered,
)
from .db import AuditEntry, CredentialRecord, Observation, Person
from .pii import DataKeys
from .purge import PurgeLog

#: Entries verified, and their rows compared, per slice.
SLICE = 10_000


@dataclass(frozen=True)
class Marks:
    """Where a check that passed ended: the head, and the tables' high-water marks then."""

    size: int
    hash: str
    #: The highest observation id.
    observation: int
    #: The latest ``created_at`` of a person.
    person: int
    #: The latest ``revoked_at`` of a credential.
    revoked: int
    #: Whether an entry carried a record MAC yet (from then on, every one must).
    macs: bool
    #: The latest ``voided_at`` of an observation (0 for checkpoints from before voids).
    voided: int = 0


def marks_of(session: Session, head: tuple[int, str], macs: bool) -> Marks:
    """The marks of the tables in ``session``'s snapshot, with the log's ``head``."""
    observation = session.scalar(select(func.max(Observation.id)))
    person = session.scalar(select(func.max(Person.created_at)))
    revoked = session.scalar(select(func.max(CredentialRecord.revoked_at)))
    voided = session.scalar(select(func.max(Observation.voided_at)))
    return Marks(head[0], head[1], observation or 0, person or 0, revoked or 0, macs,
                 voided or 0)


@dataclass
class Since:
    """What :func:`check_since` found: the first break (None: the chain holds from the
    checkpoint), the tables' differences, the entries checked, the head reached."""

    broken: audit.ChainBreak | None
    tables: TableReport
    checked: int
    head: tuple[int, str]
    macs: bool
    #: Entries checked on their plain fields only (written before record MACs existed).
    legacy: int = 0


def origin(session: Session) -> Marks:
    """The marks before the first entry, below every row of ``session``'s snapshot: a check
    from them (``audit verify --full``) reads everything."""
    def below(column: Any) -> int:
        return min(0, (session.scalar(select(func.min(column))) or 1) - 1)

    return Marks(0, audit.GENESIS_HASH, below(Observation.id), below(Person.created_at),
                 below(CredentialRecord.revoked_at), False, below(Observation.voided_at))


def check_since(session: Session, keys: DataKeys, marks: Marks, size: int = SLICE) -> Since:
    """Verify the log from ``marks`` (a checkpoint, or :func:`origin`) on, and the rows its
    new entries record; report every difference (see the module's docstring for what is and
    is not read)."""
    since = Since(audit.check_head(session, marks.size, marks.hash), TableReport(), 0,
                  (marks.size, marks.hash), marks.macs)
    if since.broken is not None:
        return since
    rows = _Recorded(keys, since.tables, marks, Ids(marks.observation),
                     PurgeLog(session, marks.size))
    while True:
        entries = session.execute(audit.ENTRIES.where(AuditEntry.seq > since.head[0])
                                  .order_by(AuditEntry.seq).limit(size)).all()
        if not entries:
            break
        index = LogIndex(macs_began=since.macs)
        since.broken = audit.first_break(entries, since.head, index.add)
        if since.broken is not None:
            return since
        compare_leaves(session, keys, index.leaves, since.tables)
        since.checked += len(entries)
        since.legacy += index.legacy
        since.head, since.macs = (entries[-1].seq, entries[-1].hash), index.macs_began
        rows.compare(session, index)
    rows.finish(session)
    return since


@dataclass
class _Recorded:
    """The rows the new entries record, compared slice by slice; then what is left to see
    once every slice was: rows added or revoked since the checkpoint that no new entry
    records. Memory stays bounded: a byte per new observation id, and nothing per person or
    revocation (those are looked up by the log's ``person_id`` index)."""

    keys: DataKeys
    report: TableReport
    marks: Marks
    observations: Ids
    #: The purges since the checkpoint: what they deleted is not missing.
    purges: PurgeLog
    #: cti -> revoked_at of new credentials revoked in the table at or before the revocation
    #: mark (a clock behind another's) that no slice so far revoked: a later one must.
    revoked_early: dict[str, int] = field(default_factory=dict)
    #: The same for new observations voided at or before the void mark.
    voided_early: dict[int, Void] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in ("person", "observation", "credential"):
            self.report.checked.setdefault(table, 0)

    def compare(self, session: Session, index: LogIndex) -> None:
        report = self.report
        uncovered(index, report)
        for row in by_key(session, PEOPLE, Person.id, index.people):
            compare_person(row, index.people.pop(row.id), report)
            self._count("person")
        missing(report, "person", index.people, "logged as enrolled, not in the table")
        columns = Observation.__table__.c
        self.observations.update(index.observations)
        for row in by_key(session, select(columns), columns.id,
                          {*index.observations, *index.voids}):
            self._observation(row._mapping, index)
        purges = self.purges
        missing(report, "observation", purges.unpurged("observation", index.observations))
        missing(report, "observation", purges.unpurged("observation", {
            key: Logged(seq, index.void_fields.get(key, {}), None)
            for key, (seq, _) in index.voids.items()}), "voided by the log, not in the table")
        columns = CredentialRecord.__table__.c
        for row in by_key(session, select(columns), columns.cti,
                           {*index.credentials, *index.revocations}):
            self._credential(row._mapping, index)
        missing(report, "credential", purges.unpurged("credential", index.credentials))
        missing(report, "credential", self._revoked_gone(session, index),
                "revoked by the log, not in the table")

    def _revoked_gone(self, session: Session, index: LogIndex) -> dict[str, Logged]:
        """The credentials a slice revoked that are not in the table, but those a purge
        deleted after they expired (their expiry from their ``credential.issue`` entries,
        looked up by holder: rare, only for revoked rows that are gone)."""
        gone = {cti: Logged(seq, {}, None) for cti, (seq, _) in index.revocations.items()}
        if not gone or not self.purges:
            return gone
        holders = {index.revoked_of.get(cti) for cti in gone} - {None}
        expiry = {details.get("cti"): details.get("exp") for _, action, details in
                  entries_about(session, 0, holders) if action == "credential.issue"}
        return self.purges.unpurged("credential", {
            cti: Logged(logged.seq, {"exp": expiry.get(cti)}, None)
            for cti, logged in gone.items()})

    def _observation(self, values: Any, index: LogIndex) -> None:
        key = values["id"]
        stored = None if values["voided_at"] is None else (
            values["voided_at"], values["voided_by"], values["void_reason"])
        logged = index.observations.pop(key, None)
        void = index.voids.pop(key, None)
        if logged is not None:
            compare_row(self.keys, "observation", values, logged, self.report)
            self._count("observation")
            if void is None and stored is not None:
                # Recorded since the checkpoint, voided in the table: by a later slice or
                # never logged (as for revocations in _credential).
                if stored[0] <= self.marks.voided:
                    self.voided_early[key] = stored
                return
        elif void is not None:
            self.voided_early.pop(key, None)
        check_void(key, stored, void, self.report)

    def _credential(self, values: Any, index: LogIndex) -> None:
        cti, revoked_at = values["cti"], values["revoked_at"]
        logged = index.credentials.pop(cti, None)
        revocation = index.revocations.pop(cti, None)
        if logged is not None:
            if values["text"] == "" and self.purges.erased(values["person_id"], logged.seq):
                # Its text went with its holder: the erasure recorded the row as it left it.
                logged = Logged(logged.seq, logged.fields, self.purges.cleared.get(cti, ""))
            compare_row(self.keys, "credential", values, logged, self.report)
            self._count("credential")
            if revocation is None and revoked_at is not None:
                # Issued since the checkpoint, revoked in the table: by a later slice, or
                # never logged. Above the mark, finish() sees which; below, remember it.
                if revoked_at <= self.marks.revoked:
                    self.revoked_early[cti] = revoked_at
                return
        elif revocation is not None:
            self.revoked_early.pop(cti, None)
        check_revocation(cti, revoked_at, revocation, self.report)

    def _count(self, table: str) -> None:
        self.report.checked[table] = self.report.checked.get(table, 0) + 1

    def finish(self, session: Session) -> None:
        """Report the rows added or revoked since the checkpoint (above its marks) that no
        new entry records; from the first entry, the credentials no entry records too."""
        marks, report = self.marks, self.report
        unrecorded = "no entry records it" if marks.size == 0 else \
            "added since the checkpoint; no entry records it"
        for cti, revoked_at in self.revoked_early.items():
            check_revocation(cti, revoked_at, None, report)
        for key, stored in self.voided_early.items():
            check_void(key, stored, None, report)
        self._unlogged_voids(session)
        for key in stream(session, select(Observation.id)
                           .where(Observation.id > marks.observation)):
            if key not in self.observations:
                report.add(Mismatch("observation", str(key), Finding.UNLOGGED, None, unrecorded))
        people = select(Person.id).where(Person.created_at > marks.person)
        for batch in batches(() if self._all_found(session, Person, "person")
                              else stream(session, people)):
            logged = {person for person, action, _ in entries_about(session, marks.size, batch)
                      if action == "person.create"}
            for key in set(batch) - logged:
                report.add(Mismatch("person", key, Finding.UNLOGGED, None,
                                    "no person.create entry" if marks.size == 0 else
                                    "enrolled since the checkpoint; no entry records it"))
        revoked = select(CredentialRecord.cti, CredentialRecord.person_id,
                         CredentialRecord.revoked_at)
        for batch in batches(session.execute(revoked.where(
                CredentialRecord.revoked_at > marks.revoked)
                .execution_options(yield_per=KEYS))):
            logged = {cti for _, action, details in entries_about(
                session, marks.size, {row.person_id for row in batch})
                for cti in revoked_ctis(action, details)}
            for row in batch:
                if row.cti not in logged:
                    check_revocation(row.cti, row.revoked_at, None, report)
        if marks.size == 0:
            self._unlogged_credentials(session)
            unlogged_leaves(session, report)

    def _unlogged_voids(self, session: Session) -> None:
        """Observations voided since the checkpoint (above its mark, by the partial index of
        voided ones) that no new entry voids."""
        columns = Observation.__table__.c
        voided = select(columns.id, columns.person_id, columns.voided_at, columns.voided_by,
                        columns.void_reason).where(columns.voided_at > self.marks.voided)
        for batch in batches(session.execute(voided.execution_options(yield_per=KEYS))):
            logged = {details.get("observation") for _, action, details in entries_about(
                session, self.marks.size, {row.person_id for row in batch})
                if action == "observation.void"}
            for row in batch:
                if row.id not in logged:
                    check_void(row.id, (row.voided_at, row.voided_by, row.void_reason), None,
                               self.report)

    def _all_found(self, session: Session, model: Any, table: str) -> bool:
        """From the first entry, whether the table has no more rows than the entries that
        record one found: then no row is unrecorded, and none need be looked for. (Two
        entries recording one row count it twice, but whoever could append such an entry
        could as well append one for a row of their own.)"""
        return self.marks.size == 0 and self.report.checked[table] == session.scalar(
            select(func.count()).select_from(model))

    def _unlogged_credentials(self, session: Session) -> None:
        """From the first entry, the credentials no entry records (looked for by their
        holders' entries, a batch at a time, only when the count says there are some)."""
        if self._all_found(session, CredentialRecord, "credential"):
            return
        credentials = select(CredentialRecord.cti, CredentialRecord.person_id)
        for batch in batches(session.execute(credentials.execution_options(
                yield_per=KEYS))):
            logged = {details.get("cti") for _, action, details in entries_about(
                session, self.marks.size, {row.person_id for row in batch})
                if action == "credential.issue"}
            for row in batch:
                if row.cti not in logged:
                    self.report.add(Mismatch("credential", row.cti, Finding.UNLOGGED, None,
                                             "no credential.issue entry in the log"))
