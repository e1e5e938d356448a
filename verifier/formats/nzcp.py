"""The NZ COVID Pass (``NZCP:/``), version 1 of the New Zealand Ministry of Health's
specification: ``NZCP:/1/`` and the RFC 4648 base32 (no padding) of a tagged COSE_Sign1, ES256,
over CWT claims whose ``vc`` is a W3C verifiable credential naming the holder.

:func:`verify` takes the steps the specification lists for a verifier ("Steps to verify a New
Zealand COVID Pass"), in its order; each refusal is a
:class:`~verifier.errors.VerificationError` with ``format="nzcp"``, the ``step`` and its reason:

- ``prefix``: the text starts ``NZCP:/`` and is no longer than a QR code holds (malformed);
- ``version``: an unsigned integer then ``/``; only 1 is known (malformed);
- ``base32``: RFC 4648 base32, upper case, its padding added back (malformed);
- ``cose``: one tagged COSE_Sign1 of the CBOR a verifier reads (malformed);
- ``headers``: a protected ``kid`` (text, or bytes as the published examples have it) and a
  protected ``alg`` (malformed), which is ES256 (unsupported_algorithm);
- ``payload``: the signed payload is a CBOR map, read for ``iss`` only (malformed);
- ``issuer``: ``iss`` is a text (invalid_claims), a DID whose document the checkpoint was
  given (unknown_key);
- ``key``: ``iss#kid`` is a key of that document (unknown_key) listed under its
  ``assertionMethod`` (key_not_valid);
- ``signature``: ES256 over the COSE Sig_structure (bad_signature);
- ``claims``: ``nbf``, ``exp``, ``cti`` (a UUID) and ``vc`` as the data model says
  (invalid_claims);
- ``not_before``: ``now >= nbf`` (not_yet_valid); ``expiry``: ``now < exp`` (expired).

Nothing in the payload but ``iss`` is read before its signature is checked. The times are the
specification's, without the clock skew our own codes allow: it says ``nbf`` <= now < ``exp``.
The keys are :class:`~verifier.formats.nzcpdid.NzcpIssuers`: the DID documents the operator
gave the checkpoint; nothing is fetched.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import IntEnum
from typing import Any, NamedTuple, NoReturn
from uuid import UUID

from ..cose import decode_sign1, loads_strict, sig_structure
from ..errors import Reason, VerificationError
from ..keys import verify_signature
from ..labels import Alg, Header
from .base import ForeignCode, Holder
from .nzcpdid import EXAMPLE_ISSUER, PRODUCTION_ISSUER, DidDocument, NzcpIssuers

__all__ = ["EXAMPLE_ISSUER", "PREFIXES", "PRODUCTION_ISSUER", "DidDocument", "NzcpIssuers",
           "UnverifiedPass", "decode_unverified", "verify"]

PREFIXES = ("NZCP:/",)
FORMAT = "nzcp"
#: The major version of the specification this module reads.
VERSION = 1
#: Longest text accepted: a pass is about 600 characters; a QR code holds at most 4,296
#: alphanumeric ones. Longer text is refused before any decoding.
MAX_TEXT_LENGTH = 4296
#: Longest ``kid`` accepted (the issuers' are ``key-1``, ``z12Kf7UQ``).
MAX_KID_LENGTH = 256
#: The first ``@context`` of every pass, the type every pass has, and the pass types of v1.
W3C_CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
VERIFIABLE_CREDENTIAL = "VerifiableCredential"
PASS_TYPES = ("PublicCovidPass",)
VC_VERSION = "1.0.0"
#: ``givenName`` and ``familyName`` are at most this many characters.
MAX_NAME_LENGTH = 100

_BASE32 = re.compile(r"[A-Z2-7]*")
_UNSIGNED = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Lengths of unpadded base32 that RFC 4648 can produce, modulo 8.
_BASE32_TAILS = frozenset((0, 2, 4, 5, 7))


class Claim(IntEnum):
    """The CWT claim keys a pass uses (RFC 8392); ``vc`` is the text key :data:`VC`."""

    ISS = 1
    EXP = 4
    NBF = 5
    CTI = 7


VC = "vc"


class UnverifiedPass(NamedTuple):
    """A pass read WITHOUT checking issuer, key, signature, claims or time. Never trust it."""

    #: The COSE_Sign1 as the QR text carries it.
    cose: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    kid: str
    alg: int
    #: The CWT claims map, as decoded (integer and text keys).
    claims: dict[Any, Any]


def _fail(reason: Reason, detail: str, step: str, **context: Any) -> NoReturn:
    raise VerificationError(reason, detail, format=FORMAT, step=step, **context)


def _base32(text: str) -> bytes:
    """The bytes of unpadded upper-case RFC 4648 base32 ``text``."""
    if not _BASE32.fullmatch(text) or len(text) % 8 not in _BASE32_TAILS or not text:
        _fail(Reason.MALFORMED, "the pass is not base32 text", "base32")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error:
        _fail(Reason.MALFORMED, "the pass is not base32 text", "base32")


@contextmanager
def _at(step: str, **context: Any) -> Iterator[None]:
    """Give the refusals of the verifier's shared readers (COSE, CBOR, signatures) raised
    inside this format, ``step`` and ``context``."""
    try:
        yield
    except VerificationError as exc:
        _fail(exc.reason, exc.detail, step, **context)


def _headers(protected: bytes) -> tuple[str, int]:
    """``(kid, alg)`` from the protected header: ES256 only; the kid is a text string in the
    specification and a byte string (its UTF-8) in the published examples: both are read."""
    with _at("headers"):
        header = loads_strict(protected, "protected header")
    if not isinstance(header, dict):
        _fail(Reason.MALFORMED, "the protected header is not a map", "headers")
    kid, alg = header.get(Header.KID), header.get(Header.ALG)
    if isinstance(kid, bytes):
        try:
            kid = kid.decode("utf-8")
        except UnicodeDecodeError:
            _fail(Reason.MALFORMED, "the kid is not UTF-8 text", "headers")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        _fail(Reason.MALFORMED, "the protected header has no kid", "headers")
    if type(alg) is not int:
        _fail(Reason.MALFORMED, "the protected header has no alg", "headers", kid=kid)
    if alg != Alg.ES256:
        _fail(Reason.UNSUPPORTED_ALGORITHM, f"alg {alg}: NZ COVID Passes are signed with ES256",
              "headers", kid=kid)
    return kid, alg


def decode_unverified(text: str) -> UnverifiedPass:
    """Read a pass up to its claims WITHOUT checking issuer, key, signature, claims or time.

    Raises :class:`VerificationError` (``malformed``, ``unsupported_algorithm``) when the text
    is not a pass: wrong prefix or version, not base32, not a tagged COSE_Sign1, no kid, an
    algorithm other than ES256, a payload that is not a CBOR map.
    """
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        _fail(Reason.MALFORMED, "not the text of an NZ COVID Pass", "prefix")
    text = text.strip()
    if not text.startswith(PREFIXES):
        _fail(Reason.MALFORMED, "an NZ COVID Pass starts NZCP:/", "prefix")
    version, slash, body = text[len(PREFIXES[0]):].partition("/")
    if not slash or not _UNSIGNED.fullmatch(version):
        _fail(Reason.MALFORMED, "no version number after NZCP:/", "version")
    if version.lstrip("0") != str(VERSION):
        _fail(Reason.MALFORMED, f"version {version[:12]} of NZ COVID Passes is not known here",
              "version")
    cose = _base32(body)
    with _at("cose"):
        sign1 = decode_sign1(cose)
    kid, alg = _headers(sign1.protected)
    with _at("payload", kid=kid):
        claims = loads_strict(sign1.payload, "CWT payload")
    if not isinstance(claims, dict):
        _fail(Reason.MALFORMED, "the signed payload is not a map of claims", "payload", kid=kid)
    return UnverifiedPass(cose, sign1.protected, sign1.payload, sign1.signature, kid, alg,
                          claims)


def verify(text: str, keys: NzcpIssuers | None, now: int) -> ForeignCode:
    """Verify an NZ COVID Pass at ``now`` (epoch seconds) against the trusted issuers' DID
    documents ``keys`` (None: no issuer is trusted).

    Returns the :class:`~verifier.formats.base.ForeignCode`; raises
    :class:`VerificationError` with ``context["format"] == "nzcp"`` and ``context["step"]``
    (the module's table): ``malformed``, ``unsupported_algorithm``, ``unknown_key``,
    ``key_not_valid``, ``bad_signature``, ``invalid_claims``, ``not_yet_valid``, ``expired``.
    """
    read = decode_unverified(text)
    iss = read.claims.get(Claim.ISS)
    if not isinstance(iss, str):
        _fail(Reason.INVALID_CLAIMS, "the pass names no issuer (iss)", "issuer", kid=read.kid)
    if keys is None or iss not in keys:
        _fail(Reason.UNKNOWN_KEY, f"{iss[:80]!r} is not a trusted issuer of NZ COVID Passes",
              "issuer", kid=read.kid)
    key = keys.key(iss, read.kid)
    with _at("signature", kid=read.kid):
        verify_signature(key, Alg.ES256, sig_structure(read.protected, read.payload),
                         read.signature)
    holder, pass_type, jti, nbf, exp = _claims(read.claims, read.kid)
    if now < nbf:
        _fail(Reason.NOT_YET_VALID, "the pass is not active yet", "not_before",
              kid=read.kid, nbf=nbf, now=now)
    if now >= exp:
        _fail(Reason.EXPIRED, "the pass has expired", "expiry", kid=read.kid, exp=exp, now=now)
    return ForeignCode(format=FORMAT, issuer=iss, country="NZ", kind="pass", holder=holder,
                       issued_at=None, not_before=nbf, expires_at=exp, kid=read.kid,
                       alg="ES256", shows=(("pass_type", pass_type), ("credential_id", jti)))


def _claims(claims: dict[Any, Any], kid: str) -> tuple[Holder, str, str, int, int]:
    """``(holder, pass type, jti, nbf, exp)`` of signed claims that follow the data model;
    raises :class:`VerificationError` (``invalid_claims``) for any that does not."""

    def invalid(detail: str) -> NoReturn:
        _fail(Reason.INVALID_CLAIMS, detail, "claims", kid=kid)

    nbf, exp, cti, vc = (claims.get(k) for k in (Claim.NBF, Claim.EXP, Claim.CTI, VC))
    if type(nbf) is not int or type(exp) is not int:
        invalid("nbf and exp must be integer dates")
    if not isinstance(cti, bytes) or len(cti) != 16:
        invalid("cti must be a 16-byte UUID")
    if not isinstance(vc, dict):
        invalid("the vc claim is missing")
    context, types = vc.get("@context"), vc.get("type")
    if not (isinstance(context, list) and context and context[0] == W3C_CREDENTIALS_V1
            and all(isinstance(item, str) for item in context)):
        invalid(f"vc @context must be a list of texts starting {W3C_CREDENTIALS_V1}")
    if vc.get("version") != VC_VERSION:
        invalid(f"vc version must be {VC_VERSION}")
    if not (isinstance(types, list) and len(types) == 2 and types[0] == VERIFIABLE_CREDENTIAL
            and types[1] in PASS_TYPES):
        invalid(f"vc type must be [{VERIFIABLE_CREDENTIAL}, one of {', '.join(PASS_TYPES)}]")
    subject = vc.get("credentialSubject")
    if not isinstance(subject, dict):
        invalid("vc credentialSubject is missing")
    given, family, dob = (subject.get(k) for k in ("givenName", "familyName", "dob"))
    if not (isinstance(given, str) and 0 < len(given) <= MAX_NAME_LENGTH):
        invalid(f"givenName must be 1 to {MAX_NAME_LENGTH} characters")
    if not (family is None or isinstance(family, str) and len(family) <= MAX_NAME_LENGTH):
        invalid(f"familyName must be at most {MAX_NAME_LENGTH} characters")
    if not (isinstance(dob, str) and _DATE.fullmatch(dob) and _is_date(dob)):
        invalid("dob must be a date, YYYY-MM-DD")
    name = " ".join(part for part in (given, family) if part)
    return Holder(name, dob), types[1], UUID(bytes=cti).urn, nbf, exp


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True

