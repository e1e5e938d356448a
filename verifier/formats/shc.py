"""SMART Health Cards (``shc:/``), read offline.

A card's QR text is ``shc:/`` and digits, each pair of them a character of a compact JWS
(pair + 45); a card too long for one QR came in several (``shc:/2/3/…``, deprecated since
2022): :func:`join_chunks` puts them together. The JWS header is ``{"zip": "DEF", "alg":
"ES256", "kid": <the key's RFC 7638 thumbprint>}``; its payload is raw DEFLATE of a JSON
object with ``iss`` (the issuer's URL), ``nbf`` (when it was issued), optionally ``exp``, and
``vc``: ``type`` and ``credentialSubject.fhirBundle``, a FHIR Bundle with the Patient and
what is certified (Immunization, Observation, …).

:func:`verify` checks, in order: the text, the header, the payload's size and JSON, the key
(the issuer by ``iss`` and its key by ``kid``, in :class:`ShcIssuers`), the signature, the
claims, ``exp``, ``nbf``, and the issuer's revocation list (``vc.rid``). FHIR profiles are not
validated: a checkpoint needs who (Patient), what (the resources' kinds) and whether the
issuer signed it, no more. Specification: https://spec.smarthealth.cards.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from ..errors import Reason, VerificationError
from ..jws import loads_json
from ..keys import b64url, b64url_decode, verify_signature
from ..labels import Alg
from .base import ForeignCode, Holder
from .shckeys import RID, ShcIssuers, ShcKey, shown

__all__ = ["PREFIXES", "ShcIssuers", "ShcKey", "chunk_position", "decode_unverified",
           "join_chunks", "jws_of", "verify", "verify_jws"]

PREFIXES = ("shc:/",)
#: The ``vc.type`` every SMART Health Card carries.
HEALTH_CARD = "https://smarthealth.cards#health-card"
#: Longest JWS in one chunk of a card split over several QR codes (the specification's limit).
CHUNK_CHARS = 1191
#: Most chunks joined (the dev-tools corpus splits one card in 17).
MAX_CHUNKS = 20
#: Longest JWS read, and so the longest text.
MAX_JWS_CHARS = MAX_CHUNKS * CHUNK_CHARS
MAX_TEXT_LENGTH = len(PREFIXES[0]) + 2 * MAX_JWS_CHARS
#: Largest payload once inflated: a bound on what a hostile card can make us allocate.
MAX_PAYLOAD_BYTES = 64 * 1024
#: Allowed difference between the issuer's clock and the checkpoint's, in seconds (as for
#: our own codes, verifier.verify.CLOCK_SKEW).
CLOCK_SKEW = 300

_SINGLE = re.compile(r"shc:/([0-9]+)")
_CHUNK = re.compile(r"shc:/([1-9][0-9]{0,2})/([1-9][0-9]{0,2})/([0-9]+)")
_PAIR_MAX = ord("z") - 45  # the largest pair a JWS character gives
#: What a card certifies, by the resources it holds, else by its (deprecated) extra types.
_KINDS = {"Immunization": "immunization", "Observation": "laboratory"}
_TYPE_KINDS = {"https://smarthealth.cards#immunization": "immunization",
               "https://smarthealth.cards#laboratory": "laboratory"}
_SYSTEMS = {"http://hl7.org/fhir/sid/cvx": "cvx", "http://snomed.info/sct": "snomed",
            "http://loinc.org": "loinc"}
_BIRTH_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_TEXT_MAX = 100  # longest text shown from a card


class _Card(NamedTuple):
    iss: str
    nbf: float
    exp: float | None
    rid: str | None
    types: tuple[str, ...]
    bundle: dict[str, Any]


def _fail(reason: Reason, step: str, detail: str, **context: Any) -> NoReturn:
    raise VerificationError(reason, detail, format="shc", step=step, **context)


def chunk_position(text: str) -> tuple[int, int] | None:
    """Return ``(index, total)`` of a chunk's text (``shc:/2/3/…`` -> ``(2, 3)``), or None
    for a text that is not a chunk; for a checkpoint that scans chunks one at a time."""
    match = _CHUNK.fullmatch(text) if isinstance(text, str) else None
    return (int(match[1]), int(match[2])) if match else None


def join_chunks(texts: Sequence[str]) -> str:
    """Return one card's text from the texts of its chunks (``shc:/1/3/…``, ``shc:/2/3/…``,
    ``shc:/3/3/…``, in any order; a complete text alone is returned as it is). Raises
    :class:`VerificationError` (``malformed``, step ``chunks``) for a chunk missing, twice,
    out of range, of another total, or over the specification's size."""
    if not isinstance(texts, list | tuple) or not 1 <= len(texts) <= MAX_CHUNKS \
            or not all(isinstance(t, str) and len(t) <= MAX_TEXT_LENGTH for t in texts):
        _fail(Reason.MALFORMED, "chunks", f"not a list of 1 to {MAX_CHUNKS} texts")
    if len(texts) == 1 and _SINGLE.fullmatch(texts[0]):
        return texts[0]
    parts: dict[int, str] = {}
    for text in texts:
        match = _CHUNK.fullmatch(text)
        if match is None:
            _fail(Reason.MALFORMED, "chunks", "not a chunk's text (shc:/index/total/digits)")
        index, total, digits = int(match[1]), int(match[2]), match[3]
        if total != len(texts) or index > total:
            _fail(Reason.MALFORMED, "chunks", f"chunk {index}/{total}, but {len(texts)} "
                  "chunks scanned: one is missing, extra or of another card")
        if index in parts:
            _fail(Reason.MALFORMED, "chunks", f"chunk {index}/{total} scanned twice")
        if len(digits) > 2 * CHUNK_CHARS or len(digits) % 2:
            _fail(Reason.MALFORMED, "chunks", f"chunk {index}/{total} is not an even number "
                  f"of digits for at most {CHUNK_CHARS} characters")
        parts[index] = digits
    return PREFIXES[0] + "".join(parts[i] for i in sorted(parts))


