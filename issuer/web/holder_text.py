"""What the holder's pages say: an assessment in plain words, what each declarable input does
under the published policy, the declaration form parsed, and the web app manifest. Pure
functions of their arguments (no request, no database)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from verifier.keys import b64url

from ..policy.observations import (
    MAX_ALCOHOL_ML,
    MAX_CIGARETTES,
    MAX_SLEEP_HOURS,
    MAX_STEPS,
    Kind,
    ObservationError,
    validate_observation,
)
from ..policy.scoring import Assessment, ContributionKind, Method, Policy, signed_points

_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,19}")
#: What a holder may declare themselves; test results come from laboratories and authorities.
DECLARABLE = (Kind.SYMPTOMS, Kind.CONTACT, Kind.TRAVEL, Kind.STEPS, Kind.SLEEP_HOURS,
              Kind.ALCOHOL_ML, Kind.CIGARETTES)
_LABELS = {
    Kind.SYMPTOMS: ("I have symptoms (fever, cough, loss of smell or taste)", "checkbox"),
    Kind.CONTACT: ("I was in close contact with a confirmed case", "checkbox"),
    Kind.TRAVEL: ("Region I travelled to (code, e.g. HUBEI-WUHAN)", "text"),
    Kind.STEPS: ("Steps yesterday", "number"),
    Kind.SLEEP_HOURS: ("Hours of sleep last night", "number"),
    Kind.ALCOHOL_ML: ("Alcohol yesterday, in ml", "number"),
    Kind.CIGARETTES: ("Cigarettes yesterday", "number"),
}
_LIMITS = {Kind.STEPS: (MAX_STEPS, "1"), Kind.SLEEP_HOURS: (MAX_SLEEP_HOURS, "0.5"),
           Kind.ALCOHOL_ML: (MAX_ALCOHOL_ML, "any"), Kind.CIGARETTES: (MAX_CIGARETTES, "1")}
_UNITS = {Kind.STEPS: "steps", Kind.SLEEP_HOURS: "hours", Kind.ALCOHOL_ML: "ml",
          Kind.CIGARETTES: "cigarettes"}
MAX_FIELD_LENGTH = 64

MANIFEST = {
    "name": "My health code", "short_name": "Health code", "start_url": "/me",
    "scope": "/me", "display": "standalone", "background_color": "#ffffff",
    "theme_color": "#1d3557", "description": "Your health code, also when you are offline",
    "icons": [{"src": "/static/holder/icon-192.png", "sizes": "192x192", "type": "image/png"},
              {"src": "/static/holder/icon-512.png", "sizes": "512x512", "type": "image/png"}],
}


def plausible_phone(phone: str) -> bool:
    return bool(_PHONE.fullmatch(phone))


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
            "policy_id": assessment.policy_id,
            "colour_rule": bool(rules)}


def _rule_effect(policy: Policy, kind: Kind) -> str:
    parts = []
    for rule in policy.rules:
        if rule.kind is not kind:
            continue
        cap = f" and caps your score at {rule.cap}" if rule.cap is not None else ""
        where = (f" (high-risk regions: {', '.join(map(str, rule.matches))}; other regions "
                 "change nothing)") if kind is Kind.TRAVEL else ""
        parts.append(f"Makes your code at least {rule.colour.value} for {rule.window_days} "
                     f"days{cap}{where}.")
    return " ".join(parts) or "Does not change your code under this policy."


def _factor_effect(policy: Policy, kind: Kind) -> str:
    for factor in policy.factors:
        if factor.kind is not kind:
            continue
        unit = _UNITS[kind]
        window = f"the average of your last {factor.window_days} days"
        if factor.method is Method.THRESHOLD:
            return (f"Counts in {window}: {factor.at_least:,} {unit} or more gives "
                    f"{signed_points(factor.points)} points; less gives nothing.")
        return (f"Counts in {window}: {signed_points(factor.points)} points for every "
                f"{factor.per:,} {unit} a day, in proportion.")
    return "Does not change your score under this policy."


def declaration_inputs(policy: Policy) -> list[dict[str, Any]]:
    """The declaration form's fields, each with exactly what it does under ``policy``."""
    fields = []
    for kind in DECLARABLE:
        label, widget = _LABELS[kind]
        lifestyle = kind in _LIMITS
        field = {"name": kind.value, "label": label, "widget": widget,
                 "optional": lifestyle,
                 "effect": _factor_effect(policy, kind) if lifestyle
                 else _rule_effect(policy, kind)}
        if lifestyle:
            field["max"], field["step"] = _LIMITS[kind]
        fields.append(field)
    return fields


def _number(kind: Kind, text: str) -> int | float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ObservationError(kind.value, f"{_LABELS[kind][0]}: a number") from None
    return int(value) if value.is_integer() and kind in (Kind.STEPS, Kind.CIGARETTES) \
        else value


def parse_declaration(form: Mapping[str, str], policy: Policy) -> list[tuple[str, Any]]:
    """The declared ``(kind, value)`` pairs in the form, checked as observations; empty
    fields are left out. Raises :class:`ObservationError` naming the field (its kind)."""
    declared: list[tuple[str, Any]] = []
    for kind in DECLARABLE:
        raw = (form.get(kind.value) or "").strip()
        if not raw:
            continue
        if len(raw) > MAX_FIELD_LENGTH:
            raise ObservationError(kind.value, f"{_LABELS[kind][0]}: too long")
        if _LABELS[kind][1] == "checkbox":
            value: Any = True
        elif kind is Kind.TRAVEL:
            value = raw
        else:
            value = _number(kind, raw)
        try:
            declared.append((kind.value, validate_observation(kind, value)))
        except ObservationError as exc:
            raise ObservationError(kind.value, f"{_LABELS[kind][0]}: {exc}") from None
    if not declared:
        raise ObservationError("form", "nothing was declared: fill in at least one field")
    return declared
