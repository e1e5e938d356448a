"""The issuer's repository: the only way the service and the CLI touch the database. Every
write runs in one transaction with its audit entry: both are stored or neither (:mod:`.base`).
Personal fields are encrypted before they reach the database, decrypted only in ``get_person``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..keys.home import Home
from . import audit, phones
from .appeal_store import AppealStore
from .audit_store import AuditStore
from .base import clock
from .credential_store import CredentialStore
from .db import Conflict, Person
from .engine import database_url, make_engine
from .erasure import ErasureStore
from .family_store import FamilyStore
from .holder_store import HolderStore
from .migrations import upgrade
from .people import (
    COLUMNS,
    KEY_BATCH,
    backfill_phone_macs,
    enrol,
    give_keys,
    key_of,
    organisation_id,
    person_fields,
    search_results,
)
from .pii import DataKeyError, DataKeys, load_data_keys
from .ranking import organisation_ranking
from .token_store import TokenStore

_log = logging.getLogger("healthcode.store")


class Store(AppealStore, CredentialStore, HolderStore, FamilyStore, TokenStore, AuditStore,
            ErasureStore):
    """People of one issuer; their observations (recorded, voided) and appeals from
    :class:`AppealStore` (on :class:`ObservationStore`), credentials and re-issue runs from
    :class:`CredentialStore`, holders' phones and sign-in from :class:`HolderStore`, API tokens
    from :class:`TokenStore`, the audit log's reads and checks from :class:`AuditStore`, family
    links (a guardian's phone showing dependants' codes) from :class:`FamilyStore`, erasure
    from :class:`ErasureStore`."""

    @classmethod
    def open(cls, home: Home | str | Path | None = None, url: str | None = None, *,
             data_keys: DataKeys | None = None, phone_region: str | None = None) -> Store:
        """Open (and migrate to the newest schema) the database of ``home``.

        ``url`` defaults to ``$HEALTHCODE_DATABASE_URL``, else ``sqlite:///HOME/issuer.db``.
        The data keys are loaded from, or on first use created in, ``HOME/keys``; raises
        :class:`DataKeyError` if they are missing while the database already holds people
        (new keys would silently make everyone unreadable and duplicates undetectable).
        ``phone_region``: where numbers without a country code are read (default
        ``$HEALTHCODE_PHONE_REGION``, else CN); ``ValueError`` for an unknown region.
        """
        home = home if isinstance(home, Home) else Home.resolve(home)
        phone_region = phones.region(phone_region)
        engine = make_engine(database_url(home, url))
        try:
            upgrade(engine)
            if data_keys is None:
                if not home.data_keys.exists():
                    with Session(engine) as session:
                        people = session.scalar(select(func.count()).select_from(Person))
                    if people:
                        raise DataKeyError(f"{home.data_keys} is missing but the database "
                                           f"holds {people} people: restore it from a backup")
                data_keys = load_data_keys(home)
            # People from before per-person keys get theirs, a batch a transaction; the last
            # (at every start after that: the only one) also gives phone lookup keys.
            while True:
                with Session(engine) as session, session.begin():
                    if give_keys(session, data_keys) < KEY_BATCH:
                        _, not_valid = backfill_phone_macs(session, data_keys, phone_region,
                                                           clock(None))
                        break
            if not_valid:
                _log.warning("%d people have a stored phone number that is not valid in "
                             "region %s: they cannot sign in by code until it is corrected "
                             "(their enrolment letters still work)", not_valid, phone_region)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, data_keys, phone_region)

    # People ---------------------------------------------------------------------------------

    def create_person(self, name: str, id_number: str, phone: str, organisation: str, *,
                      actor: str, reason: str = "enrolment", now: int | None = None) -> str:
        """Enrol a person and return their new pseudonymous id (``p-`` + 12 characters).

        Raises :class:`Conflict` (``field="id_number"``) if someone with the same normalised
        id number exists; nothing is written then, not even an audit entry. ``ValueError``
        for a blank id number or organisation, :class:`.phones.PhoneError` (a ``ValueError``)
        for a phone number that cannot be valid (it is kept in E.164).
        """
        now = clock(now)
        with self.writing() as session:
            if self._find(session, id_number) is not None:
                raise Conflict("a person with this id number is already enrolled", "id_number")
            org_id = organisation_id(session, organisation, now)
            try:
                person_id = enrol(session, self.data_keys, name, id_number, phone, org_id, now,
                                  self.phone_region)
            except IntegrityError as exc:  # enrolled by a concurrent request since _find
                if "id_number_mac" in str(exc.orig):
                    raise Conflict("a person with this id number is already enrolled",
                                   "id_number") from None
                raise
            audit.append(session, actor, "person.create", reason, person_id,
                         {"organisation": organisation.strip()}, now)
        return person_id

    def find_person(self, id_number: str) -> str | None:
        """Return the id of the person with this id number (any spacing or case), or None."""
        with self.reading() as session:
            return self._find(session, id_number)

    def find_people(self, *, actor: str, id_number: str | None = None,
                    phone: str | None = None, now: int | None = None) -> list[dict[str, Any]]:
        """Find people by id number or by phone number (exactly one of the two), through the
        keyed lookups only (never decrypting anyone else): a list of what staff may see of
        each (:func:`.people.search_results`); a phone may be a family's, so several. Each
        search is audited: who searched, by what, whom it found (never the value searched).

        Raises ``ValueError`` unless exactly one is given, :class:`.phones.PhoneError` for
        a phone number that cannot be valid."""
        if (id_number is None) == (phone is None):
            raise ValueError("search by id number or by phone number: one of the two")
        now = clock(now)
        if id_number is not None:
            by, match = "id_number", Person.id_number_mac == self.data_keys.id_number_mac(
                id_number)
        else:
            by, match = "phone", Person.phone_mac == self.data_keys.phone_mac(
                phone, self.phone_region)
        with self.writing() as session:
            found = search_results(session, self.data_keys,
                                   session.scalars(select(Person).where(match)).all())
            audit.append(session, actor, "person.search", f"search by {by}", None,
                         {"by": by, "found": [person["id"] for person in found]}, now)
        return found

    def _find(self, session: Session, id_number: str) -> str | None:
        mac = self.data_keys.id_number_mac(id_number)
        return session.scalar(select(Person.id).where(Person.id_number_mac == mac))

    def get_person(self, person_id: str) -> dict[str, Any]:
        """Return the person's decrypted data: id, name, id_number, phone, organisation,
        created_at. Raises :class:`NotFound`, or :class:`DecryptionError` for a field that
        was tampered with or moved between rows."""
        with self.reading() as session:
            return person_fields(session, self.data_keys, self.person_row(session, person_id))

    def person_ids(self) -> list[str]:
        """Return every person's id but the erased (for batch jobs such as re-issuing)."""
        with self.reading() as session:
            return list(session.scalars(select(Person.id).where(Person.erased_at.is_(None))
                                        .order_by(Person.created_at, Person.id)))

    def identities_of(self, session: Session, person_ids: Sequence[str]
                      ) -> dict[str, tuple[str, str, str | None]]:
        """In ``session``, several people at once (for a batch of static codes): the
        decrypted ``(name, id_number)`` for the check-ID fields, and the colour last recorded
        for each (``Person.colour``, None if unknown). The erased are left out. On PostgreSQL
        the rows are read ``FOR KEY SHARE`` (the lock their credentials' foreign key takes
        anyway): an erasure in progress is waited for, and one begun later waits for this
        transaction, then revokes what it issued."""
        rows = session.execute(select(Person.id, Person.name_enc, Person.id_number_enc,
                                      Person.colour, Person.data_key, Person.erased_at)
                               .where(Person.id.in_(person_ids))
                               .with_for_update(key_share=True, of=Person))
        found = {}
        for row in rows:
            if row.erased_at is not None:
                continue
            own = key_of(self.data_keys, row)
            found[row.id] = (own.decrypt(COLUMNS["name"], row.id, row.name_enc),
                             own.decrypt(COLUMNS["id_number"], row.id, row.id_number_enc),
                             row.colour)
        return found

    def ranking(self, k: int) -> list[dict[str, Any]]:
        """Return organisations with at least ``k`` scored members, best mean first (see
        :func:`issuer.store.ranking.organisation_ranking`). Raises ``ValueError`` if k < 1."""
        with self.reading() as session:
            return organisation_ranking(session, k)