def jws_of(text: str) -> str:
    """Return the compact JWS a card's complete text carries (nothing checked but the
    encoding). Raises :class:`VerificationError` (``malformed``, step ``decode``)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        _fail(Reason.MALFORMED, "decode", f"not a text of at most {MAX_TEXT_LENGTH} characters")
    match = _SINGLE.fullmatch(text)
    chunk = _CHUNK.fullmatch(text) if match is None else None
    if chunk is not None and chunk[1] == chunk[2] == "1":
        match = chunk  # "1 of 1": a header the specification does not ask for, harmless
    elif chunk is not None:
        _fail(Reason.MALFORMED, "decode", f"chunk {chunk[1]} of {chunk[2]} of a card: scan "
              "them all and join them")
    if match is None:
        _fail(Reason.MALFORMED, "decode", "not a SMART Health Card text (shc:/ and digits)")
    digits = match[match.lastindex or 0]
    if len(digits) % 2:
        _fail(Reason.MALFORMED, "decode", "an odd number of digits")
    pairs = [int(digits[i:i + 2]) for i in range(0, len(digits), 2)]
    if max(pairs) > _PAIR_MAX:
        _fail(Reason.MALFORMED, "decode", "a digit pair above 77 (no JWS character)")
    return "".join(chr(pair + 45) for pair in pairs)


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw DEFLATE: no zlib header or checksum
    try:
        data = inflater.decompress(raw, MAX_PAYLOAD_BYTES + 1)
    except zlib.error as exc:
        _fail(Reason.MALFORMED, "payload", f"the payload is not raw DEFLATE: {exc}")
    if len(data) > MAX_PAYLOAD_BYTES:
        _fail(Reason.MALFORMED, "payload", f"the payload inflates past {MAX_PAYLOAD_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        _fail(Reason.MALFORMED, "payload", "the compressed payload is cut short or followed "
              "by other bytes")
    return data


def _json_object(data: bytes, step: str, what: str) -> dict[str, Any]:
    try:
        value = loads_json(data)
    except (ValueError, RecursionError) as exc:
        _fail(Reason.MALFORMED, step, f"the {what} is not strict UTF-8 JSON: {exc}")
    if not isinstance(value, dict):
        _fail(Reason.MALFORMED, step, f"the {what} is not a JSON object")
    return value


def _decode(jws: str) -> tuple[str, bytes, bytes, dict[str, Any]]:
    """Return ``(kid, signing input, signature, payload)`` of a card's JWS, unverified."""
    if not isinstance(jws, str) or len(jws) > MAX_JWS_CHARS:
        _fail(Reason.MALFORMED, "decode", f"not a JWS of at most {MAX_JWS_CHARS} characters")
    parts = jws.split(".")
    if len(parts) != 3:
        _fail(Reason.MALFORMED, "jws", "not a compact JWS (header.payload.signature)")
    try:
        header_bytes, raw, signature = decoded = [b64url_decode(part) for part in parts]
    except ValueError:
        _fail(Reason.MALFORMED, "jws", "a JWS part is not base64url")
    if [b64url(part) for part in decoded] != parts:  # one card, one way to write it
        _fail(Reason.MALFORMED, "jws", "a JWS part is not canonical base64url")
    header = _json_object(header_bytes, "header", "JWS header")
    if "alg" not in header:
        _fail(Reason.MALFORMED, "header", "the header has no alg")
    if header["alg"] != "ES256":
        _fail(Reason.UNSUPPORTED_ALGORITHM, "header", f"alg {shown(header['alg'])}, not ES256")
    if header.get("zip") != "DEF":
        _fail(Reason.MALFORMED, "header", "the header does not say zip DEF (raw DEFLATE)")
    if "crit" in header:
        _fail(Reason.MALFORMED, "header", "the header has critical parameters (crit)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 1 <= len(kid) <= 100:
        _fail(Reason.MALFORMED, "header", "the header has no kid")
    payload = _json_object(_inflate(raw), "payload", "payload")
    return kid, f"{parts[0]}.{parts[1]}".encode("ascii"), signature, payload


def decode_unverified(text: str) -> dict[str, Any]:
    """Return a card's payload (``iss``, ``nbf``, ``vc``…) WITHOUT checking signature, key,
    time or revocation. Never trust it. Raises :class:`VerificationError` (``malformed``)."""
    return _decode(jws_of(text))[3]


def _time(value: object, name: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        _fail(Reason.INVALID_CLAIMS, "claims", f"{name} is not a number of seconds")
    return value  # type: ignore[return-value]


def _claims(payload: dict[str, Any], iss: str) -> _Card:
    nbf = _time(payload.get("nbf"), "nbf")
    exp = _time(payload["exp"], "exp") if "exp" in payload else None
    if exp is not None and exp <= nbf:
        _fail(Reason.INVALID_CLAIMS, "claims", "exp is not after nbf")
    vc = payload.get("vc")
    types = vc.get("type") if isinstance(vc, dict) else None
    if not isinstance(types, list) or HEALTH_CARD not in types \
            or not all(isinstance(t, str) for t in types):
        _fail(Reason.INVALID_CLAIMS, "claims", f"vc.type does not list {HEALTH_CARD}")
    subject = vc.get("credentialSubject")
    bundle = subject.get("fhirBundle") if isinstance(subject, dict) else None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        _fail(Reason.INVALID_CLAIMS, "claims", "vc.credentialSubject.fhirBundle is no Bundle")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and isinstance(e["resource"].get("resourceType"), str) for e in entries):
        _fail(Reason.INVALID_CLAIMS, "claims", "the Bundle's entries are not FHIR resources")
    rid = vc.get("rid")
    if "rid" in vc and not (isinstance(rid, str) and RID.fullmatch(rid)):
        _fail(Reason.INVALID_CLAIMS, "claims", "vc.rid is not 1-24 base64url characters")
    return _Card(iss, nbf, exp, rid, tuple(types), bundle)


def verify_jws(jws: str, keys: ShcIssuers | None, now: int) -> ForeignCode:
    """Verify a card's compact JWS at ``now`` (epoch seconds); see :func:`verify`."""
    kid, signing_input, signature, payload = _decode(jws)
    iss = payload.get("iss")
    if not isinstance(iss, str):
        _fail(Reason.INVALID_CLAIMS, "claims", "the payload names no issuer (iss)", kid=kid)
    if keys is None:
        _fail(Reason.UNKNOWN_KEY, "key", "no SMART Health Card issuer is trusted", kid=kid)
    key = keys.key(iss, kid)
    try:
        verify_signature(key.public_key, Alg.ES256, signing_input, signature)
    except VerificationError as exc:
        _fail(exc.reason, "signature", exc.detail, kid=kid, iss=iss)
    card = _claims(payload, iss)
    context = {"kid": kid, "iss": iss, "now": now}
    if card.exp is not None and now > card.exp + CLOCK_SKEW:
        _fail(Reason.EXPIRED, "expiry", f"expired at {card.exp}", exp=card.exp, **context)
    if card.nbf > now + CLOCK_SKEW:
        _fail(Reason.NOT_YET_VALID, "not_before", f"issued at {card.nbf}, in the future",
              **context)
    if keys.is_revoked(key, card.rid, card.nbf):
        _fail(Reason.REVOKED, "revocation", f"rid {card.rid} is on the issuer's list",
              **context)
    return _result(card, key, keys)


def _result(card: _Card, key: ShcKey, keys: ShcIssuers) -> ForeignCode:
    resources = [entry["resource"] for entry in card.bundle["entry"]]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if len(patients) > 1:
        _fail(Reason.INVALID_CLAIMS, "claims", "the Bundle names more than one Patient")
    kind, shows = _kind_and_shows(resources, card.types)
    return ForeignCode(
        format="shc", issuer=card.iss, country=None, kind=kind,
        holder=_holder(patients[0]) if patients else Holder("", ""),
        issued_at=math.floor(card.nbf),
        not_before=math.floor(card.nbf),
        expires_at=None if card.exp is None else math.floor(card.exp), kid=key.kid,
        alg="ES256", shows=(*shows, ("revocation_list", keys.revocation_list(key))))


def _text(value: object) -> str:
    return value[:_TEXT_MAX] if isinstance(value, str) else ""


def _holder(patient: dict[str, Any]) -> Holder:
    """The Patient's first name as written (``text``, else given names and family) and
    birth date; FHIR not validated, so anything unexpected reads as ""."""
    names = patient.get("name")
    first = names[0] if isinstance(names, list) and names else None
    first = first if isinstance(first, dict) else {}
    given = first.get("given") if isinstance(first.get("given"), list) else []
    name = _text(first.get("text")) or " ".join(
        [*(g for g in given if isinstance(g, str)), _text(first.get("family"))]).strip()
    birth = patient.get("birthDate")
    valid_birth = isinstance(birth, str) and _BIRTH_DATE.fullmatch(birth)
    return Holder(name[:_TEXT_MAX], birth if valid_birth else "")  # type: ignore[arg-type]


def _code(concept: object) -> str:
    """``system:code`` of a CodeableConcept's first coding (``cvx:207``), or ""."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            system = _text(coding.get("system"))
            return _text(f"{_SYSTEMS.get(system, system)}:{coding['code']}")
    return ""


def _kind_and_shows(resources: list[dict[str, Any]], types: tuple[str, ...]
                    ) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What the card certifies, and for immunizations the completed doses, the last one's
    vaccine and date; for laboratory results their count, the last one's test, result and
    date."""
    present = {r["resourceType"] for r in resources}
    kinds = [k for name, k in _KINDS.items() if name in present]
    kinds += [k for name, k in _TYPE_KINDS.items() if name in types]
    others = sorted(present - {"Patient"})
    kind = kinds[0] if kinds else others[0].lower()[:40] if others else "health-card"
    if kind == "immunization":
        items = [r for r in resources if r["resourceType"] == "Immunization"
                 and r.get("status", "completed") == "completed"]
        last = max(items, key=lambda r: _text(r.get("occurrenceDateTime")), default={})
        shows = [("doses", str(len(items))), ("vaccine", _code(last.get("vaccineCode"))),
                 ("date", _text(last.get("occurrenceDateTime")))]
    elif kind == "laboratory":
        items = [r for r in resources if r["resourceType"] == "Observation"]
        last = max(items, key=lambda r: _text(r.get("effectiveDateTime")), default={})
        quantity = last.get("valueQuantity")
        result = _code(last.get("valueCodeableConcept")) or _text(last.get("valueString")) \
            or (_text(f"{quantity.get('value')} {_text(quantity.get('unit'))}".strip())
                if isinstance(quantity, dict) else "")
        shows = [("results", str(len(items))), ("test", _code(last.get("code"))),
                 ("result", result), ("date", _text(last.get("effectiveDateTime")))]
    else:
        shows = []
    return kind, tuple((name, value) for name, value in shows if value)


def verify(text: str, keys: ShcIssuers | None, now: int) -> ForeignCode:
    """Verify a card's complete QR text (one QR, or chunks put together by
    :func:`join_chunks`) at ``now`` (epoch seconds) against the trusted issuers ``keys``
    (None: none) and return what a checkpoint shows.

    Raises :class:`VerificationError` (``context["format"]`` ``shc``, ``context["step"]`` the
    stage): ``malformed`` (steps ``decode``, ``jws``, ``header``, ``payload``),
    ``unsupported_algorithm`` (``header``: alg not ES256), ``unknown_key`` (``key``: issuer
    not trusted, or no such key), ``bad_signature`` (``signature``), ``invalid_claims``
    (``claims``), ``expired`` (``expiry``), ``not_yet_valid`` (``not_before``), ``revoked``
    (``revocation``).
    """
    return verify_jws(jws_of(text), keys, now)
