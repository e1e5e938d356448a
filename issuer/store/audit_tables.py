"""The tables checked against the audit log: every row the log speaks of is there and says
what the log says, and no row is there that the log never saw.

A hash chain shows edits to the log; it says nothing of a table edited beside it (an
observation turned from positive to negative, a test result deleted, a revocation cleared).
So each write records in its entry what the stored row means (issuer/store/repository.py):

- ``observation.add``: the observation's id, kind, source and ``observed_at``, and ``mac``, a
  keyed MAC (:meth:`issuer.store.pii.DataKeys.record_mac`) of the whole row, value included.
  Keyed, so that the log tells whether a value changed without letting anyone who reads it
  guess the value (there are only so many test results);
- ``credential.issue``: the cti, exp, run, and ``mac`` of the whole row (colour, score, times,
  the signed text, the phone it is bound to);
- ``person.create``: the organisation;
- ``observation.void``: the observation's id; the row's ``voided_at``, ``voided_by`` and
  ``void_reason`` are the entry's time, actor and reason;
- an entry that revokes credentials lists their ctis (``revoked``; also ``cti`` of
  ``credential.revoke``, ``ctis`` of ``credential.revoke_all``, ``superseded`` of
  ``credential.issue``), revoked at the entry's time.

The check (:func:`issuer.store.audit_since.check_since`, from the first entry or a checkpoint)
reads the entries a slice at a time and reports every row that differs (:class:`Mismatch`,
with a stable :class:`Finding`). Entries written before MACs were recorded are checked on
their plain fields only; once one entry carries a MAC, every later one must.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from .db import AuditEntry, Organisation, Person
from .pii import DataKeys

#: The columns of a row its MAC covers, per table.
MAC_COLUMNS = {
    "observation": ("id", "person_id", "kind", "value_json", "observed_at", "source",
                    "recorded_at", "recorded_by"),
    "credential": ("cti", "person_id", "colour", "score", "policy_id", "policy_digest", "iat",
                   "exp", "text", "issued_by", "run_id", "device_id", "purpose"),
}
#: At most this many mismatches are kept for the report (all are counted).
MAX_REPORTED = 100


class Finding(StrEnum):
    """How a table differs from the log (stable strings)."""

    MISSING = "missing"  # the log recorded the row; the table no longer has it
    UNLOGGED = "unlogged"  # the table has a row the log never recorded
    CHANGED = "changed"  # the row differs from what the log recorded
    REVOCATION_MISMATCH = "revocation_mismatch"  # revoked in one, not (or not then) the other
    VOID_MISMATCH = "void_mismatch"  # an observation voided in one, not (or not so) the other
    UNCOVERED = "uncovered"  # an entry after MACs began that carries none


@dataclass(frozen=True)
class Mismatch:
    """One row that does not match the log: which table and row, which entry, and how."""

    table: str
    key: str
    reason: Finding
    seq: int | None
    detail: str

    @property
    def code(self) -> str:
        """The stable reason code: ``observation_changed``, ``credential_missing``, …,
        ``revocation_mismatch``, ``void_mismatch``, ``entry_uncovered``."""
        if self.reason in (Finding.REVOCATION_MISMATCH, Finding.VOID_MISMATCH):
            return str(self.reason)
        return f"{'entry' if self.table == 'audit_entry' else self.table}_{self.reason}"

    def __str__(self) -> str:
        where = f" (entry {self.seq})" if self.seq is not None else ""
        return f"{self.table} {self.key}: {self.code}{where}: {self.detail}"


def row_mac(keys: DataKeys, table: str, row: Mapping[str, Any]) -> str:
    """The MAC the log keeps of a row (a mapping with the columns of :data:`MAC_COLUMNS`)."""
    return keys.record_mac({"table": table, **{c: row[c] for c in MAC_COLUMNS[table]}})


#: An observation's void as stored or as logged: ``(voided_at, voided_by, void_reason)``.
Void = tuple[int, str, str]


@dataclass(frozen=True)
class Logged:
    """What an entry recorded of one row."""

    seq: int
    fields: dict[str, Any]
    mac: str | None


def revoked_ctis(action: str, details: Mapping[str, Any]) -> list[str]:
    """The ctis an entry with these ``action`` and ``details`` revoked."""
    found = [*_strings(details.get("revoked")), *_strings(details.get("superseded"))]
    if action == "credential.revoke_all":
        found += _strings(details.get("ctis"))
    if action == "credential.revoke" and isinstance(details.get("cti"), str):
        found.append(details["cti"])
    return found


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass
class LogIndex:
    """What a slice of the log says the tables hold, collected entry by entry (pass
    :meth:`add` as :func:`issuer.store.audit.first_break`'s ``on_entry``)."""

    people: dict[str, Logged] = field(default_factory=dict)
    observations: dict[int, Logged] = field(default_factory=dict)
    credentials: dict[str, Logged] = field(default_factory=dict)
    #: cti -> (seq, time) of the entry that revoked it.
    revocations: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: observation id -> (seq, the void) of the entry that voided it.
    voids: dict[int, tuple[int, Void]] = field(default_factory=dict)
    #: What a void and a revocation say of their row, to tell a purged one from one deleted
    #: behind the log: the observation's kind and ``observed_at``; the credential's holder.
    void_fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    revoked_of: dict[str, str | None] = field(default_factory=dict)
    #: The public log's leaves the entries record (their ``log``): index -> (entry, details).
    leaves: dict[int, tuple[AuditEntry, dict[str, Any]]] = field(default_factory=dict)
    #: Entries written before MACs were recorded (checked on their plain fields only).
    legacy: int = 0
    uncovered: list[int] = field(default_factory=list)
    #: Whether an entry carried a MAC yet (from then on, every one must).
    macs_began: bool = False

    def add(self, entry: AuditEntry) -> None:
        try:
            details = json.loads(entry.details_json)
        except ValueError:
            return
        if not isinstance(details, dict):
            return
        person, action = entry.person_id, entry.action
        leaf = details.get("log")
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            self.leaves.setdefault(leaf, (entry, details))
        if action == "person.create" and person is not None:
            self.people.setdefault(person, Logged(entry.seq, {
                "organisation": details.get("organisation")}, None))
        elif action == "observation.add" and isinstance(details.get("observation"), int):
            fields = {"person_id": person, "kind": details.get("kind"),
                      "source": details.get("source"), "recorded_at": entry.at,
                      "recorded_by": entry.actor}
            if "observed_at" in details:
                fields["observed_at"] = details["observed_at"]
            self._row(self.observations, details["observation"], entry, fields, details)
        elif action == "credential.issue" and isinstance(details.get("cti"), str):
            fields = {"person_id": person, "exp": details.get("exp"),
                      "run_id": details.get("run"), "issued_by": entry.actor}
            if "purpose" in details:
                fields.update(purpose=details["purpose"], device_id=details.get("device"))
            self._row(self.credentials, details["cti"], entry, fields, details)
        elif action == "observation.void" and isinstance(details.get("observation"), int):
            self.voids.setdefault(details["observation"],
                                  (entry.seq, (entry.at, entry.actor, entry.reason)))
            self.void_fields.setdefault(details["observation"], {
                "kind": details.get("kind"), "observed_at": details.get("observed_at"),
                "person_id": person})
        for cti in revoked_ctis(action, details):
            self.revocations.setdefault(cti, (entry.seq, entry.at))
            self.revoked_of.setdefault(cti, person)

    def _row(self, rows: dict[Any, Logged], key: Any, entry: AuditEntry,
             fields: dict[str, Any], details: Mapping[str, Any]) -> None:
        mac = details.get("mac") if isinstance(details.get("mac"), str) else None
        if mac is not None:
            self.macs_began = True
        elif self.macs_began:
            self.uncovered.append(entry.seq)
        else:
            self.legacy += 1
        rows.setdefault(key, Logged(entry.seq, fields, mac))


@dataclass
class TableReport:
    """The tables against the log: rows checked per table, and what did not match."""

    checked: dict[str, int] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    count: int = 0

    def add(self, mismatch: Mismatch) -> None:
        self.count += 1
        if len(self.mismatches) < MAX_REPORTED:
            self.mismatches.append(mismatch)


def uncovered(index: LogIndex, report: TableReport) -> None:
    """Report the entries of ``index`` written without a MAC after MACs began."""
    for seq in index.uncovered:
        report.add(Mismatch("audit_entry", str(seq), Finding.UNCOVERED, seq,
                            "written after record MACs began, but carries none"))


#: People with the name of their organisation (what ``person.create`` recorded).
PEOPLE = (select(Person.id, Person.created_at, Organisation.name.label("organisation"))
          .join(Organisation, Person.organisation_id == Organisation.id))


def compare_person(row: Any, logged: Logged, report: TableReport) -> None:
    """Report a person row (of :data:`PEOPLE`) that differs from its ``person.create``."""
    if logged.fields["organisation"] != row.organisation:
        report.add(Mismatch("person", row.id, Finding.CHANGED, logged.seq,
                            "organisation differs from the one logged"))


def missing(report: TableReport, table: str, logged_rows: Mapping[Any, Logged],
            detail: str = "logged, not in the table") -> None:
    """Report each of ``logged_rows`` (those no row was found for) as missing."""
    for key, logged in logged_rows.items():
        report.add(Mismatch(table, str(key), Finding.MISSING, logged.seq, detail))


def compare_row(keys: DataKeys, table: str, values: Mapping[str, Any], logged: Logged,
                report: TableReport) -> None:
    """Report an observation or credential row (``values``: its columns) that differs from
    what its entry recorded: a field, or (the fields alike) its MAC."""
    key = values["cti" if table == "credential" else "id"]
    changed = [name for name, value in logged.fields.items() if values[name] != value]
    if not changed and logged.mac is not None and row_mac(keys, table, values) != logged.mac:
        changed = ["value" if table == "observation" else "content"]
    if changed:
        report.add(Mismatch(table, str(key), Finding.CHANGED, logged.seq,
                            f"{', '.join(changed)} differ from what was logged"))


def check_revocation(cti: str, revoked_at: int | None, logged: tuple[int, int] | None,
                     report: TableReport) -> None:
    """Report a credential revoked in the table and not the log (``logged``: the entry's
    seq and time, or None), or in the log and not the table, or at another time."""
    if logged is None and revoked_at is not None:
        report.add(Mismatch("credential", cti, Finding.REVOCATION_MISMATCH, None,
                            f"revoked at {revoked_at} in the table, never in the log"))
    elif logged is not None and revoked_at is None:
        report.add(Mismatch("credential", cti, Finding.REVOCATION_MISMATCH, logged[0],
                            f"revoked at {logged[1]} in the log, not in the table"))
    elif logged is not None and revoked_at != logged[1]:
        report.add(Mismatch("credential", cti, Finding.REVOCATION_MISMATCH, logged[0],
                            f"revoked at {revoked_at} in the table, at {logged[1]} in the log"))


def check_void(observation: int, stored: Void | None, logged: tuple[int, Void] | None,
               report: TableReport) -> None:
    """Report an observation voided in the table and not the log (``logged``: the entry's seq
    and the void it records, or None), or in the log and not the table, or otherwise (another
    time, actor or reason)."""
    if logged is None and stored is not None:
        report.add(Mismatch("observation", str(observation), Finding.VOID_MISMATCH, None,
                            f"voided at {stored[0]} in the table, never in the log"))
    elif logged is not None and stored is None:
        report.add(Mismatch("observation", str(observation), Finding.VOID_MISMATCH, logged[0],
                            f"voided at {logged[1][0]} in the log, not in the table"))
    elif logged is not None and stored != logged[1]:
        report.add(Mismatch("observation", str(observation), Finding.VOID_MISMATCH, logged[0],
                            "voided in the table otherwise (time, by whom or why) than the "
                            "log says"))
