"""Verify a health code's text offline: signature, key, time and claims.

Order matters: nothing inside the payload is trusted before the signature over it is checked,
and the key and algorithm come from the trust list, never from the code.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .base45 import Base45Error, b45decode
from .claims import Credential, parse_claims
from .cose import decode_protected, decode_sign1, sig_structure
from .errors import HealthCodeError, Reason, VerificationError
from .keys import kid_text, verify_signature
from .labels import CREDENTIAL_PREFIX, Alg
from .trust import TrustList

#: Allowed difference between the issuer's clock and the verifier's, in seconds: a code is
#: still accepted up to this long after ``exp``, and one whose ``iat`` is up to this far in the
#: future is not refused as ``not_yet_valid``. Five minutes covers checkpoint devices whose
#: clocks are set by hand; it is small next to a credential lifetime of hours.
CLOCK_SKEW = 300
#: Longest code text accepted: a static credential is ~220 characters; device-bound
#: presentations stay well under this. Anything longer is refused before any parsing.
MAX_TEXT_LENGTH = 2048

Now = int | float | datetime | None


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
    sign1 = _decode_text(text)
    alg, kid = decode_protected(sign1.protected)
    return parse_claims(sign1.payload, kid=kid, alg=_known_alg(alg, kid))


def _decode_text(text: str):  # -> Sign1
    if not isinstance(text, str):
        raise VerificationError(Reason.MALFORMED, "a code is text")
    if len(text) > MAX_TEXT_LENGTH:
        raise VerificationError(Reason.MALFORMED, f"longer than {MAX_TEXT_LENGTH} characters")
    if not text.startswith(CREDENTIAL_PREFIX):
        raise VerificationError(Reason.MALFORMED,
                                f"not a health code (no {CREDENTIAL_PREFIX} prefix)")
    try:
        data = b45decode(text[len(CREDENTIAL_PREFIX):])
    except Base45Error as exc:
        raise VerificationError(Reason.MALFORMED, f"bad Base45: {exc}") from None
    return decode_sign1(data)


def _known_alg(alg: int, kid: bytes) -> Alg:
    try:
        return Alg(alg)
    except ValueError:
        raise VerificationError(Reason.UNSUPPORTED_ALGORITHM, f"COSE algorithm {alg}",
                                kid=kid_text(kid)) from None


def verify(text: str, trust: TrustList, now: Now = None) -> Credential:
    """Verify a code's text and return its :class:`Credential`.

    ``now`` defaults to the clock. Raises :class:`VerificationError` whose ``reason`` is one of
    ``malformed``, ``unsupported_algorithm``, ``unknown_key``, ``bad_signature``,
    ``key_not_valid``, ``invalid_claims``, ``expired``, ``not_yet_valid``,
    ``holder_proof_missing``; or :class:`TrustListError` if ``trust`` has expired.
    """
    at = to_epoch(now)
    trust.check_current(at)
    sign1 = _decode_text(text)
    alg_id, kid = decode_protected(sign1.protected)
    alg = _known_alg(alg_id, kid)
    key = trust.key(kid)
    if alg is not key.alg:
        # The key's pinned algorithm wins over whatever the header claims.
        raise VerificationError(Reason.UNSUPPORTED_ALGORITHM,
                                f"header says {alg.jose_name}, key is {key.alg.jose_name}",
                                kid=kid_text(kid))
    try:
        verify_signature(key.public_key, alg, sig_structure(sign1.protected, sign1.payload),
                         sign1.signature)
    except VerificationError as exc:
        exc.context["kid"] = kid_text(kid)
        raise
    credential = parse_claims(sign1.payload, kid=kid, alg=alg)
    _check_key_and_time(credential, key.iss, key.not_before, key.not_after, at)
    if credential.cnf is not None:
        raise VerificationError(Reason.HOLDER_PROOF_MISSING, kid=kid_text(kid))
    return credential


def _check_key_and_time(cred: Credential, key_iss: str, nbf: int, naf: int, now: int) -> None:
    context = {"kid": kid_text(cred.kid), "exp": cred.exp, "now": now}
    if cred.iss != key_iss:
        raise VerificationError(Reason.KEY_NOT_VALID,
                                f"key belongs to issuer {key_iss!r}, code says {cred.iss!r}",
                                **context)
    # Expiry first: for a code that is long dead, "expired" is the useful answer.
    if now > cred.exp + CLOCK_SKEW:
        raise VerificationError(Reason.EXPIRED, **context)
    if cred.iat > now + CLOCK_SKEW:
        raise VerificationError(Reason.NOT_YET_VALID, **context)
    if not nbf <= cred.iat <= naf:
        raise VerificationError(Reason.KEY_NOT_VALID,
                                "issued outside the signing key's validity window", **context)


def is_valid(text: str, trust: TrustList, now: Now = None) -> bool:
    """Return whether :func:`verify` accepts the code; for callers that need no reason."""
    try:
        verify(text, trust, now)
    except HealthCodeError:
        return False
    return True
