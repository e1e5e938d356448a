"""What the holder's pages say: an assessment in plain words, what each declarable input does
under the published policy, the declaration form parsed, the holder's problems in words, and
the web app manifest. Functions of their arguments (no database); the words are in the
reader's language (Flask-Babel's ``gettext``), so call them while answering a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from verifier import i18n
from verifier.keys import b64url
from verifier.webui import locale

from ..policy.observations import (
    MAX_ALCOHOL_ML,
    MAX_CIGARETTES,
    MAX_REGION_LENGTH,
    MAX_SLEEP_HOURS,
    MAX_STEPS,
    Kind,
    ObservationError,
    validate_observation,
)
from ..policy.scoring import Assessment, ContributionKind, Method, Policy, signed_points
from ..store import FamilyProblem, HolderProblem

#: What a holder may declare themselves; test results come from laboratories and authorities.
DECLARABLE = (Kind.SYMPTOMS, Kind.CONTACT, Kind.TRAVEL, Kind.STEPS, Kind.SLEEP_HOURS,
              Kind.ALCOHOL_ML, Kind.CIGARETTES)
_LABELS = {
    Kind.SYMPTOMS: (_l("I have symptoms (fever, cough, loss of smell or taste)"), "checkbox"),
    Kind.CONTACT: (_l("I was in close contact with a confirmed case"), "checkbox"),
    Kind.TRAVEL: (_l("Region I travelled to (code, e.g. HUBEI-WUHAN)"), "text"),
    Kind.STEPS: (_l("Steps yesterday"), "number"),
    Kind.SLEEP_HOURS: (_l("Hours of sleep last night"), "number"),
    Kind.ALCOHOL_ML: (_l("Alcohol yesterday, in ml"), "number"),
    Kind.CIGARETTES: (_l("Cigarettes yesterday"), "number"),
}
_LIMITS = {Kind.STEPS: (MAX_STEPS, "1"), Kind.SLEEP_HOURS: (MAX_SLEEP_HOURS, "0.5"),
           Kind.ALCOHOL_ML: (MAX_ALCOHOL_ML, "any"), Kind.CIGARETTES: (MAX_CIGARETTES, "1")}
#: An amount of each kind, ``%(n)s`` the number.
_UNITS = {Kind.STEPS: _l("%(n)s steps"), Kind.SLEEP_HOURS: _l("%(n)s hours"),
          Kind.ALCOHOL_ML: _l("%(n)s ml"), Kind.CIGARETTES: _l("%(n)s cigarettes")}
_WHOLE = (Kind.STEPS, Kind.CIGARETTES)
MAX_FIELD_LENGTH = 64
#: A code's colour in a sentence ("your code becomes yellow"; 黄码).
COLOURS = {"green": _l("green"), "yellow": _l("yellow"), "red": _l("red")}
#: A holder's problem (issuer.store's HolderProblem, or the web's own) in words; the store's
#: messages are for logs and the API.
PROBLEMS: dict[str, Any] = {
    HolderProblem.UNKNOWN_LINK: _l("This enrolment link is not known. Check that it was "
                                   "copied in full, or sign in with your phone number."),
    HolderProblem.USED_LINK: _l("This enrolment link was already used. Sign in with your "
                                "phone number instead."),
    HolderProblem.EXPIRED_LINK: _l("This enrolment link has expired. Ask the health office "
                                   "for a new letter, or sign in with your phone number."),
    HolderProblem.BAD_DEVICE_KEY: _l("This phone's key could not be used. Try again, or try "
                                     "another browser."),
    HolderProblem.WRONG_CODE: _l("That code is wrong or has expired. Ask for a new one."),
    HolderProblem.TOO_MANY_CODES: _l("Too many codes were asked for this number. Try again "
                                     "in an hour."),
    HolderProblem.SHARED_PHONE: _l("Several people are enrolled with this number. Use the "
                                   "enrolment letter each of you received."),
    HolderProblem.SIGNED_OUT: _l("You are signed out. Sign in again."),
    "bad_request": _l("This page sent something unexpected. Reload the page and try again."),
    "no_device": _l("This phone has no key yet."),
    FamilyProblem.SELF_LINK: _l("This is your own letter: you cannot add yourself as a "
                                "family member."),
    FamilyProblem.ALREADY_LINKED: _l("This family member's code is already on this phone."),
    FamilyProblem.TOO_MANY_DEPENDANTS: _l("This phone already shows as many family members' "
                                          "codes as it may. Remove one first."),
    FamilyProblem.TOO_MANY_GUARDIANS: _l("This person's code is already on as many phones as "
                                         "it may be. Ask the health office."),
    "not_family": _l("This family member's code is not on this phone (any more)."),
}


def problem_message(problem: str) -> str:
    """What a holder reads about ``problem``, in their language."""
    return str(PROBLEMS.get(problem, _l("Something went wrong. Please try again.")))


def colour_name(colour: str) -> str:
    """A colour as a sentence names it, in the reader's language (unknown ones as given)."""
    return str(COLOURS.get(str(colour), colour))


