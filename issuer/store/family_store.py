"""Family links in the repository: staff link a dependant to a guardian (or the guardian's
signed-in phone redeems the dependant's enrolment letter), and staff or the guardian end the
link, which revokes the dependant's codes on the guardian's phones in the same transaction.

Every step is audited on both people's trails (``family.link``, ``family.unlink``): the
dependant's entry carries the revoked ctis (the audit check reads them by the credential's
person), the guardian's names the link and the dependant. The rules are in :mod:`.family`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit, family, holders
from .base import StoreBase, clock
from .db import NotFound
from .people import COLUMNS, key_of

#: The reason recorded when a link is ended and none is given.
LINK_ENDED = "family link ended"
#: Who acts when a guardian does something from their own phone.
GUARDIAN = "guardian"
#: The reason recorded when the guardian removes a family member from their phone.
REMOVED = "removed by the guardian"


class FamilyStore(StoreBase):
    """The repository's family operations (:class:`issuer.store.Store` inherits them)."""

    def link_family(self, dependant_id: str, guardian_id: str, *, actor: str, reason: str,
                    now: int | None = None) -> dict[str, Any]:
        """Let the guardian's phone show the dependant's live codes; return the link.
        Raises :class:`NotFound` (either person), :class:`.family.FamilyError`."""
        now = clock(now)
        with self.writing() as session:
            return family.as_dict(self._link(session, dependant_id, guardian_id, actor, reason,
                                             now))

    def redeem_enrolment_for_guardian(self, token: str, guardian_id: str,
                                      now: int | None = None) -> dict[str, Any]:
        """Use a dependant's one-time enrolment link from the guardian's signed-in phone: the
        link is spent and the dependant added to the guardian's phone (no phone is bound to
        the dependant, nobody is signed out). Raises :class:`.holders.HolderError` (the
        link), :class:`.family.FamilyError` (then the link stays unused)."""
        now = clock(now)
        with self.writing() as session:
            dependant_id = holders.claim_enrolment(session, token, now)
            return family.as_dict(self._link(session, dependant_id, guardian_id, GUARDIAN,
                                             "enrolment link", now))

    def _link(self, session: Session, dependant_id: str, guardian_id: str, actor: str,
              reason: str, now: int):
        # Both rows locked, in one order (no deadlock): the limits are counted under them.
        for person_id in sorted({dependant_id, guardian_id}):
            self.person_row(session, person_id, lock=True)
        row = family.add(session, dependant_id, guardian_id, actor, now)
        audit.append(session, actor, "family.link", reason, dependant_id,
                     {"link": row.id, "guardian": guardian_id}, now)
        audit.append(session, actor, "family.link", reason, guardian_id,
                     {"link": row.id, "dependant": dependant_id}, now)
        return row

    def end_family_link(self, link_id: str, *, actor: str, reason: str = LINK_ENDED,
                        guardian_id: str | None = None, now: int | None = None
                        ) -> tuple[dict[str, Any], list[str]]:
        """End a link and revoke the dependant's unexpired codes bound to any of the
        guardian's phones, in one transaction; return ``(link, revoked ctis)``. Ending it
        again changes nothing. ``guardian_id``: the guardian ending it from their phone (a
        link of someone else's is :class:`NotFound`). Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            row = family.get(session, link_id, lock=True)
            if row is None or guardian_id not in (None, row.guardian_id):
                raise NotFound(f"no family link {str(link_id)[:40]}")
            if row.revoked_at is not None:
                return family.as_dict(row), []
            row.revoked_at, row.revoked_by, row.revocation_reason = now, actor, reason
            revoked = family.revoke(family.codes_on_guardian_phones(
                session, row.dependant_id, row.guardian_id, now), actor, reason, now)
            audit.append(session, actor, "family.unlink", reason, row.dependant_id,
                         {"link": row.id, "guardian": row.guardian_id, "revoked": revoked}, now)
            audit.append(session, actor, "family.unlink", reason, row.guardian_id,
                         {"link": row.id, "dependant": row.dependant_id}, now)
            return family.as_dict(row), revoked

    @staticmethod
    def revoke_family_codes_of_phones(session: Session, guardian_id: str, now: int) -> int:
        """In ``session`` (a guardian's new phone being bound): revoke the dependants' codes
        bound to the guardian's phones, one ``credential.revoke_all`` entry on each
        dependant's trail; return how many. The new phone fetches new ones."""
        revoked = 0
        for dependant_id, rows in family.codes_on_phones_of_others(
                session, guardian_id, now).items():
            ctis = family.revoke(rows, "holder", family.PHONE_REPLACED, now)
            audit.append(session, "holder", "credential.revoke_all", family.PHONE_REPLACED,
                         dependant_id, {"ctis": ctis, "guardian": guardian_id}, now)
            revoked += len(ctis)
        return revoked

    def family_link(self, link_id: str) -> dict[str, Any]:
        """One link. Raises :class:`NotFound`."""
        with self.reading() as session:
            row = family.get(session, link_id)
            if row is None:
                raise NotFound(f"no family link {str(link_id)[:40]}")
            return family.as_dict(row)

    def family_of(self, person_id: str, live: bool = False) -> dict[str, list[dict[str, Any]]]:
        """The person's links: ``dependants`` (whose codes their phone shows) and
        ``guardians`` (whose phones show theirs); ended ones too unless ``live``. Raises
        :class:`NotFound`."""
        with self.reading() as session:
            self.person_row(session, person_id)
            return {key: [family.as_dict(r) for r in family.links_of(
                        session, person_id, as_guardian=as_guardian, live=live)]
                    for key, as_guardian in (("dependants", True), ("guardians", False))}

    def dependants(self, guardian_id: str) -> list[dict[str, Any]]:
        """The guardian's live links, each with ``label``: the dependant's name masked (its
        first character and ``*``), for the guardian's own phone only, never for a code."""
        with self.reading() as session:
            found = []
            for row in family.links_of(session, guardian_id, as_guardian=True):
                person = self.person_row(session, row.dependant_id)
                name = key_of(self.data_keys, person).decrypt(COLUMNS["name"], person.id,
                                                             person.name_enc)
                found.append({**family.as_dict(row), "label": name.strip()[:1] + "*"})
            return found

    def guardian_link(self, guardian_id: str, link_id: str) -> dict[str, Any] | None:
        """The live link ``link_id`` if ``guardian_id`` is its guardian, else None (someone
        else's, ended, or unknown: the caller cannot tell which)."""
        with self.reading() as session:
            row = family.get(session, link_id)
            if row is None or row.guardian_id != guardian_id or row.revoked_at is not None:
                return None
            return family.as_dict(row)
