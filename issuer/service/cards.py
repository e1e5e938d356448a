"""Printable cards: a static credential on paper, for people without a smartphone.

A card is an ordinary static credential (no ``cnf``: not bound to a phone) with a longer
lifetime, recorded with purpose ``card``. Whoever holds the paper holds the code, so the card
prints the holder's name and the last characters of their id number beside the QR code, and
tells the checkpoint to compare them with an ID document; the QR code itself carries nothing
personal. Kiosks show such codes as "static code: check ID", and the checkpoint's rule
decides whether they are admitted at all (``--accept-static/--reject-static``). The card
prints in Chinese and English, and its back panel says what to do, whom to contact and when
the colour changes if nothing new is recorded (:func:`issuer.policy.advice`).
:func:`card_for` is pure; :func:`print_card` signs, records and lays out
(:func:`issuer.render.card.render_card`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from verifier import i18n
from verifier.labels import Colour

from ..keys.keystore import DAY, MAX_CREDENTIAL_TTL, IssuerConfig
from ..policy import advice
from ..policy.scoring import Assessment, ContributionKind
from ..render.card import Card, Guidance, Said, render_card
from .issuance import IssuerService

__all__ = ["CARD_PURPOSE", "CARD_TTL", "card_for", "issuer_name", "print_card", "reasons"]

#: Default lifetime of a printed card (a phone's live code lives a day).
CARD_TTL = 14 * DAY
#: The ``purpose`` a card's credential is recorded with.
CARD_PURPOSE = "card"
#: How many trailing characters of the id number the card shows.
ID_TAIL = 4


def card_for(record: dict[str, Any], person: dict[str, Any], assessment: Assessment, *,
             issuer: str, zone: tzinfo, guidance: Mapping[str, Mapping[str, Any]] | None = None,
             policy: str = "") -> Card:
    """Return the card of an issued credential ``record`` (as :meth:`IssuerService.issue`
    returns it) for ``person`` (as :meth:`Store.get_person` returns it), its times told in
    ``zone``. The reasons, and ``guidance`` (:func:`issuer.policy.advice` by locale,
    ``zh_CN`` and ``en``), are printed only when ``assessment`` is the one the credential was
    signed from."""
    colour = Colour(record["colour"])
    same = (assessment.colour, assessment.score) == (colour, record["score"])
    compact = "".join(ch for ch in person["id_number"] if ch.isalnum())
    return Card(text=record["text"], cti=record["cti"], colour=colour, score=record["score"],
                issued_at=record["issued_at"], expires_at=record["expires_at"],
                zone=zone, holder=person["name"], id_tail=compact[-ID_TAIL:],
                issuer=issuer, reasons=reasons(assessment) if same else (),
                guidance=_panel(guidance) if same and guidance else None, policy=policy)


def _panel(said: Mapping[str, Mapping[str, Any]]) -> Guidance:
    zh, en = said["zh_CN"], said["en"]

    def pair(key: str) -> Said | None:
        return (zh[key], en[key]) if zh.get(key) and en.get(key) else None

    change = (zh["change"]["text"], en["change"]["text"]) if zh.get("change") else None
    return Guidance(change=change, do=pair("do"), contact=pair("contact"))


def reasons(assessment: Assessment, limit: int = 3) -> tuple[Said, ...]:
    """The few lines that explain the colour, each (Chinese, English): the hard rules in
    force (they set it), else the base score and the factors that moved the score most."""
    lines = assessment.contributions
    rules = [c for c in lines if c.kind is ContributionKind.RULE]
    if not rules:
        base = [c for c in lines if c.kind is ContributionKind.BASE]
        factors = sorted((c for c in lines if c.kind is ContributionKind.FACTOR and c.points),
                         key=lambda c: -abs(c.points))
        rules = [*base, *factors]
    return tuple((c.line("zh_CN"), c.line("en")) for c in rules[:limit])


def issuer_name(config: IssuerConfig) -> str:
    """The issuer as a card names it, read in both languages: its Chinese name (when it has
    one), then its name."""
    return " ".join(dict.fromkeys((config.names.get("zh-CN", config.name), config.name)))


def print_card(service: IssuerService, person_id: str, *, actor: str, ttl: int = CARD_TTL,
               now: int | None = None, zone: tzinfo | None = None
               ) -> tuple[dict[str, Any], bytes]:
    """Issue a static credential for ``person_id`` with purpose ``card`` and lifetime ``ttl``
    seconds; return ``(record, pdf)``: the record as :meth:`IssuerService.issue` returns it and
    the card's PDF bytes. Times are told in ``zone`` (the deployment's by default,
    :func:`verifier.i18n.zone`).

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
    zone = zone or i18n.zone()
    seen = service.outlook(person_id, now)
    said = {locale: advice(service.policy, seen, locale, zone) for locale in i18n.LOCALES}
    card = card_for(record, person, assessment, issuer=issuer_name(config), zone=zone,
                    guidance=said,
                    policy=service.policy.id)
    return record, render_card(card)
