"""What an EU Digital COVID Certificate says: its CWT claims and the health certificate inside
(``hcert``, -260, version 1), read but not verified; and how the DCC modules refuse (every
refusal names the format and its stage).

Read: ``iss``, ``iat`` and ``exp`` (integers by the specification; floats, as some issuers wrote
them, are taken to the second); the holder's name (``gn fn``, else the transliterated ``gnt
fnt``) and date of birth; exactly one of ``v`` (vaccination), ``t`` (test), ``r`` (recovery),
a list of entries of which the last is shown (:data:`SHOWN`). Texts are at most
:data:`MAX_FIELD` characters; date tags (0 and 1) may stand for texts.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, NamedTuple, NoReturn

import cbor2

from ..cborscan import scan
from ..errors import Reason, VerificationError
from ..labels import Claim
from .base import Holder

#: The longest text read from a certificate (its schema allows 80 for a name, 50 for a code).
MAX_FIELD = 256
HCERT = -260
HCERT_V1 = 1
_DATE_TAGS = frozenset((0, 1))  # standard date/time text, epoch seconds: seen in test entries
_KINDS = {"v": "vaccination", "t": "test", "r": "recovery"}
POSITIVE = "260373001"  # SNOMED CT "detected"
_WORDS = {"tr": {"260415000": "not_detected", POSITIVE: "detected"},
          "tt": {"LP6464-4": "naat", "LP217198-3": "rapid_antigen"}}
#: What a checkpoint shows of each kind of certificate: (the entry's field, shown as).
SHOWN = {
    "vaccination": (("dn/sd", "dose"), ("mp", "product"), ("dt", "date"), ("co", "country"),
                    ("is", "issued_by")),
    "test": (("tt", "test_type"), ("tr", "test_result"), ("sc", "sample_time"),
             ("co", "country"), ("is", "issued_by")),
    "recovery": (("fr", "first_positive"), ("df", "valid_from"), ("du", "valid_until"),
                 ("co", "country"), ("is", "issued_by")),
}
_BIRTH_DATE = re.compile(r"\d{4}(-\d{2}){0,2}")
_COUNTRY = re.compile(r"[A-Z]{2}")


class Claims(NamedTuple):
    """What a certificate says, read from its payload (verified only once
    :func:`verifier.formats.dcc.verify` returns it inside a ``ForeignCode``)."""

    iss: str | None
    #: ``iss`` when it is an ISO 3166-1 alpha-2 code, as it should be (else None).
    country: str | None
    iat: int
    exp: int
    kind: str
    holder: Holder
    shows: tuple[tuple[str, str], ...]
    #: A test's sample time, epoch seconds (None for other kinds, or when it has none).
    sampled_at: int | None
    #: The health certificate as decoded, every field.
    certificate: dict[str, Any]


def fail(reason: Reason, detail: str, step: str, **context: Any) -> NoReturn:
    """Refuse a certificate: raise :class:`VerificationError` naming the format and ``step``."""
    raise VerificationError(reason, detail, format="dcc", step=step, **context)


def loads(data: bytes, what: str, step: str, *, tag: int | None = None,
          inner_tags: frozenset[int] = frozenset()) -> Any:
    """One CBOR item of the language :mod:`verifier.cborscan` accepts, or ``malformed``."""
    try:
        scan(data, tag, inner_tags=inner_tags)
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        fail(Reason.MALFORMED, f"{what}: invalid CBOR ({exc})", step)


def _invalid(detail: str) -> NoReturn:
    fail(Reason.INVALID_CLAIMS, detail, "claims")


def _epoch(value: Any, name: str) -> int:
    # Integers by the specification; a few issuers wrote floats (Hungary's test data).
    if type(value) is float and math.isfinite(value):
        value = math.floor(value)
    if type(value) is not int or not 0 <= value < 1 << 40:
        _invalid(f"{name} is not a time in seconds")
    return value


def _moment(value: Any, name: str) -> datetime:
    """A date and time (tagged, or ISO 8601 text; without a zone: UTC), in UTC."""
    try:
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(_text(value, name))
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. year 1 at +14:00, before UTC's year 1
        _invalid(f"{name} is not a date and time")


def _text(value: Any, name: str) -> str:
    if isinstance(value, datetime):
        return _moment(value, name).isoformat().replace("+00:00", "Z")
    if type(value) is int:
        return str(value)
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        _invalid(f"{name} is not a text of at most {MAX_FIELD} characters")
    return value


def _holder(certificate: dict[str, Any]) -> Holder:
    nam = certificate.get("nam")
    if not isinstance(nam, dict):
        _invalid("the certificate names no one")
    parts = {key: _text(nam[key], key) for key in ("gn", "fn", "gnt", "fnt")
             if nam.get(key) is not None}
    name = " ".join(parts[k] for k in ("gn", "fn") if parts.get(k)) or " ".join(
        parts[k].replace("<", " ") for k in ("gnt", "fnt") if parts.get(k))
    dob = certificate.get("dob", "")
    birth_date = _text(dob, "dob").partition("T")[0] if dob is not None else ""
    if not name.strip() or birth_date and not _BIRTH_DATE.fullmatch(birth_date):
        _invalid("no name, or a date of birth that is not a date")
    return Holder(name.strip(), birth_date)


def _shows(kind: str, entry: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    shown = []
    for field, label in SHOWN[kind]:
        if field == "dn/sd":
            if entry.get("dn") is not None and entry.get("sd") is not None:
                shown.append((label, f"{_text(entry['dn'], 'dn')}/{_text(entry['sd'], 'sd')}"))
        elif entry.get(field) is not None:
            value = _text(entry[field], field)
            shown.append((label, _WORDS.get(field, {}).get(value, value)))
    return tuple(shown)


def _sample_time(entry: dict[str, Any]) -> int | None:
    value = entry.get("sc")
    return None if value is None else int(_moment(value, "sc").timestamp())


def read_claims(payload: bytes) -> Claims:
    """The claims and the health certificate of a payload (stage ``claims``), NOT verified.
    Raises :class:`VerificationError` (``malformed``, ``invalid_claims``)."""
    claims = loads(payload, "CWT claims", "claims", inner_tags=_DATE_TAGS)
    if not isinstance(claims, dict):
        _invalid("the payload is not a map of claims")
    iss = claims.get(Claim.ISS)
    if iss is not None:
        iss = _text(iss, "iss")
    iat, exp = _epoch(claims.get(Claim.IAT), "iat"), _epoch(claims.get(Claim.EXP), "exp")
    hcert = claims.get(HCERT)
    certificate = hcert.get(HCERT_V1) if isinstance(hcert, dict) else None
    if not isinstance(certificate, dict):
        _invalid("no health certificate (hcert) in the claims")
    present = [key for key in _KINDS if certificate.get(key) is not None]
    if len(present) != 1:
        _invalid(f"{len(present)} kinds of certificate (v, t, r) in one: one is allowed")
    entries = certificate[present[0]]
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        _invalid(f"{present[0]} is not a list of entries")
    kind, entry = _KINDS[present[0]], entries[-1]
    country = iss if iss and _COUNTRY.fullmatch(iss) else None
    return Claims(iss, country, iat, exp, kind, _holder(certificate), _shows(kind, entry),
                  _sample_time(entry) if kind == "test" else None, certificate)
