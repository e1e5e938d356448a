"""Family links in the database: a guardian's phone may show a dependant's live codes
(docs/POLICY.md, "Family codes"). Functions take a session in a transaction;
:class:`issuer.store.family_store.FamilyStore` wraps them with their audit entries.

The codes a link lets a guardian's phone show are the dependant's credentials bound to one of
the guardian's phones (``credential.person_id`` the dependant, ``credential.device_id`` a
device of the guardian): ending the link, or the guardian's phone being replaced, revokes
exactly those.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import CredentialRecord, Device, FamilyLink

#: How many dependants one guardian's phone may hold, and how many guardians one dependant may
#: have (two parents, two grandparents): enough for a family, too few for a phone that shows
#: a crowd's codes.
MAX_DEPENDANTS = 6
MAX_GUARDIANS = 4
LINK_ID_PREFIX = "f-"
#: The reason recorded when a guardian's replaced phone takes the dependants' codes with it.
PHONE_REPLACED = "replaced by a new phone"


class FamilyProblem(StrEnum):
    """Why a family link was refused (stable strings: the API's ``reason``)."""

    SELF_LINK = "self_link"
    ALREADY_LINKED = "already_linked"
    TOO_MANY_DEPENDANTS = "too_many_dependants"
    TOO_MANY_GUARDIANS = "too_many_guardians"


class FamilyError(Exception):
    """A family link was refused; ``problem`` says why, the message in words."""

    def __init__(self, problem: FamilyProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def as_dict(row: FamilyLink) -> dict[str, Any]:
    return {"id": row.id, "guardian_id": row.guardian_id, "dependant_id": row.dependant_id,
            "created_at": row.created_at, "created_by": row.created_by,
            "revoked_at": row.revoked_at, "revoked_by": row.revoked_by,
            "revocation_reason": row.revocation_reason}


def _live_count(session: Session, column: Any, person_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(FamilyLink).where(
        column == person_id, FamilyLink.revoked_at.is_(None))) or 0)


def add(session: Session, dependant_id: str, guardian_id: str, actor: str, now: int
        ) -> FamilyLink:
    """Link ``guardian_id``'s phone to ``dependant_id`` (flushed). Both people must exist and
    be locked by the caller. Raises :class:`FamilyError`: ``self_link``, ``already_linked``,
    ``too_many_dependants`` (:data:`MAX_DEPENDANTS`), ``too_many_guardians``."""
    if dependant_id == guardian_id:
        raise FamilyError(FamilyProblem.SELF_LINK, "a person cannot be their own guardian")
    if live_link(session, guardian_id, dependant_id) is not None:
        raise FamilyError(FamilyProblem.ALREADY_LINKED,
                          "this guardian's phone already shows this person's code")
    if _live_count(session, FamilyLink.guardian_id, guardian_id) >= MAX_DEPENDANTS:
        raise FamilyError(FamilyProblem.TOO_MANY_DEPENDANTS,
                          f"a guardian's phone shows at most {MAX_DEPENDANTS} family members")
    if _live_count(session, FamilyLink.dependant_id, dependant_id) >= MAX_GUARDIANS:
        raise FamilyError(FamilyProblem.TOO_MANY_GUARDIANS,
                          f"a person's code is on at most {MAX_GUARDIANS} guardians' phones")
    row = FamilyLink(id=LINK_ID_PREFIX + secrets.token_urlsafe(9), guardian_id=guardian_id,
                     dependant_id=dependant_id, created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    return row


def live_link(session: Session, guardian_id: str, dependant_id: str) -> FamilyLink | None:
    return session.scalars(select(FamilyLink).where(
        FamilyLink.guardian_id == guardian_id, FamilyLink.dependant_id == dependant_id,
        FamilyLink.revoked_at.is_(None))).first()


def get(session: Session, link_id: str, lock: bool = False) -> FamilyLink | None:
    if not isinstance(link_id, str) or len(link_id) > 32:
        return None
    return session.get(FamilyLink, link_id, with_for_update=lock or None)


def links_of(session: Session, person_id: str, *, as_guardian: bool, live: bool = True
             ) -> list[FamilyLink]:
    """The person's links as guardian (their dependants) or as dependant, oldest first."""
    column = FamilyLink.guardian_id if as_guardian else FamilyLink.dependant_id
    query = select(FamilyLink).where(column == person_id)
    if live:
        query = query.where(FamilyLink.revoked_at.is_(None))
    return list(session.scalars(query.order_by(FamilyLink.created_at, FamilyLink.id)))


def codes_on_guardian_phones(session: Session, dependant_id: str, guardian_id: str, now: int
                             ) -> list[CredentialRecord]:
    """The dependant's unexpired, unrevoked credentials bound to any phone of the guardian."""
    phones = select(Device.id).where(Device.person_id == guardian_id)
    return list(session.scalars(select(CredentialRecord).where(
        CredentialRecord.person_id == dependant_id, CredentialRecord.device_id.in_(phones),
        CredentialRecord.exp >= now, CredentialRecord.revoked_at.is_(None))
        .order_by(CredentialRecord.cti)))


def codes_on_phones_of_others(session: Session, guardian_id: str, now: int
                              ) -> dict[str, list[CredentialRecord]]:
    """Other people's (dependants') unexpired, unrevoked credentials bound to the guardian's
    live phones, by dependant."""
    phones = select(Device.id).where(Device.person_id == guardian_id,
                                     Device.revoked_at.is_(None))
    rows = session.scalars(select(CredentialRecord).where(
        CredentialRecord.device_id.in_(phones), CredentialRecord.person_id != guardian_id,
        CredentialRecord.exp >= now, CredentialRecord.revoked_at.is_(None))
        .order_by(CredentialRecord.person_id, CredentialRecord.cti))
    found: dict[str, list[CredentialRecord]] = {}
    for row in rows:
        found.setdefault(row.person_id, []).append(row)
    return found


def revoke(rows: list[CredentialRecord], actor: str, reason: str, now: int) -> list[str]:
    """Revoke ``rows`` (unrevoked credentials) at ``now``; return their ctis."""
    for row in rows:
        row.revoked_at, row.revoked_by, row.revocation_reason = now, actor, reason
    return [row.cti for row in rows]