def manifest() -> dict[str, Any]:
    """The web app manifest, its name and description in the reader's language."""
    return {
        "name": _("My health code"), "short_name": _("Health code"), "start_url": "/me",
        "scope": "/me", "display": "standalone", "background_color": "#ffffff",
        "theme_color": "#1d3557", "lang": i18n.tag(locale()),
        "description": _("Your health code, also when you are offline"),
        "icons": [{"src": "/static/holder/icon-192.png", "sizes": "192x192",
                   "type": "image/png"},
                  {"src": "/static/holder/icon-512.png", "sizes": "512x512",
                   "type": "image/png"}],
    }


def credential_view(record: Mapping[str, Any], issuer_name: str, now: int,
                    device_key: bytes, guidance: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The live credential as the code page's script reads it. ``device_x`` (base64url x of
    the bound phone key) lets the page notice that its own key is not the one on record.
    ``guidance`` (:func:`issuer.policy.advice`, in the reader's language): what to do and
    when the colour changes, kept with the credential so the page shows it offline."""
    return {"text": record["text"], "colour": record["colour"], "score": record["score"],
            "issued_at": record["issued_at"], "expires_at": record["expires_at"],
            "issuer": issuer_name, "server_time": now, "device_x": b64url(device_key[1:]),
            "guidance": dict(guidance) if guidance is not None else None}


def explanation(assessment: Assessment, locale: str = "en") -> dict[str, Any]:
    """The assessment's lines in the order they weighed: the hard rules that set the colour
    first, then the base score and each factor by the size of its points, then rounding and
    caps. Each line's points, added up, give the score. Sentences in ``locale`` (a Babel
    locale), their numbers rounded for people; the points exact."""
    rules = [c for c in assessment.contributions if c.kind is ContributionKind.RULE]
    rest = [c for c in assessment.contributions if c.kind is not ContributionKind.RULE]
    lines = [{"text": c.sentence(locale), "points": None, "kind": c.kind.value} for c in rules]
    lines += [{"text": c.sentence(locale), "points": signed_points(c.points),
               "value": str(c.points), "kind": c.kind.value} for c in rest]
    return {"colour": assessment.colour.value, "score": assessment.score, "lines": lines,
            "colour_name": colour_name(assessment.colour.value),
            "policy_id": assessment.policy_id, "colour_rule": bool(rules)}


def _number_text(value: Any, places: int = 2) -> str:
    return i18n.format_decimal(float(value), locale(), places)


def _amount(kind: Kind, value: Any) -> str:
    return _UNITS[kind] % {"n": _number_text(value)}


def _rule_effect(policy: Policy, kind: Kind) -> str:
    parts = []
    for rule in policy.rules:
        if rule.kind is not kind:
            continue
        colour, days = colour_name(rule.colour.value), rule.window_days
        if rule.cap is None:
            part = _("Makes your code at least %(colour)s for %(days)s days.",
                     colour=colour, days=days)
        else:
            part = _("Makes your code at least %(colour)s for %(days)s days and caps your "
                     "score at %(cap)s.", colour=colour, days=days, cap=rule.cap)
        if kind is Kind.TRAVEL:
            part += " " + _("High-risk regions: %(regions)s; other regions change nothing.",
                            regions=", ".join(map(str, rule.matches)))
        parts.append(part)
    return " ".join(parts) or _("Does not change your code under this policy.")


def _factor_effect(policy: Policy, kind: Kind) -> str:
    for factor in policy.factors:
        if factor.kind is not kind:
            continue
        points, days = signed_points(factor.points), factor.window_days
        if factor.method is Method.THRESHOLD:
            return _("Counts the average of your last %(days)s days: %(amount)s or more "
                     "gives %(points)s points; less gives nothing.", days=days,
                     amount=_amount(kind, factor.at_least), points=points)
        return _("Counts the average of your last %(days)s days: %(points)s points for "
                 "every %(amount)s a day, in proportion.", days=days, points=points,
                 amount=_amount(kind, factor.per))
    return _("Does not change your score under this policy.")


def declaration_inputs(policy: Policy) -> list[dict[str, Any]]:
    """The declaration form's fields, each with exactly what it does under ``policy``."""
    fields = []
    for kind in DECLARABLE:
        label, widget = _LABELS[kind]
        lifestyle = kind in _LIMITS
        field = {"name": kind.value, "label": str(label), "widget": widget,
                 "optional": lifestyle,
                 "effect": _factor_effect(policy, kind) if lifestyle
                 else _rule_effect(policy, kind)}
        if lifestyle:
            field["max"], field["step"] = _LIMITS[kind]
        fields.append(field)
    return fields


