"""Printable cards: a static credential on paper, for people without a smartphone.

A card is an ordinary static credential (no ``cnf``: not bound to a phone) with a longer
lifetime, recorded with purpose ``card``. Whoever holds the paper holds the code, so the card
prints the holder's name and the last characters of their id number beside the QR code, and
tells the checkpoint to compare them with an ID document; the QR code itself carries nothing
personal. Kiosks show such codes as "static code: check ID", and the checkpoint's rule
decides whether they are admitted at all (``--accept-static/--reject-static``).
:func:`card_for` is pure; :func:`print_card` signs, records and lays out
(:func:`issuer.render.card.render_card`).
"""

from __future__ import annotations

import time
from datetime import timezone
from typing import Any

from verifier.labels import Colour

from ..keys.keystore import DAY, MAX_CREDENTIAL_TTL
from ..policy.scoring import Assessment, ContributionKind
from ..render.card import Card, render_card
from .issuance import IssuerService

__all__ = ["CARD_PURPOSE", "CARD_TTL", "card_for", "print_card", "reasons"]

#: Default lifetime of a printed card (a phone's live code lives a day).
CARD_TTL = 14 * DAY
#: The ``purpose`` a card's credential is recorded with.
CARD_PURPOSE = "card"
#: How many trailing characters of the id number the card shows.
ID_TAIL = 4


def card_for(record: dict[str, Any], person: dict[str, Any], assessment: Assessment, *,
             issuer: str, utc_offset: timezone) -> Card:
    """Return the card of an issued credential ``record`` (as :meth:`IssuerService.issue`
    returns it) for ``person`` (as :meth:`Store.get_person` returns it). The reasons come from
    ``assessment`` only when it is the one the credential was signed from."""
    colour = Colour(record["colour"])
    same = (assessment.colour, assessment.score) == (colour, record["score"])
    compact = "".join(ch for ch in person["id_number"] if ch.isalnum())
    return Card(text=record["text"], cti=record["cti"], colour=colour, score=record["score"],
                issued_at=record["issued_at"], expires_at=record["expires_at"],
                utc_offset=utc_offset, holder=person["name"], id_tail=compact[-ID_TAIL:],
                issuer=issuer, reasons=reasons(assessment) if same else ())


def reasons(assessment: Assessment, limit: int = 3) -> tuple[str, ...]:
    """The few lines that explain the colour: the hard rules in force (they set it), else the
    base score and the factors that moved the score most."""
    lines = assessment.contributions
    rules = [c.text for c in lines if c.kind is ContributionKind.RULE]
    if rules:
        return tuple(rules[:limit])
    base = [c.text for c in lines if c.kind is ContributionKind.BASE]
    factors = sorted((c for c in lines if c.kind is ContributionKind.FACTOR and c.points),
                     key=lambda c: -abs(c.points))
    return tuple([*base, *(c.text for c in factors)][:limit])


def print_card(service: IssuerService, person_id: str, *, actor: str, ttl: int = CARD_TTL,
               now: int | None = None) -> tuple[dict[str, Any], bytes]:
    """Issue a static credential for ``person_id`` with purpose ``card`` and lifetime ``ttl``
    seconds; return ``(record, pdf)``: the record as :meth:`IssuerService.issue` returns it and
    the card's PDF bytes.

    Raises :class:`issuer.store.NotFound` for an unknown person (before anything is signed) and
    ``ValueError`` for a lifetime outside 1 s .. ``MAX_CREDENTIAL_TTL``.
    """
    if not 0 < ttl <= MAX_CREDENTIAL_TTL:
        raise ValueError(f"a card lives at most {MAX_CREDENTIAL_TTL // DAY} days")
    now = int(time.time()) if now is None else now
    person = service.store.get_person(person_id)
    assessment = service.assess(person_id, now)
    record = service.issue(person_id, actor=actor, ttl=ttl, now=now, purpose=CARD_PURPOSE)
    _, config = service.signer()
    card = card_for(record, person, assessment, issuer=config.name,
                    utc_offset=service.policy.utc_offset)
    return record, render_card(card)
