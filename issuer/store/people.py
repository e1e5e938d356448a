"""People and organisations in the database: pseudonymous ids, encrypted personal fields."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .db import Organisation, Person
from .pii import DataKeys

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
          organisation: int, now: int) -> str:
    """Add a person with encrypted fields and return the new id (flushed, not committed).

    Raises ``IntegrityError`` if the normalised id number is already enrolled.
    """
    person_id = new_person_id()
    values = {"name": name.strip(), "id_number": id_number.strip(), "phone": phone.strip()}
    encrypted = {f"{field}_enc": keys.encrypt(COLUMNS[field], person_id, value)
                 for field, value in values.items()}
    session.add(Person(id=person_id, organisation_id=organisation, created_at=now,
                       id_number_mac=keys.id_number_mac(id_number),
                       phone_mac=keys.phone_mac(phone), **encrypted))
    session.flush()
    return person_id


def backfill_phone_macs(session: Session, keys: DataKeys) -> int:
    """Give people enrolled before sign-in by phone existed their phone lookup MAC; return
    how many were updated."""
    people = session.scalars(select(Person).where(Person.phone_mac.is_(None))).all()
    for person in people:
        phone = keys.decrypt(COLUMNS["phone"], person.id, person.phone_enc)
        person.phone_mac = keys.phone_mac(phone)
    session.flush()
    return len(people)


def person_fields(session: Session, keys: DataKeys, person: Person) -> dict[str, Any]:
    """Return the decrypted fields of ``person`` (raises ``DecryptionError``)."""
    organisation = session.get(Organisation, person.organisation_id)
    decrypted = {field: keys.decrypt(column, person.id, getattr(person, f"{field}_enc"))
                 for field, column in COLUMNS.items()}
    return {"id": person.id, **decrypted, "organisation": organisation.name,
            "created_at": person.created_at}
