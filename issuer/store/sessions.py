"""Holders' sessions, kept server-side: the cookie carries only a random session id, the
database a SHA-256 of it, the person, the bound phone (if any) and when the session ends.

Ending a session is a write here, so it holds everywhere at once: signing out, binding a new
phone (every other session of the person ends) and an operator's ``healthcode-issuer sessions
revoke`` make the cookie worthless, even a copy of it replayed later. Functions take a session
in a transaction; :class:`issuer.store.Store` wraps them.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import BigInteger, ForeignKey, String, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import SHA256_HEX, Base

#: How long a holder stays signed in on a phone without signing in again.
SESSION_TTL = 180 * 86_400
_ID_BYTES = 32
MAX_ID_LENGTH = 64  # a presented id longer than this is not one of ours


class HolderSession(Base):
    """A signed-in phone or browser. Only a hash of the cookie's session id is kept."""

    __tablename__ = "holder_session"

    id_hash: Mapped[str] = mapped_column(String(SHA256_HEX), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    #: The phone bound in this session (by enrolment link, or after a sign-in by code).
    device_id: Mapped[str | None] = mapped_column(ForeignKey("device.id"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)
    end_reason: Mapped[str | None] = mapped_column(Text)


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def start(session: Session, person_id: str, device_id: str | None, now: int) -> str:
    """Add a session for the person (and phone); return its id, for the cookie only."""
    session_id = secrets.token_urlsafe(_ID_BYTES)
    session.add(HolderSession(id_hash=id_hash(session_id), person_id=person_id,
                              device_id=device_id, created_at=now,
                              expires_at=now + SESSION_TTL))
    session.flush()
    return session_id


def live(session: Session, session_id: str, now: int) -> HolderSession | None:
    """The session ``session_id`` names if it has neither ended nor expired, else None."""
    if not isinstance(session_id, str) or len(session_id) > MAX_ID_LENGTH:
        return None
    row = session.get(HolderSession, id_hash(session_id))
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    return row


def end(session: Session, session_id: str, now: int, reason: str) -> bool:
    """End one session; True if it was live."""
    if not isinstance(session_id, str) or len(session_id) > MAX_ID_LENGTH:
        return False
    ended = session.execute(
        update(HolderSession).where(HolderSession.id_hash == id_hash(session_id),
                                    HolderSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False))
    return bool(ended.rowcount)


def end_all(session: Session, person_id: str, now: int, reason: str,
            keep: str | None = None) -> int:
    """End every live session of the person except ``keep`` (a session id); return how many
    ended."""
    query = update(HolderSession).where(HolderSession.person_id == person_id,
                                        HolderSession.ended_at.is_(None),
                                        HolderSession.expires_at > now)
    if keep is not None:
        query = query.where(HolderSession.id_hash != id_hash(keep))
    ended = session.execute(query.values(ended_at=now, end_reason=reason)
                            .execution_options(synchronize_session=False))
    return int(ended.rowcount)


def live_count(session: Session, person_id: str, now: int) -> int:
    """How many sessions of the person are live."""
    return len(session.scalars(select(HolderSession.id_hash).where(
        HolderSession.person_id == person_id, HolderSession.ended_at.is_(None),
        HolderSession.expires_at > now)).all())


def purge(session: Session, now: int) -> int:
    """Delete ended and expired sessions; return how many."""
    return int(session.execute(delete(HolderSession).where(
        or_(HolderSession.ended_at.is_not(None), HolderSession.expires_at <= now))).rowcount)
