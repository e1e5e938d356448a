"""People and organisations in the database: pseudonymous ids, encrypted personal fields."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from verifier.claims import IdCheck

from .db import Device, Erased, OneTimeCode, Organisation, Person
from .phones import DEFAULT_REGION, legacy_form, normalise, stored_form
from .pii import DataKeys, PersonKey

PERSON_ID_PREFIX = "p-"
_PERSON_ID_BYTES = 9  # 72 random bits: unguessable, and says nothing about the person
#: The associated-data name of each encrypted field: a ciphertext opens only in its own column.
COLUMNS = {"name": "person.name", "id_number": "person.id_number", "phone": "person.phone"}


def new_person_id() -> str:
    """Return a fresh random pseudonymous person id such as ``p-3q2Xv0bBqKJ7``."""
    return PERSON_ID_PREFIX + secrets.token_urlsafe(_PERSON_ID_BYTES)


def organisation_id(session: Session, name: str, now: int) -> int:
    """Return the id of the organisation called ``name``, adding it if it is new.

    Safe against a concurrent first use of the same name (insert, or do nothing on conflict).
    Raises ``ValueError`` for a blank name.
    """
    name = name.strip()
    if not name:
        raise ValueError("the organisation name is empty")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(Organisation).values(name=name, created_at=now)
                    .on_conflict_do_nothing(index_elements=[Organisation.name]))
    return session.scalars(select(Organisation.id).where(Organisation.name == name)).one()


def enrol(session: Session, keys: DataKeys, name: str, id_number: str, phone: str,
          organisation: int, now: int, region: str = DEFAULT_REGION) -> str:
    """Add a person with encrypted fields and return the new id (flushed, not committed).
    The phone is kept in E.164 (a number without a country code read in ``region``).

    Raises :class:`.phones.PhoneError` for a phone number that cannot be valid, and
    ``IntegrityError`` if the normalised id number is already enrolled.
    """
    person_id = new_person_id()
    e164 = normalise(phone, region)
    values = {"name": name.strip(), "id_number": id_number.strip(), "phone": e164}
    own, wrapped = keys.new_person_key(person_id)
    encrypted = {f"{field}_enc": own.encrypt(COLUMNS[field], person_id, value)
                 for field, value in values.items()}
    session.add(Person(id=person_id, organisation_id=organisation, created_at=now,
                       id_number_mac=keys.id_number_mac(id_number), data_key=wrapped,
                       phone_mac=keys.phone_form_mac(e164), **encrypted))
    session.flush()
    return person_id


def key_of(keys: DataKeys, person: Any) -> PersonKey:
    """The person's own key (``person``: a row with ``id``, ``data_key`` and ``erased_at``);
    raises :class:`Erased`."""
    if person.erased_at is not None:
        raise Erased(person.id, person.erased_at)
    return keys.person_key(person.id, person.data_key)


#: How many people :func:`give_keys` re-encrypts per transaction.
KEY_BATCH = 1000


def give_keys(session: Session, keys: DataKeys, limit: int = KEY_BATCH) -> int:
    """Give up to ``limit`` people enrolled before per-person keys (migration 0012) a key of
    their own, their fields re-encrypted under it (read by the partial index of such people);
    return how many. Their appeals' words and photos stay under the data key (version 1
    ciphertexts), readable as before; erasing them deletes those rows."""
    people = session.scalars(select(Person).where(
        Person.data_key.is_(None), Person.erased_at.is_(None))
        .order_by(Person.id).limit(limit).with_for_update()).all()
    for person in people:
        own, person.data_key = keys.new_person_key(person.id)
        for field, column in COLUMNS.items():
            plain = keys.decrypt(column, person.id, getattr(person, f"{field}_enc"))
            setattr(person, f"{field}_enc", own.encrypt(column, person.id, plain))
    session.flush()
    return len(people)


def backfill_phone_macs(session: Session, keys: DataKeys, region: str = DEFAULT_REGION,
                        now: int = 0) -> tuple[int, int]:
    """Give every person without a phone lookup key one, made from their stored number in
    its lookup form (:func:`.phones.stored_form`): people enrolled before sign-in by phone
    existed, and, after migration 0006, everyone enrolled before numbers were looked up in
    E.164. Returns ``(how many were updated, how many of their numbers are not valid)``.

    Sign-in codes asked for under a person's old digits-only key move to the new key, marked
    used (at ``now``): they still count against the number's hourly quota, and none of them
    could be checked any more (a code's hash is keyed by the lookup key it was made under).
    """
    people = session.scalars(select(Person).where(Person.phone_mac.is_(None),
                                                  Person.erased_at.is_(None))).all()
    not_valid = 0
    for person in people:
        phone = key_of(keys, person).decrypt(COLUMNS["phone"], person.id, person.phone_enc)
        form, valid = stored_form(phone, region)
        not_valid += not valid
        person.phone_mac = keys.phone_form_mac(form)
        try:
            old = keys.phone_form_mac(legacy_form(phone))
        except ValueError:
            continue
        if old != person.phone_mac:
            session.execute(update(OneTimeCode).where(OneTimeCode.phone_mac == old).values(
                phone_mac=person.phone_mac, used_at=func.coalesce(OneTimeCode.used_at, now)))
    session.flush()
    return len(people), not_valid


def person_fields(session: Session, keys: DataKeys, person: Person) -> dict[str, Any]:
    """Return the decrypted fields of ``person`` (raises ``DecryptionError``)."""
    own = key_of(keys, person)
    organisation = session.get(Organisation, person.organisation_id)
    decrypted = {field: own.decrypt(column, person.id, getattr(person, f"{field}_enc"))
                 for field, column in COLUMNS.items()}
    return {"id": person.id, **decrypted, "organisation": organisation.name,
            "created_at": person.created_at}


def search_results(session: Session, keys: DataKeys, people: Sequence[Person]
                   ) -> list[dict[str, Any]]:
    """What staff see of people found by an exact lookup, oldest enrolment first: id, the
    name masked and the id number's tail as a printed card shows them (``name``,
    ``id_tail``), organisation, ``enrolled_at``, and ``phone_bound`` (a phone holds a key)."""
    ids = [person.id for person in people]
    bound = set(session.scalars(select(Device.person_id).where(
        Device.person_id.in_(ids), Device.revoked_at.is_(None))))
    organisations = dict(session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({person.organisation_id for person in people}))).all())
    found = []
    for person in sorted(people, key=lambda p: (p.created_at, p.id)):
        own = key_of(keys, person)
        name = own.decrypt(COLUMNS["name"], person.id, person.name_enc)
        id_number = own.decrypt(COLUMNS["id_number"], person.id, person.id_number_enc)
        try:
            check = IdCheck.of(name, id_number)
        except ValueError:  # nothing to show of one of them: show nothing of either
            check = IdCheck("*", "")
        found.append({"id": person.id, "name": check.name, "id_tail": check.id_tail,
                      "organisation": organisations[person.organisation_id],
                      "enrolled_at": person.created_at, "phone_bound": person.id in bound})
    return found
