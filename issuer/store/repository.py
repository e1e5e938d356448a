"""The issuer's repository: the only way the service and the CLI touch the database.

Every write runs in one transaction together with its audit entry: either both are stored or
neither is (:mod:`.base`). Personal fields are encrypted before they reach the database and
decrypted only in :meth:`Store.get_person`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.labels import Colour

from ..keys.home import Home
from . import audit, credentials, holders
from .base import clock
from .db import (
    AuditEntry,
    Conflict,
    CredentialRecord,
    Observation,
    Person,
    database_url,
    make_engine,
)
from .holder_store import HolderStore
from .migrations import upgrade
from .people import backfill_phone_macs, enrol, organisation_id, person_fields
from .pii import DataKeyError, DataKeys, load_data_keys
from .ranking import organisation_ranking
from .token_store import TokenStore

#: ``(observations before, after) -> (action, reason, details)`` or None: see add_observation.
Consequence = Callable[[list[dict[str, Any]], list[dict[str, Any]]],
                       tuple[str, str, dict[str, Any]] | None]


class Store(HolderStore, TokenStore):
    """People, observations, credentials and the audit log of one issuer (holders' phones
    and sign-in: :class:`HolderStore`; API tokens: :class:`TokenStore`)."""

    @classmethod
    def open(cls, home: Home | str | Path | None = None, url: str | None = None, *,
             data_keys: DataKeys | None = None) -> Store:
        """Open (and migrate to the newest schema) the database of ``home``.

        ``url`` defaults to ``$HEALTHCODE_DATABASE_URL``, else ``sqlite:///HOME/issuer.db``.
        The data keys are loaded from, or on first use created in, ``HOME/keys``; raises
        :class:`DataKeyError` if they are missing while the database already holds people
        (new keys would silently make everyone unreadable and duplicates undetectable).
        """
        home = home if isinstance(home, Home) else Home.resolve(home)
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
            with Session(engine) as session, session.begin():
                backfill_phone_macs(session, data_keys)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, data_keys)

    # People ---------------------------------------------------------------------------------

    def create_person(self, name: str, id_number: str, phone: str, organisation: str, *,
                      actor: str, reason: str = "enrolment", now: int | None = None) -> str:
        """Enrol a person and return their new pseudonymous id (``p-`` + 12 characters).

        Raises :class:`Conflict` (``field="id_number"``) if someone with the same normalised
        id number exists; nothing is written then, not even an audit entry. ``ValueError``
        for a blank id number or organisation.
        """
        now = clock(now)
        with self.writing() as session:
            if self._find(session, id_number) is not None:
                raise Conflict("a person with this id number is already enrolled", "id_number")
            org_id = organisation_id(session, organisation, now)
            try:
                person_id = enrol(session, self.data_keys, name, id_number, phone, org_id, now)
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
        """Return every person's id (for batch jobs such as re-issuing)."""
        with self.reading() as session:
            return list(session.scalars(select(Person.id).order_by(Person.created_at, Person.id)))

    # Observations ---------------------------------------------------------------------------

    def add_observation(self, person_id: str, kind: str, value: Any, observed_at: int,
                        source: str, *, actor: str, reason: str = "observation recorded",
                        now: int | None = None, consequence: Consequence | None = None
                        ) -> dict[str, Any]:
        """Record an observation (``kind`` a string or a string enum, ``value`` JSON-able)
        and return it as :meth:`observations` does. Raises :class:`NotFound`.

        ``consequence(before, after)`` is called with the person's observations before and
        after this one, inside the same transaction; when it returns ``(action, reason,
        details)`` (e.g. a colour change) that entry is appended to the audit log too, so the
        observation and what it caused are stored together or not at all.
        """
        now = clock(now)
        kind = str(getattr(kind, "value", kind))
        with self.writing() as session:
            self.person_row(session, person_id)
            before = _observations(session, person_id) if consequence else []
            row = Observation(person_id=person_id, kind=kind, observed_at=observed_at,
                              value_json=json.dumps(value, sort_keys=True, allow_nan=False),
                              source=source, recorded_at=now, recorded_by=actor)
            session.add(row)
            session.flush()
            # The audit log says what kind of observation came from where, never its value.
            audit.append(session, actor, "observation.add", reason, person_id,
                         {"observation": row.id, "kind": kind, "source": source}, now)
            if consequence is not None:
                after = sorted([*before, _observation(row)],
                               key=lambda o: (o["observed_at"], o["id"]))
                entry = consequence(before, after)
                if entry is not None:
                    audit.append(session, actor, entry[0], entry[1], person_id, entry[2], now)
            return _observation(row)

    def observations(self, person_id: str) -> list[dict[str, Any]]:
        """Return the person's observations, oldest first: dicts with id, kind, value,
        observed_at, source, recorded_at, recorded_by. Raises :class:`NotFound`."""
        with self.reading() as session:
            self.person_row(session, person_id)
            return _observations(session, person_id)

    def observations_of(self, session: Session, person_ids: Sequence[str]
                        ) -> dict[str, list[dict[str, Any]]]:
        """In ``session``, return the observations of several people at once (for batches),
        each list oldest first, as :meth:`observations` gives them."""
        found: dict[str, list[dict[str, Any]]] = {pid: [] for pid in person_ids}
        columns = Observation.__table__.c
        rows = session.execute(select(columns).where(columns.person_id.in_(person_ids))
                               .order_by(columns.observed_at, columns.id))
        for row in rows:
            found[row.person_id].append(_observation(row))
        return found

    # Credentials ----------------------------------------------------------------------------

    def record_credential(self, person_id: str, *, cti: bytes | str, text: str,
                          colour: Colour | str, score: int, policy_id: str,
                          policy_digest: bytes | str, iat: int, exp: int, actor: str,
                          reason: str = "credential issued", run_id: int | None = None,
                          now: int | None = None, device_id: str | None = None,
                          purpose: str | None = None) -> dict[str, Any]:
        """Store an issued credential (``cti``, ``policy_digest``: bytes or hex) and return it
        as :meth:`credential` does. Raises :class:`NotFound` (person or run),
        :class:`Conflict` (``field="run_id"``: the run already issued this person one;
        ``"cti"``: a reused cti), ``ValueError`` (unknown colour, score outside 0–100, ``exp``
        not after ``iat``, a cti or digest that is not hex).

        ``device_id``: the phone a live credential is bound to; its older live credentials are
        revoked in the same transaction (``superseded``), so a phone cannot keep showing a
        greener code it was once given. ``purpose``: ``live`` or ``card``.
        """
        now = clock(now)
        with self.writing() as session:
            row = credentials.record(
                session, person_id=person_id, cti=cti, text=text, colour=colour, score=score,
                policy_id=policy_id, policy_digest=policy_digest, iat=iat, exp=exp,
                issued_by=actor, run_id=run_id)
            row.device_id, row.purpose = device_id, purpose
            superseded = holders.revoke_device_credentials(
                session, device_id, now, "superseded by a newer live code", keep=row.cti) \
                if device_id is not None else []
            # What was issued under which rules, never the person's colour or score.
            details = {"cti": row.cti, "policy_id": policy_id, "exp": exp, "run": run_id}
            if purpose is not None:
                details.update(purpose=purpose, device=device_id, superseded=superseded)
            audit.append(session, actor, "credential.issue", reason, person_id, details, now)
            return credentials.as_dict(row)

    def credential(self, cti: bytes | str) -> dict[str, Any]:
        """Return a credential: cti, person_id, colour, score, policy_id, policy_digest, iat,
        exp, text, issued_by, run_id. Raises :class:`NotFound`."""
        with self.reading() as session:
            return credentials.as_dict(credentials.get(session, cti))

    def credentials(self, person_id: str) -> list[dict[str, Any]]:
        """Return the person's credentials, newest first."""
        with self.reading() as session:
            return [credentials.as_dict(r) for r in credentials.for_person(session, person_id)]

    def revoke(self, cti: bytes | str, *, actor: str, reason: str, now: int | None = None
               ) -> dict[str, Any]:
        """Revoke one credential (audited); return it. Revoking it again changes nothing.
        Raises :class:`NotFound`, ``ValueError`` for a cti that is not hex."""
        now = clock(now)
        with self.writing() as session:
            row = credentials.get(session, cti)
            if credentials.revoke(session, row, actor, reason, now):
                audit.append(session, actor, "credential.revoke", reason, row.person_id,
                             {"cti": row.cti, "exp": row.exp}, now)
            return credentials.as_dict(row)

    def revoke_person(self, person_id: str, *, actor: str, reason: str,
                      now: int | None = None) -> list[str]:
        """Revoke every unexpired credential of a person in one transaction (one audit entry);
        return the ctis newly revoked. Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            self.person_row(session, person_id)
            revoked = [row.cti for row in credentials.unexpired_of(session, person_id, now)
                       if credentials.revoke(session, row, actor, reason, now)]
            audit.append(session, actor, "credential.revoke_all", reason, person_id,
                         {"ctis": revoked}, now)
            return revoked

    def revoked_unexpired(self, now: int | None = None) -> list[str]:
        """The ctis (hex) of revoked, unexpired credentials."""
        with self.reading() as session:
            return credentials.revoked_unexpired(session, clock(now))

    def revocation_stamp(self) -> tuple[int, int]:
        """``(revoked credentials, latest revocation time)``: changes whenever one is revoked."""
        with self.reading() as session:
            count, latest = session.execute(
                select(func.count(), func.max(CredentialRecord.revoked_at))
                .where(CredentialRecord.revoked_at.is_not(None))).one()
            return int(count), int(latest or 0)

    def start_reissue_run(self, *, actor: str, reason: str, now: int | None = None) -> int:
        """Open a re-issue run and return its id (pass it to :meth:`record_credential`)."""
        now = clock(now)
        with self.writing() as session:
            run = credentials.start_run(session, actor, now)
            audit.append(session, actor, "reissue.start", reason, None, {"run": run.id}, now)
            return run.id

    def finish_reissue_run(self, run_id: int, status: str = "done", *, actor: str,
                           now: int | None = None) -> None:
        """Close a run as ``done`` or ``failed``. Raises :class:`NotFound`, ``ValueError``."""
        now = clock(now)
        with self.writing() as session:
            credentials.finish_run(session, run_id, status, now)
            audit.append(session, actor, "reissue.finish", status, None, {"run": run_id}, now)

    def ranking(self, k: int) -> list[dict[str, Any]]:
        """Return organisations with at least ``k`` scored members, best mean first (see
        :func:`issuer.store.ranking.organisation_ranking`). Raises ``ValueError`` if k < 1."""
        with self.reading() as session:
            return organisation_ranking(session, k)

    # Audit ----------------------------------------------------------------------------------

    def audit_entries(self, person_id: str) -> list[dict[str, Any]]:
        """Return the audit entries about a person, oldest first: seq, at, actor, action,
        reason, details."""
        with self.reading() as session:
            return [_entry(e) for e in audit.entries_for(session, person_id)]

    def verify_audit(self) -> tuple[int, audit.ChainBreak | None]:
        """Return ``(number of entries, first break or None)``."""
        with self.reading() as session:
            return audit.count(session), audit.verify_chain(session)


def _observations(session: Session, person_id: str) -> list[dict[str, Any]]:
    # Plain rows, not ORM objects: a person's week of observations loads several times faster.
    columns = Observation.__table__.c
    rows = session.execute(select(columns).where(columns.person_id == person_id)
                           .order_by(columns.observed_at, columns.id))
    return [_observation(row) for row in rows]


def _observation(row: Any) -> dict[str, Any]:
    """An observation (an ORM object or a row of its columns) as a dict."""
    return {"id": row.id, "kind": row.kind, "value": json.loads(row.value_json),
            "observed_at": row.observed_at, "source": row.source,
            "recorded_at": row.recorded_at, "recorded_by": row.recorded_by}


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "reason": entry.reason, "details": json.loads(entry.details_json)}
