"""Erasing a person: what an authority does when a person's data must go (they asked, and no
law keeps it), in one transaction with its ``person.erase`` audit entry.

Crypto-shredding: the person's own data key (``person.data_key``) is deleted, so their
name, id number, phone, and their appeals' words, photos and decisions can never be
decrypted again, wherever a copy of the ciphertext still lies. Then, so that nothing needs the
key's absence to be safe, the rows themselves go: the personal columns and the lookup keys
(id number, phone) are cleared, the person's observations and appeals are deleted, their
enrolment links are deleted, their phones unbound and signed out, their family links ended
both ways (a dependant's codes on their phone revoked too), and every unexpired credential is
revoked (a checkpoint refuses it once it has the new revocation list) with the
signed text of all their credentials cleared (a static code carries the check-ID fields).

What is kept: the pseudonymous row (id, organisation, enrolment time, ``erased_at``), the
credentials' cti, times, colour and score (what the revocation list and retention need), and the
audit log, unchanged, whose chain still verifies: ``audit verify`` excuses the rows an erasure
deleted or cleared (:class:`issuer.store.purge.PurgeLog`). The log never held a personal value.

SQLite runs with ``secure_delete`` (:mod:`.engine`): what is deleted is overwritten with zeros
in the file, and the write-ahead log is checkpointed and truncated after an erasure, so the file
keeps no copy of the key or the fields. PostgreSQL leaves dead row versions in its pages until
VACUUM reuses them, and in its WAL and backups: there the deleted key is what protects them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import audit, family, sessions
from .audit_tables import row_mac
from .base import StoreBase, clock, required_reason
from .db import Appeal, CredentialRecord, Device, Enrolment, Observation
from .pii import DataKeys
from .purge import ERASE

ACTION = ERASE
#: The reason of what an erasure revokes, unbinds and ends.
ERASED = "erased"
_log = logging.getLogger("healthcode.store")


class ErasureStore(StoreBase):
    """The repository's erasure (:class:`issuer.store.Store` inherits it)."""

    def erase_person(self, person_id: str, *, actor: str, reason: str,
                     now: int | None = None) -> dict[str, Any]:
        """Erase the person (see the module's docstring) and return what went: ``erased_at``
        and the counts ``observations``, ``appeals``, ``revoked`` (credentials revoked now),
        ``credentials`` (whose text was cleared), ``devices``, ``sessions``, ``enrolments``,
        ``family_links`` (ended).
        Raises :class:`NotFound`, :class:`Erased` (erased already), ``ValueError`` for an
        empty reason."""
        reason = required_reason(reason, "an erasure")
        now = clock(now)
        with self.writing() as session:
            person = self.person_row(session, person_id, lock=True)
            links = _end_links(session, person_id, actor, now)
            counts, revoked, cleared = _erase_rows(session, self.data_keys, person_id,
                                                   actor, now)
            counts["family_links"] = links
            person.name_enc = person.id_number_enc = person.phone_enc = None
            person.id_number_mac = person.phone_mac = person.data_key = None
            person.colour, person.erased_at = None, now
            audit.append(session, actor, ACTION, reason, person_id,
                         {**counts, "revoked": revoked, "cleared": cleared}, now)
        self._compact()
        return {"person": person_id, "erased_at": now, **counts, "revoked": len(revoked)}

    def _compact(self) -> None:
        """SQLite: move the erasure into the database file and empty the write-ahead log, which
        still holds the pages as they were (their zeroed versions overwrite them in the file).
        Best effort: a long reader holds the log back, and the next checkpoint finishes it."""
        if self.engine.dialect.name != "sqlite":
            return
        connection = self.engine.raw_connection()  # outside any transaction
        try:
            busy, _, _ = connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.close()
        if busy:
            _log.warning("the write-ahead log could not be emptied after an erasure (a reader "
                         "held it): the next checkpoint will")


def _end_links(session: Session, person_id: str, actor: str, now: int) -> int:
    """End the person's live family links, both ways, as :meth:`end_family_link` does: as a
    guardian, their dependants' codes on the person's phones are revoked (on each dependant's
    trail); as a dependant, their own codes go with the rest of them. Return how many."""
    ended = 0
    for as_guardian in (True, False):
        for link in family.links_of(session, person_id, as_guardian=as_guardian):
            link.revoked_at, link.revoked_by, link.revocation_reason = now, actor, ERASED
            if as_guardian:
                revoked = family.revoke(family.codes_on_guardian_phones(
                    session, link.dependant_id, person_id, now), actor, ERASED, now)
                audit.append(session, actor, "family.unlink", ERASED, link.dependant_id,
                             {"link": link.id, "guardian": person_id, "revoked": revoked}, now)
            else:
                audit.append(session, actor, "family.unlink", ERASED, link.guardian_id,
                             {"link": link.id, "dependant": person_id}, now)
            ended += 1
    session.flush()
    return ended


def _erase_rows(session: Session, keys: DataKeys, person_id: str, actor: str, now: int
                ) -> tuple[dict[str, int], list[str], dict[str, str]]:
    """Delete and clear the person's rows but their own; return the counts, the ctis revoked
    now, and the MAC of each credential row as it is left (cti -> MAC)."""
    revoked = list(session.scalars(select(CredentialRecord.cti).where(
        CredentialRecord.person_id == person_id, CredentialRecord.exp >= now,
        CredentialRecord.revoked_at.is_(None))))
    if revoked:
        session.execute(update(CredentialRecord).where(CredentialRecord.cti.in_(revoked))
                        .values(revoked_at=now, revoked_by=actor, revocation_reason=ERASED))
    session.execute(update(CredentialRecord).where(CredentialRecord.person_id == person_id)
                    .values(text=""))
    # What each code's row now is, for the audit check (the log's MAC covered its text).
    columns = CredentialRecord.__table__.c
    cleared = {row.cti: row_mac(keys, "credential", row._mapping) for row in session.execute(
        select(columns).where(columns.person_id == person_id))}
    appeals = session.execute(delete(Appeal).where(Appeal.person_id == person_id)).rowcount
    observations = session.execute(
        delete(Observation).where(Observation.person_id == person_id)).rowcount
    devices = session.execute(update(Device).where(
        Device.person_id == person_id, Device.revoked_at.is_(None))
        .values(revoked_at=now, revocation_reason=ERASED)).rowcount
    enrolments = session.execute(
        delete(Enrolment).where(Enrolment.person_id == person_id)).rowcount
    ended = sessions.end_all(session, person_id, now, ERASED)
    return ({"observations": int(observations), "appeals": int(appeals),
             "credentials": len(cleared), "devices": int(devices), "sessions": ended,
             "enrolments": int(enrolments)}, revoked, cleared)
