"""Verify a health code's text offline: signature, key, time and claims.

Order matters: nothing inside the payload is trusted before the signature over it is checked,
and the key and algorithm come from the trust list, never from the code.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from . import fastpath
from .base45 import Base45Error, b45decode
from .claims import SCORE_MAX, Credential, parse_claims
from .cose import decode_protected, decode_sign1, sig_structure
from .errors import HealthCodeError, Reason, VerificationError
from .formats.base import ForeignCode, ForeignTrust, detect, verify_foreign
from .keys import kid_text, verify_signature
from .labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX, Alg, Colour
from .presentation import (
    PRESENTATION_FUTURE_SKEW,
    PRESENTATION_WINDOW,
    decode_presentation,
    holder_key,
)
from .trust import TrustedKey, TrustList

if TYPE_CHECKING:
    from .revocation import Revocations

#: Allowed difference between the issuer's clock and the verifier's, in seconds: a code is
#: still accepted up to this long after ``exp``, and one whose ``iat`` is up to this far in the
#: future is not refused as ``not_yet_valid``. Five minutes covers checkpoint devices whose
#: clocks are set by hand; it is small next to a credential lifetime of hours.
CLOCK_SKEW = 300
#: Longest code text accepted: a static credential is ~220 characters; device-bound
#: presentations stay well under this. Anything longer is refused before any parsing.
MAX_TEXT_LENGTH = 2048

Now = int | float | datetime | None
_COLOURS = (Colour.GREEN, Colour.YELLOW, Colour.RED)  # by wire code
# Builds a Credential from a tuple of its fields without NamedTuple's keyword handling, which
# costs a microsecond on the hot path.
_new_tuple = tuple.__new__
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_ES256 = Alg.ES256


def now_seconds() -> int:
    """Current time in epoch seconds; the one clock of the verifier (tests pass ``now``)."""
    return int(time.time())


def to_epoch(now: Now) -> int:
    """Return ``now`` (epoch seconds, an aware datetime, or None for the clock) as an int.

    Raises ``ValueError`` for a naive datetime: a checkpoint must not guess a time zone.
    """
    if now is None:
        return now_seconds()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime or epoch seconds")
        return int(now.astimezone(UTC).timestamp())
    return int(now)


def decode_unverified(text: str) -> Credential:
    """Return a code's content WITHOUT checking signature, key or time. Never trust it.

    Raises :class:`VerificationError` (``malformed``, ``invalid_claims``) if it cannot be read.
    """
    sign1 = decode_sign1(decode_text(text))
    alg, kid = decode_protected(sign1.protected)
    return parse_claims(sign1.payload, kid=kid, alg=_known_alg(alg, kid))


def decode_text(text: str, prefix: str = CREDENTIAL_PREFIX) -> bytes:
    """Return the COSE bytes of a code's text: ``prefix`` then Base45, at most
    :data:`MAX_TEXT_LENGTH` characters. Raises :class:`VerificationError` (``malformed``)."""
    if not isinstance(text, str):
        raise VerificationError(Reason.MALFORMED, "a code is text")
    if len(text) > MAX_TEXT_LENGTH:
        raise VerificationError(Reason.MALFORMED, f"longer than {MAX_TEXT_LENGTH} characters")
    if not text.startswith(prefix):
        raise VerificationError(Reason.MALFORMED, f"not a health code (no {prefix} prefix)")
    try:
        return b45decode(text[len(prefix):])
    except Base45Error as exc:
        raise VerificationError(Reason.MALFORMED, f"bad Base45: {exc}") from None


def _known_alg(alg: int, kid: bytes) -> Alg:
    try:
        return Alg(alg)
    except ValueError:
        raise VerificationError(Reason.UNSUPPORTED_ALGORITHM, f"COSE algorithm {alg}",
                                kid=kid_text(kid)) from None


def verify(text: str, trust: TrustList | None, now: Now = None,
           revocations: Revocations | None = None, *,
           window: int = PRESENTATION_WINDOW,
           foreign: ForeignTrust | None = None) -> Credential | ForeignCode:
    """Verify a code's text, a credential (``HCC1:``) or a holder's live presentation of one
    (``HCP1:``), and return its :class:`Credential` (``presented_at`` set for a presentation).
    A code of a foreign format (an EU certificate ``HC1:``, a SMART Health Card ``shc:/``, an
    NZ COVID Pass ``NZCP:/``: :mod:`verifier.formats`) is verified with the keys in
    ``foreign`` (None: those ``trust`` carries, if any, which must then be current) and
    returned as a :class:`~verifier.formats.ForeignCode` (``trust`` may be None then).

    ``now`` defaults to the clock; ``revocations`` are the issuers' revocation lists, checked
    last (only a code that is otherwise valid can be ``revoked``); ``window`` is how many
    seconds old a presentation may be. Raises :class:`VerificationError` whose ``reason`` is
    one of ``malformed``, ``unsupported_algorithm``, ``unknown_key``, ``bad_signature``,
    ``key_not_valid``, ``invalid_claims``, ``expired``, ``not_yet_valid``,
    ``holder_proof_missing`` (a device-bound credential shown bare), ``bad_holder_signature``,
    ``stale_presentation``, ``revoked``; or :class:`TrustListError` if ``trust`` has expired.
    """
    at = now if type(now) is int else to_epoch(now)
    if isinstance(text, str) and not text.startswith(CREDENTIAL_PREFIX) and detect(text):
        if foreign is None and trust is not None and trust.foreign is not None:
            trust.check_current(at)
            foreign = trust.foreign
        return verify_foreign(text, foreign or ForeignTrust(), at)
    if at > trust.expires_at:
        trust.check_current(at)  # raises
    if isinstance(text, str) and text.startswith(PRESENTATION_PREFIX):
        credential = _verify_presentation(text, trust, at, window)
    else:
        credential = _verify_data(decode_text(text), trust, at)
    if revocations is not None and revocations.is_revoked(credential.iss, credential.cti):
        _reject(Reason.REVOKED, credential, at)
    return credential


def _verify_data(data: bytes, trust: TrustList, at: int, bound: bool = False) -> Credential:
    """Verify a credential's COSE bytes; ``bound``: it came inside a holder presentation,
    so a ``cnf`` claim is expected rather than refused."""
    code = fastpath.read(data)
    key = trust.by_protected.get(code[0]) if code is not None else None
    if key is None:  # not our canonical layout, or not a trusted key: the general path decides
        return _verify_general(data, trust, at, bound)
    _, message, r, s, iss, iat, exp, cti, colour, score, policy = code
    der = fastpath.es256_der(r, s) if key.alg is _ES256 else None
    if der is None:
        _check_signature(key, message, r + s)
    else:
        try:
            key.public_key.verify(der, message, _ECDSA_SHA256)  # type: ignore[call-arg]
        except InvalidSignature:
            raise VerificationError(Reason.BAD_SIGNATURE, kid=kid_text(key.kid)) from None
    if colour <= 2 and score <= SCORE_MAX and iat < exp:
        credential = _new_tuple(Credential, (iss, iat, exp, cti, _COLOURS[colour], score, policy,
                                             None, key.kid, key.alg, None, None, False))
        if (iss == key.iss and at <= exp + CLOCK_SKEW and iat <= at + CLOCK_SKEW
                and key.not_before <= iat <= key.not_after):
            return credential  # the common case: _accept's checks, inlined
        return _accept(credential, key, at)
    # Out of range: the general parser names the bad claim.
    return _accept(parse_claims(data[19:-66], kid=key.kid, alg=key.alg), key, at)


def _verify_general(data: bytes, trust: TrustList, at: int, bound: bool = False
                    ) -> Credential:
    sign1 = decode_sign1(data)
    alg_id, kid = decode_protected(sign1.protected)
    alg = _known_alg(alg_id, kid)
    key = trust.key(kid)
    if alg is not key.alg:
        # The key's pinned algorithm wins over whatever the header claims.
        raise VerificationError(Reason.UNSUPPORTED_ALGORITHM,
                                f"header says {alg.jose_name}, key is {key.alg.jose_name}",
                                kid=kid_text(kid))
    _check_signature(key, sig_structure(sign1.protected, sign1.payload), sign1.signature)
    return _accept(parse_claims(sign1.payload, kid=kid, alg=alg), key, at, bound)


def _verify_presentation(text: str, trust: TrustList, at: int, window: int) -> Credential:
    presentation = decode_presentation(decode_text(text, PRESENTATION_PREFIX))
    # The issuer's credential first: a forged or expired credential is the answer that
    # matters, whatever the phone signed around it.
    credential = _verify_data(presentation.credential, trust, at, bound=True)
    if credential.cnf is None:
        _reject(Reason.BAD_HOLDER_SIGNATURE, credential, at,
                "the credential inside is not bound to a phone")
    try:
        verify_signature(holder_key(credential.cnf), Alg.ES256, presentation.message,
                         presentation.signature)
    except VerificationError as exc:
        if exc.reason is not Reason.BAD_SIGNATURE:
            raise
        _reject(Reason.BAD_HOLDER_SIGNATURE, credential, at)
    age = at - presentation.presented_at
    if age > window or -age > PRESENTATION_FUTURE_SKEW:
        _reject(Reason.STALE_PRESENTATION, credential, at,
                f"made {age} s ago; a live code is at most {window} s old" if age > 0 else
                f"dated {-age} s in the future: the phone's clock is wrong",
                presented_at=presentation.presented_at)
    return credential._replace(presented_at=presentation.presented_at)


def _check_signature(key: TrustedKey, message: bytes, signature: bytes) -> None:
    try:
        verify_signature(key.public_key, key.alg, message, signature)
    except VerificationError as exc:
        exc.context["kid"] = kid_text(key.kid)
        raise


def _accept(cred: Credential, key: TrustedKey, now: int, bound: bool = False) -> Credential:
    """Return ``cred`` if its issuer, times and key window pass; raise otherwise."""
    if cred.iss != key.iss:
        _reject(Reason.KEY_NOT_VALID, cred, now,
                f"key belongs to issuer {key.iss!r}, code says {cred.iss!r}")
    # Expiry before the key window: for a code that is long dead, "expired" is the useful answer.
    if now > cred.exp + CLOCK_SKEW:
        _reject(Reason.EXPIRED, cred, now)
    if cred.iat > now + CLOCK_SKEW:
        _reject(Reason.NOT_YET_VALID, cred, now)
    if not key.not_before <= cred.iat <= key.not_after:
        _reject(Reason.KEY_NOT_VALID, cred, now,
                "issued outside the signing key's validity window")
    if cred.cnf is not None and not bound:
        _reject(Reason.HOLDER_PROOF_MISSING, cred, now)
    return cred


def _reject(reason: Reason, cred: Credential, now: int, detail: str | None = None,
            **context: Any) -> NoReturn:
    raise VerificationError(reason, detail, kid=kid_text(cred.kid), exp=cred.exp, now=now,
                            **context)


def is_valid(text: str, trust: TrustList, now: Now = None,
             revocations: Revocations | None = None, *,
             window: int = PRESENTATION_WINDOW) -> bool:
    """Return whether :func:`verify` accepts the code; for callers that need no reason."""
    try:
        verify(text, trust, now, revocations, window=window)
    except HealthCodeError:
        return False
    return True
