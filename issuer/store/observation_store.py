"""Observations: recorded, read for scoring, and voided (corrected without being deleted).

A voided observation stays in the table and in the person's data, struck through, with who
voided it, when and why; it no longer counts toward the code. Recording and voiding each
re-score the person in the same transaction (the caller's ``consequence``): a colour change is
logged with its cause, and credentials that now show more than the truth are revoked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.labels import Colour

from . import audit
from .audit_tables import row_mac
from .base import StoreBase, clock, required_reason
from .credential_store import CredentialStore
from .db import NotFound, Observation, Person


@dataclass(frozen=True)
class Rescored:
    """What recording or voiding an observation did to the person's assessment."""

    colour: Colour
    score: int
    #: An audit entry ``(action, reason, details)`` for what changed (a colour change), or None.
    entry: tuple[str, str, dict[str, Any]] | None = None


#: ``(observations before, after) -> Rescored | None``: see add_observation.
Consequence = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Rescored | None]


class ObservationStore(StoreBase):
    """The repository's observation operations (:class:`issuer.store.Store` inherits them)."""

    def add_observation(self, person_id: str, kind: str, value: Any, observed_at: int,
                        source: str, *, actor: str, reason: str = "observation recorded",
                        now: int | None = None, consequence: Consequence | None = None,
                        since: int | None = None) -> dict[str, Any]:
        """Record an observation (``kind`` a string or a string enum, ``value`` JSON-able)
        and return it as :meth:`observations` does. Raises :class:`NotFound`.

        ``consequence(before, after)`` is called with the person's counted observations before
        and after this one (``since``: only those observed after it), inside the same
        transaction, and returns the new colour and score (:class:`Rescored`) or None. Its
        audit entry (e.g. a colour change) is appended too, and every unexpired credential of
        the person that shows a better colour or a higher score is revoked (reason
        ``superseded``, one audit entry): the observation and what it caused are stored
        together or not at all.
        """
        now = clock(now)
        kind = str(getattr(kind, "value", kind))
        with self.writing() as session:
            person = self.person_row(session, person_id)
            before = counted(session, person_id, since) if consequence else []
            row = Observation(person_id=person_id, kind=kind, observed_at=observed_at,
                              value_json=json.dumps(value, sort_keys=True, allow_nan=False),
                              source=source, recorded_at=now, recorded_by=actor)
            session.add(row)
            session.flush()
            # The audit log says what kind of observation came from where and when, never its
            # value: that only as a keyed MAC of the row, which shows any later change to it.
            audit.append(session, actor, "observation.add", reason, person_id,
                         {"observation": row.id, "kind": kind, "source": source,
                          "observed_at": observed_at,
                          "mac": row_mac(self.data_keys, "observation", _columns(row))}, now)
            if consequence is not None:
                after = sorted([*before, as_dict(row)], key=lambda o: (o["observed_at"], o["id"]))
                _rescore(session, person, consequence(before, after), actor, now, row.id)
            return as_dict(row)

    def void_observation(self, person_id: str, observation_id: int, *, actor: str,
                         reason: str, now: int | None = None,
                         consequence: Consequence | None = None, since: int | None = None,
                         allowed: Callable[[dict[str, Any]], None] | None = None
                         ) -> dict[str, Any]:
        """Void the person's observation ``observation_id``: it is kept, and shown, but no
        longer counts. Returns it as :meth:`observations` does (voiding it again changes
        nothing). ``allowed(observation)`` is called with the person's row locked and may
        raise to refuse (a holder past the undo window); ``consequence`` and ``since`` as for
        :meth:`add_observation`. One ``observation.void`` audit entry records who, when and
        why. Raises :class:`NotFound` (no such observation of this person), ``ValueError``
        for an empty reason."""
        reason = required_reason(reason, "a void")
        now = clock(now)
        with self.writing() as session:
            person = self.person_row(session, person_id, lock=True)
            row = observation_of(session, person_id, observation_id)
            if allowed is not None:
                allowed(as_dict(row))
            void_row(session, person, row, actor=actor, reason=reason, now=now,
                     consequence=consequence, since=since)
            return as_dict(row)

    def observations(self, person_id: str, since: int | None = None, *,
                     voided: bool = False) -> list[dict[str, Any]]:
        """Return the person's observations (those after ``since``), oldest first: dicts with
        id, kind, value, observed_at, source, recorded_at, recorded_by, voided_at, voided_by,
        void_reason. Only those that count, unless ``voided``. Raises :class:`NotFound`."""
        with self.reading() as session:
            self.person_row(session, person_id)
            return counted(session, person_id, since, voided=voided)

    def observation(self, person_id: str, observation_id: int) -> dict[str, Any]:
        """The person's observation ``observation_id`` (voided or not), as
        :meth:`observations` gives it. Raises :class:`NotFound`."""
        with self.reading() as session:
            return as_dict(observation_of(session, person_id, observation_id))

    def observations_of(self, session: Session, person_ids: Sequence[str],
                        since: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """In ``session``, return the counted observations of several people at once (for
        batches), each list oldest first, as :meth:`observations` gives them."""
        found: dict[str, list[dict[str, Any]]] = {pid: [] for pid in person_ids}
        columns = Observation.__table__.c
        rows = session.execute(_counting(after(
            select(columns).where(columns.person_id.in_(person_ids)), since))
            .order_by(columns.observed_at, columns.id))
        for row in rows:
            found[row.person_id].append(as_dict(row))
        return found

    def observation_rows_of(self, session: Session, person_ids: Sequence[str],
                            since: int | None = None) -> dict[str, list[tuple[str, Any, int]]]:
        """In ``session``, the counted observations of several people at once as the policy
        scores them (``Policy.score_fast``): ``(kind, value, observed_at)`` tuples, each list
        oldest first, only the columns scoring reads, nothing checked again (the rows were
        checked when recorded). ``kind`` is the kind's string (a ``Kind`` is a ``StrEnum``:
        equal to it, hashed alike; the store does not import the policy)."""
        found: dict[str, list[tuple[str, Any, int]]] = {pid: [] for pid in person_ids}
        columns = Observation.__table__.c
        # In the (person_id, observed_at) index's order: SQLite reads it without sorting.
        rows = session.execute(_counting(after(
            select(columns.person_id, columns.kind, columns.value_json, columns.observed_at)
            .where(columns.person_id.in_(person_ids)), since))
            .order_by(columns.person_id, columns.observed_at, columns.id)).all()
        for person_id, kind, value_json, observed_at in rows:
            found[person_id].append((kind, json_value(value_json), observed_at))
        return found


def void_row(session: Session, person: Person, row: Observation, *, actor: str, reason: str,
             now: int, consequence: Consequence | None, since: int | None) -> None:
    """In ``session``, void ``row`` (an observation of ``person``, whose row the caller has
    locked), log it and re-score; nothing if it is voided already."""
    if row.voided_at is not None:
        return
    before = counted(session, person.id, since) if consequence else []
    row.voided_at, row.voided_by, row.void_reason = now, actor, reason
    session.flush()
    audit.append(session, actor, "observation.void", reason, person.id,
                 {"observation": row.id, "kind": row.kind, "observed_at": row.observed_at}, now)
    if consequence is not None:
        after = [o for o in before if o["id"] != row.id]
        _rescore(session, person, consequence(before, after), actor, now, row.id)


def observation_of(session: Session, person_id: str, observation_id: int) -> Observation:
    """The person's observation ``observation_id`` in ``session``; raises :class:`NotFound`
    (ids are 64-bit: a larger one, from a URL, is no observation, not an overflow)."""
    row = session.get(Observation, observation_id) if 0 < observation_id < 1 << 63 else None
    if row is None or row.person_id != person_id:
        raise NotFound(f"no observation {observation_id} of {person_id}")
    return row


def _rescore(session: Session, person: Person, rescored: Rescored | None, actor: str,
             now: int, observation: int) -> None:
    """Store what re-scoring after ``observation`` changed: the colour-change entry (and the
    colour as last recorded), and the revocation of credentials that show more."""
    if rescored is None:
        return
    if rescored.entry is not None:
        action, why, details = rescored.entry
        audit.append(session, actor, action, why, person.id, details, now)
        person.colour = str(getattr(rescored.colour, "value", rescored.colour))
    CredentialStore.supersede(session, person.id, rescored.colour, rescored.score,
                              actor=actor, now=now, observation=observation)


def counted(session: Session, person_id: str, since: int | None = None, *,
            voided: bool = False) -> list[dict[str, Any]]:
    """The person's observations after ``since``, oldest first, as dicts: those that count,
    or (``voided``) the voided ones too."""
    # Plain rows, not ORM objects: a person's week of observations loads several times faster.
    columns = Observation.__table__.c
    query = after(select(columns).where(columns.person_id == person_id), since)
    rows = session.execute((query if voided else _counting(query))
                           .order_by(columns.observed_at, columns.id))
    return [as_dict(row) for row in rows]


def _counting(query: Any) -> Any:
    return query.where(Observation.__table__.c.voided_at.is_(None))


def _columns(row: Any) -> dict[str, Any]:
    """An ORM row's columns by name."""
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


def after(query: Any, since: int | None) -> Any:  # the (person_id, observed_at) index serves it
    """``query`` limited to observations after ``since`` (None: all)."""
    return query if since is None else query.where(Observation.__table__.c.observed_at > since)


def json_value(text: str) -> Any:
    """``json.loads(text)`` for what an observation's value holds, several times faster for
    what it mostly holds: a whole number, a plain decimal, a plain string, true or false as
    ``json.dumps`` writes them (anything else, and anything not exactly in that form, goes to
    ``json.loads``)."""
    if text.isascii():
        whole, dot, decimals = text.partition(".")
        if whole.isdigit() and (whole[0] != "0" or len(whole) == 1):  # no leading zeros
            if not dot:
                return int(text)
            if decimals.isdigit():
                return float(text)
        elif text.startswith('"') and text.endswith('"') and len(text) > 1 \
                and text.isprintable() and "\\" not in text and '"' not in text[1:-1]:
            return text[1:-1]
        elif text == "true" or text == "false":
            return text == "true"
    return json.loads(text)


def as_dict(row: Any) -> dict[str, Any]:
    """An observation (an ORM object or a row of its columns) as a dict."""
    return {"id": row.id, "kind": row.kind, "value": json_value(row.value_json),
            "observed_at": row.observed_at, "source": row.source,
            "recorded_at": row.recorded_at, "recorded_by": row.recorded_by,
            "voided_at": row.voided_at, "voided_by": row.voided_by,
            "void_reason": row.void_reason}
