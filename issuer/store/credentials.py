"""Issued credentials and re-issue runs in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.labels import Colour

from .db import Conflict, CredentialRecord, NotFound, Person, ReissueRun

RUN_END_STATUSES = ("done", "failed")
MAX_SCORE = 100
_FIELDS = ("cti", "person_id", "colour", "score", "policy_id", "policy_digest", "iat", "exp",
           "text", "issued_by", "run_id", "revoked_at", "revoked_by", "revocation_reason",
           "device_id", "purpose")


def to_hex(value: bytes | str) -> str:
    """Return bytes, or a hex string in any case, as lower-case hex (``ValueError`` if not)."""
    return value.hex() if isinstance(value, bytes | bytearray) else bytes.fromhex(value).hex()


def as_dict(row: CredentialRecord) -> dict[str, Any]:
    """Return a credential as a dict of its columns."""
    return {name: getattr(row, name) for name in _FIELDS}


def record(session: Session, *, person_id: str, cti: bytes | str, text: str,
           colour: Colour | str, score: int, policy_id: str, policy_digest: bytes | str,
           iat: int, exp: int, issued_by: str, run_id: int | None = None) -> CredentialRecord:
    """Add an issued credential (flushed) and make its colour the person's last recorded one.
    Raises :class:`NotFound` for an unknown person or run, :class:`Conflict` for a reused cti
    (``field="cti"``) or a second credential for the person in one run (``field="run_id"``),
    ``ValueError`` for an unknown colour, a score outside 0–100 or an ``exp`` not after
    ``iat``."""
    if not 0 <= score <= MAX_SCORE or exp <= iat:
        raise ValueError("the score must be 0–100 and exp after iat")
    row = CredentialRecord(
        cti=to_hex(cti), person_id=person_id, colour=Colour(colour).value, score=score,
        policy_id=policy_id, policy_digest=to_hex(policy_digest), iat=iat, exp=exp, text=text,
        issued_by=issued_by, run_id=run_id)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    if run_id is not None:
        if session.get(ReissueRun, run_id) is None:
            raise NotFound(f"no re-issue run {run_id}")
        done = select(CredentialRecord.cti).where(CredentialRecord.run_id == run_id,
                                                  CredentialRecord.person_id == person_id)
        if session.scalar(done) is not None:
            raise Conflict(f"run {run_id} already issued {person_id} a credential", "run_id")
    if session.get(CredentialRecord, row.cti) is not None:
        raise Conflict(f"credential {row.cti} exists", "cti")
    session.add(row)
    person.colour = row.colour  # the colour last recorded (what a re-issue compares with)
    session.flush()
    return row


def get(session: Session, cti: bytes | str) -> CredentialRecord:
    """Return the credential ``cti``; raises :class:`NotFound`."""
    row = session.get(CredentialRecord, to_hex(cti))
    if row is None:
        raise NotFound(f"no credential {to_hex(cti)}")
    return row


def for_person(session: Session, person_id: str) -> list[CredentialRecord]:
    """Return the person's credentials, newest first."""
    return list(session.scalars(
        select(CredentialRecord).where(CredentialRecord.person_id == person_id)
        .order_by(CredentialRecord.iat.desc(), CredentialRecord.cti)))


def revoke(session: Session, row: CredentialRecord, actor: str, reason: str, now: int) -> bool:
    """Mark ``row`` revoked (flushed); False if it already was."""
    if row.revoked_at is not None:
        return False
    row.revoked_at, row.revoked_by, row.revocation_reason = now, actor, reason
    session.flush()
    return True


def unexpired_of(session: Session, person_id: str, now: int) -> list[CredentialRecord]:
    """The person's credentials that have not expired, oldest first."""
    return list(session.scalars(
        select(CredentialRecord).where(CredentialRecord.person_id == person_id,
                                       CredentialRecord.exp >= now)
        .order_by(CredentialRecord.iat, CredentialRecord.cti)))


def better_than(session: Session, person_id: str, colour: Colour | str, score: int, now: int
                ) -> list[CredentialRecord]:
    """The person's unrevoked, unexpired credentials that show a better colour than ``colour``
    or a higher score than ``score``. (Colour codes are ordered by severity: green 0, yellow 1,
    red 2.)"""
    floor = Colour(colour).code
    return [row for row in unexpired_of(session, person_id, now)
            if row.revoked_at is None and (Colour(row.colour).code < floor or row.score > score)]


def revoked_unexpired(session: Session, now: int) -> list[str]:
    """The ctis (hex) of revoked credentials that have not expired: the revocation list."""
    return list(session.scalars(
        select(CredentialRecord.cti).where(CredentialRecord.revoked_at.is_not(None),
                                           CredentialRecord.exp >= now)))


def start_run(session: Session, started_by: str, now: int) -> ReissueRun:
    """Add a running re-issue run (flushed, so it has an id)."""
    run = ReissueRun(started_at=now, started_by=started_by, status="running")
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, status: str, now: int) -> ReissueRun:
    """Mark a run ``done`` or ``failed``. Raises :class:`NotFound`, ``ValueError``."""
    if status not in RUN_END_STATUSES:
        raise ValueError(f"a run finishes as one of {RUN_END_STATUSES}")
    run = session.get(ReissueRun, run_id)
    if run is None:
        raise NotFound(f"no re-issue run {run_id}")
    run.status, run.finished_at = status, now
    session.flush()
    return run
