"""Deleting what is past its retention, a bounded batch per transaction, each batch with the
``retention.purge`` audit entry that counts it.

What goes is decided by :class:`Cutoffs` (the service works them out from the policy's
``[retention]`` table): an observation of a kind whose cutoff its ``observed_at`` is before
(unless an appeal still speaks of it: then it goes with the appeal), a credential that expired
before the credential cutoff, an appeal decided before the appeal cutoff. The entry records the
cutoffs and the counts, never a value or an id of a person, so the audit check can tell a row
purged from a row deleted behind the log's back: a row the log recorded is excused only if a
later purge's cutoff covers it (:func:`purged`).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from . import audit
from .db import Appeal, AuditEntry, CredentialRecord, Observation

ACTION = "retention.purge"
#: The entry of an erasure (issuer/store/erasure.py, which imports this module).
ERASE = "person.erase"
#: Rows deleted per transaction (and per audit entry).
BATCH = 10_000


@dataclass(frozen=True)
class Cutoffs:
    """Epoch seconds before which each kind of row goes: observations by kind (``other``: a
    kind the mapping does not name), credentials by expiry, appeals by decision."""

    observations: Mapping[str, int]
    other: int
    credentials: int
    appeals: int

    def observation(self, kind: str) -> int:
        return self.observations.get(kind, self.other)

    def as_details(self) -> dict[str, Any]:
        return {"observations": dict(sorted(self.observations.items())), "other": self.other,
                "credentials": self.credentials, "appeals": self.appeals}

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> Cutoffs | None:
        """The cutoffs a purge entry recorded (None if they are not readable)."""
        try:
            cutoffs = details["cutoffs"]
            observations = {str(k): int(v) for k, v in cutoffs["observations"].items()}
            return cls(observations, int(cutoffs["other"]), int(cutoffs["credentials"]),
                       int(cutoffs["appeals"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def purge_batch(session: Session, cutoffs: Cutoffs, *, actor: str, reason: str, now: int,
                batch: int = BATCH) -> dict[str, int]:
    """In ``session``, delete up to ``batch`` rows of each table that are past their cutoff,
    and append the entry that counts them (none if nothing went); return the counts."""
    counts = {"observations": _observations(session, cutoffs, batch),
              "credentials": _rows(session, CredentialRecord, CredentialRecord.cti,
                                   CredentialRecord.exp < cutoffs.credentials, batch),
              "appeals": _rows(session, Appeal, Appeal.id,
                               (Appeal.state != "open") & (Appeal.decided_at < cutoffs.appeals),
                               batch)}
    if any(counts.values()):
        audit.append(session, actor, ACTION, reason, None,
                     {"cutoffs": cutoffs.as_details(), "deleted": counts}, now)
    return counts


def _observations(session: Session, cutoffs: Cutoffs, batch: int) -> int:
    """Delete up to ``batch`` observations past their kind's cutoff that no appeal speaks of,
    kind by kind (each a range of the ``(kind, observed_at)`` index)."""
    contested = exists().where(Appeal.observation_id == Observation.id)
    named = sorted(cutoffs.observations)
    due: list[int] = []
    for kind, cutoff in [*((k, cutoffs.observations[k]) for k in named), (None, cutoffs.other)]:
        if len(due) >= batch:
            break
        which = Observation.kind == kind if kind is not None else Observation.kind.not_in(named)
        due += session.scalars(select(Observation.id).where(
            which, Observation.observed_at < cutoff, ~contested).limit(batch - len(due)))
    if due:
        session.execute(delete(Observation).where(Observation.id.in_(due)))
    return len(due)


def _rows(session: Session, model: Any, key: Any, condition: Any, batch: int) -> int:
    keys = list(session.scalars(select(key).where(condition).limit(batch)))
    if keys:
        session.execute(delete(model).where(key.in_(keys)))
    return len(keys)


class PurgeLog:
    """The purge and erasure entries of the log (after entry ``after``), to excuse the rows
    they deleted. Purges:
    a row the log recorded at entry ``seq`` is purged if a purge entry after ``seq`` has a
    cutoff beyond it (the largest cutoff of any later purge counts: a policy may lengthen a
    retention, and what was deleted before stays deleted)."""

    def __init__(self, session: Session, after: int = 0) -> None:
        rows = session.execute(select(AuditEntry.seq, AuditEntry.details_json)
                               .where(AuditEntry.action == ACTION, AuditEntry.seq > after)
                               .order_by(AuditEntry.seq)).all()
        #: person -> the entry that erased them (issuer/store/erasure.py): their rows the log
        #: recorded before it were deleted or cleared by it.
        self._erased: dict[str, int] = {}
        #: cti -> the MAC of the credential's row as an erasure left it (its text cleared).
        self.cleared: dict[str, str] = {}
        for seq, person, details_json in session.execute(
                select(AuditEntry.seq, AuditEntry.person_id, AuditEntry.details_json).where(
                    AuditEntry.action == ERASE, AuditEntry.seq > after)):
            if person is not None:
                self._erased.setdefault(person, seq)
            cleared = _json(details_json).get("cleared")
            if isinstance(cleared, dict):
                self.cleared.update((k, v) for k, v in cleared.items() if isinstance(v, str))
        self._seqs: list[int] = []
        self._latest: list[Cutoffs] = []  # the largest cutoffs from each entry to the end
        found = []
        for seq, details_json in rows:
            try:
                cutoffs = Cutoffs.from_details(json.loads(details_json))
            except ValueError:
                cutoffs = None
            if cutoffs is not None:
                found.append((seq, cutoffs))
        widest: Cutoffs | None = None
        for seq, cutoffs in reversed(found):
            widest = cutoffs if widest is None else _widest(widest, cutoffs)
            self._seqs.append(seq)
            self._latest.append(widest)
        self._seqs.reverse()
        self._latest.reverse()

    def __bool__(self) -> bool:
        return bool(self._seqs)

    def erased(self, person: Any, seq: int) -> bool:
        """Whether ``person`` was erased after entry ``seq``."""
        return self._erased.get(person, 0) > seq

    def unpurged(self, table: str, logged: Mapping[Any, Any]) -> dict[Any, Any]:
        """Those of ``logged`` (row key -> :class:`issuer.store.audit_tables.Logged`) that no
        purge or erasure deleted."""
        if not self._seqs and not self._erased:
            return dict(logged)
        return {key: row for key, row in logged.items()
                if not self.purged(table, row.fields, row.seq)}

    def purged(self, table: str, fields: Mapping[str, Any], seq: int) -> bool:
        """Whether a row the log recorded at entry ``seq`` (its logged ``fields``) is one a
        later purge deleted: an observation observed before its kind's cutoff, a credential
        that expired before the credential cutoff; an observation of a person erased after
        ``seq``."""
        if table == "observation" and self.erased(fields.get("person_id"), seq):
            return True
        at = bisect.bisect_right(self._seqs, seq)
        if at == len(self._seqs):
            return False
        cutoffs = self._latest[at]
        if table == "observation":
            when, kind = fields.get("observed_at"), fields.get("kind")
            return isinstance(when, int) and isinstance(kind, str) \
                and when < cutoffs.observation(kind)
        if table == "credential":
            exp = fields.get("exp")
            return isinstance(exp, int) and exp < cutoffs.credentials
        return False


def _widest(a: Cutoffs, b: Cutoffs) -> Cutoffs:
    kinds = set(a.observations) | set(b.observations)
    return Cutoffs({k: max(a.observation(k), b.observation(k)) for k in kinds},
                   max(a.other, b.other), max(a.credentials, b.credentials),
                   max(a.appeals, b.appeals))


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