def declaration_page(policy: Policy, current: Assessment) -> dict[str, Any]:
    """What the declaration page shows: the fields, and the code as it is now."""
    return {"inputs": declaration_inputs(policy), "colour": current.colour.value,
            "colour_name": colour_name(current.colour.value), "score": current.score}


def _refused(kind: Kind) -> ObservationError:
    """The error for a value of ``kind`` that is not accepted, saying what is."""
    label = str(_LABELS[kind][0])
    if kind in _WHOLE:
        message = _("%(label)s: enter a whole number from 0 to %(max)s.", label=label,
                    max=_number_text(_LIMITS[kind][0]))
    elif kind in _LIMITS:
        message = _("%(label)s: enter a number from 0 to %(max)s.", label=label,
                    max=_number_text(_LIMITS[kind][0]))
    elif kind is Kind.TRAVEL:
        message = _("%(label)s: letters and digits in parts joined by dashes, such as "
                    "HUBEI-WUHAN, at most %(n)s characters.", label=label,
                    n=MAX_REGION_LENGTH)
    else:
        message = _("%(label)s: this answer cannot be used.", label=label)
    return ObservationError(kind.value, message)


def _number(kind: Kind, text: str) -> int | float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise _refused(kind) from None
    return int(value) if value.is_integer() and kind in _WHOLE else value


def parse_declaration(form: Mapping[str, str], policy: Policy) -> list[tuple[str, Any]]:
    """The declared ``(kind, value)`` pairs in the form, checked as observations; empty
    fields are left out. Raises :class:`ObservationError` naming the field (its kind), its
    message in the reader's language."""
    declared: list[tuple[str, Any]] = []
    for kind in DECLARABLE:
        raw = (form.get(kind.value) or "").strip()
        if not raw:
            continue
        if len(raw) > MAX_FIELD_LENGTH:
            raise ObservationError(kind.value, _("%(label)s: at most %(n)s characters.",
                                                 label=str(_LABELS[kind][0]),
                                                 n=MAX_FIELD_LENGTH))
        if _LABELS[kind][1] == "checkbox":
            value: Any = True
        elif kind is Kind.TRAVEL:
            value = raw
        else:
            value = _number(kind, raw)
        try:
            declared.append((kind.value, validate_observation(kind, value)))
        except ObservationError:
            raise _refused(kind) from None
    if not declared:
        raise ObservationError("form", _("Nothing was declared: fill in at least one field."))
    return declared
