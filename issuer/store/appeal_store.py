"""Appeals: a holder contests one of their records, or their colour as a whole; a reviewer
upholds or rejects it in writing. An upheld appeal voids the record contested (or those the
reviewer names, for a colour) in the same transaction as the decision, and re-scores.

The holder's words, their attachment and the reviewer's written reason are personal data:
encrypted at rest (:class:`issuer.store.pii.DataKeys`), bound to the appeal's id and column,
and never in the audit log, whose entries say only what happened, when, by whom, to which
record (``appeal.open``, ``appeal.decide``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .base import clock
from .db import Appeal, Conflict, NotFound
from .observation_store import Consequence, ObservationStore, observation_of, void_row
from .people import key_of

APPEAL_PREFIX = "a-"
APPEAL_ID = re.compile(r"a-[A-Za-z0-9_-]{1,32}")
#: Columns the encrypted fields are bound to.
COLUMNS = {"reason": "appeal.reason", "attachment": "appeal.attachment",
           "decision": "appeal.decision"}
#: Open appeals one person may have at once (each is work for a reviewer).
MAX_OPEN = 5
UPHELD, REJECTED, OPEN = "upheld", "rejected", "open"
#: The reason a void caused by an upheld appeal records (the written reason is the appeal's).
APPEAL_UPHELD = "appeal upheld"


def new_appeal_id() -> str:
    """A fresh random appeal id such as ``a-3q2Xv0bBqKJ7``."""
    return APPEAL_PREFIX + secrets.token_urlsafe(9)


class AppealStore(ObservationStore):
    """The repository's appeal operations (:class:`issuer.store.Store` inherits them)."""

    def open_appeal(self, person_id: str, *, observation_id: int | None, reason: str,
                    attachment: tuple[bytes, str] | None = None, due_at: int | None = None,
                    now: int | None = None) -> dict[str, Any]:
        """Record the holder's appeal against their observation ``observation_id`` (None:
        their colour as a whole), with ``reason`` and an optional ``attachment`` ``(bytes,
        media type)``, checked by the caller; return it as :meth:`appeal` does. Raises
        :class:`NotFound` (no such record of this person), :class:`Conflict` (``field``
        ``voided``: the record is voided already; ``observation``: an appeal against it is
        open; ``appeals``: too many open)."""
        now = clock(now)
        with self.writing() as session:
            person = self.person_row(session, person_id, lock=True)
            if observation_id is not None:
                if observation_of(session, person_id, observation_id).voided_at is not None:
                    raise Conflict("that record is voided already", "voided")
            contested = list(session.scalars(select(Appeal.observation_id).where(
                Appeal.person_id == person_id, Appeal.state == OPEN)))
            if observation_id in contested:
                raise Conflict("an appeal against it is open already", "observation")
            if len(contested) >= MAX_OPEN:
                raise Conflict(f"at most {MAX_OPEN} appeals may be open at once", "appeals")
            appeal_id, keys = new_appeal_id(), key_of(self.data_keys, person)
            row = Appeal(id=appeal_id, person_id=person_id, observation_id=observation_id,
                         reason_enc=keys.encrypt(COLUMNS["reason"], appeal_id, reason),
                         created_at=now, due_at=due_at, state=OPEN)
            if attachment is not None:
                row.attachment_enc = keys.seal(COLUMNS["attachment"], appeal_id, attachment[0])
                row.attachment_type = attachment[1]
            session.add(row)
            session.flush()
            audit.append(session, "holder", "appeal.open",
                         "appeal against a record" if observation_id is not None
                         else "appeal against the colour", person_id,
                         {"appeal": appeal_id, "observation": observation_id,
                          "attachment": attachment is not None, "due": due_at}, now)
            return self._as_dict(row, session)

    def appeal(self, appeal_id: str) -> dict[str, Any]:
        """The appeal, decrypted: id, person_id, observation_id, reason, attachment_type,
        created_at, due_at, state, decided_at, decided_by, decision. Raises NotFound."""
        with self.reading() as session:
            return self._as_dict(_appeal(session, appeal_id), session)

    def appeal_attachment(self, appeal_id: str) -> tuple[bytes, str] | None:
        """The appeal's attachment ``(bytes, media type)``, decrypted; None if it has none.
        Raises NotFound."""
        with self.reading() as session:
            row = _appeal(session, appeal_id)
            if row.attachment_enc is None or row.attachment_type is None:
                return None
            own = key_of(self.data_keys, self.person_row(session, row.person_id))
            return (own.unseal(COLUMNS["attachment"], row.id, row.attachment_enc),
                    row.attachment_type)

    def appeals_of(self, person_id: str) -> list[dict[str, Any]]:
        """The person's appeals, newest first."""
        with self.reading() as session:
            rows = session.scalars(select(Appeal).where(Appeal.person_id == person_id)
                                   .order_by(Appeal.created_at.desc(), Appeal.id))
            return [self._as_dict(row, session) for row in rows]

    def appeal_queue(self, state: str = OPEN, limit: int = 100) -> list[dict[str, Any]]:
        """Appeals in ``state``, oldest first (the queue a reviewer works through)."""
        with self.reading() as session:
            rows = session.scalars(select(Appeal).where(Appeal.state == state)
                                   .order_by(Appeal.created_at, Appeal.id).limit(limit))
            return [self._as_dict(row, session) for row in rows]

    def appeal_counts(self, now: int | None = None) -> dict[str, int]:
        """``{"open": …, "overdue": …}``: open appeals, and those past their deadline."""
        now = clock(now)
        with self.reading() as session:
            is_open = Appeal.state == OPEN
            total = session.scalar(select(func.count()).where(is_open)) or 0
            late = session.scalar(select(func.count()).where(
                is_open, Appeal.due_at.is_not(None), Appeal.due_at < now)) or 0
            return {"open": int(total), "overdue": int(late)}

    def decide_appeal(self, appeal_id: str, *, upheld: bool, reason: str, actor: str,
                      now: int | None = None, void: Sequence[int] = (),
                      consequence: Consequence | None = None, since: int | None = None
                      ) -> dict[str, Any]:
        """Uphold or reject an open appeal with the reviewer's written ``reason``; return it
        as :meth:`appeal` does. Upheld, the record it contests is voided, or, for an appeal
        against the colour, the person's records listed in ``void``: in the same transaction,
        each an ``observation.void`` entry, re-scored (``consequence`` and ``since`` as for
        :meth:`add_observation`). Raises NotFound (no such appeal, or a record to void that is
        not the person's), :class:`Conflict` (``field`` ``state``: decided already)."""
        now = clock(now)
        with self.writing() as session:
            row = _appeal(session, appeal_id, lock=True)
            if row.state != OPEN:
                raise Conflict(f"appeal {appeal_id} was {row.state} already", "state")
            person = self.person_row(session, row.person_id, lock=True)
            targets = [] if not upheld else (
                [row.observation_id] if row.observation_id is not None else list(void))
            voided = [observation_of(session, person.id, key) for key in dict.fromkeys(targets)]
            row.state = UPHELD if upheld else REJECTED
            row.decided_at, row.decided_by = now, actor
            row.decision_enc = key_of(self.data_keys, person).encrypt(
                COLUMNS["decision"], row.id, reason)
            audit.append(session, actor, "appeal.decide", f"appeal {row.state}", person.id,
                         {"appeal": row.id, "decision": row.state,
                          "voided": [observation.id for observation in voided]}, now)
            for observation in voided:
                void_row(session, person, observation, actor=actor, reason=APPEAL_UPHELD,
                         now=now, consequence=consequence, since=since)
            return self._as_dict(row, session)

    def _as_dict(self, row: Appeal, session: Session) -> dict[str, Any]:
        decrypt = key_of(self.data_keys, self.person_row(session, row.person_id)).decrypt
        return {"id": row.id, "person_id": row.person_id, "observation_id": row.observation_id,
                "reason": decrypt(COLUMNS["reason"], row.id, row.reason_enc),
                "attachment_type": row.attachment_type, "created_at": row.created_at,
                "due_at": row.due_at, "state": row.state, "decided_at": row.decided_at,
                "decided_by": row.decided_by,
                "decision": None if row.decision_enc is None else decrypt(
                    COLUMNS["decision"], row.id, row.decision_enc)}


def _appeal(session: Session, appeal_id: str, lock: bool = False) -> Appeal:
    # Only what has the shape of an appeal id reaches a query (a NUL in a URL made PostgreSQL
    # fail with a 500 where a person id was not checked so).
    row = session.get(Appeal, appeal_id, with_for_update=lock or None) \
        if isinstance(appeal_id, str) and APPEAL_ID.fullmatch(appeal_id) else None
    if row is None:
        raise NotFound(f"no appeal {str(appeal_id)[:40]}")
    return row
