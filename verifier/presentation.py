"""Holder presentations of device-bound credentials (``HCP1:``), as pure functions over bytes.

A device-bound credential carries the holder's phone key in its ``cnf`` claim (RFC 8747). Shown
bare it is refused (``holder_proof_missing``): a screenshot of it proves nothing. The phone
shows instead a *presentation*, rebuilt every few seconds: a COSE_Sign1 whose payload is the
credential exactly as issued and whose protected header carries the time it was made as a CWT
``iat`` claim (RFC 9597), signed with the phone's non-extractable key. A checkpoint checks the
issuer's signature on the credential, the phone's signature on the presentation, and that the
presentation is no older than a window (a minute by default), all offline in one scan.

The encoding side (:func:`encode_presentation`, :func:`cnf_for`) is here too, so that the
format has one definition; the phone's JavaScript builds the same bytes and is tested
against these functions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from .base45 import b45encode
from .cose import decode_sign1, encode_sign1, loads_strict, sig_structure
from .errors import Reason, VerificationError
from .labels import PRESENTATION_PREFIX, Alg, Claim, Confirmation, CoseKey, Header

#: How old a presentation may be when it is checked, in seconds. The phone rebuilds it every
#: 15 s, so a live screen is never older than that; a photo or a recording soon is.
PRESENTATION_WINDOW = 60
#: How far in the future a presentation's time may lie (the phone's clock running ahead of the
#: checkpoint's). Small: a presentation dated ahead would stay "fresh" that much longer.
PRESENTATION_FUTURE_SKEW = 30
_P256_COORD = 32


class Presentation(NamedTuple):
    """A parsed, unverified presentation: its time, the credential's COSE bytes, and what the
    holder's signature covers."""

    presented_at: int
    credential: bytes
    message: bytes
    signature: bytes


def decode_presentation(data: bytes) -> Presentation:
    """Parse a presentation's COSE_Sign1 without checking anything but its shape.

    Raises :class:`VerificationError`: ``malformed`` unless the protected header is a map with
    an integer ``alg`` and CWT claims holding an integer ``iat``; ``unsupported_algorithm``
    unless ``alg`` is ES256 (what every phone's WebCrypto offers, and the only holder key type
    the format allows).
    """
    sign1 = decode_sign1(data)
    header = loads_strict(sign1.protected, "presentation header")
    if not isinstance(header, dict):
        raise VerificationError(Reason.MALFORMED, "presentation header is not a map")
    alg = header.get(Header.ALG)
    if type(alg) is not int:
        raise VerificationError(Reason.MALFORMED, "presentation header has no alg")
    if alg != Alg.ES256:
        raise VerificationError(Reason.UNSUPPORTED_ALGORITHM,
                                f"holder signature algorithm {alg}: only ES256 is allowed")
    claims = header.get(Header.CWT_CLAIMS)
    at = claims.get(Claim.IAT) if isinstance(claims, dict) else None
    if type(at) is not int or not 0 <= at < 2**32:
        raise VerificationError(Reason.MALFORMED, "presentation header has no time (iat)")
    return Presentation(at, sign1.payload, sig_structure(sign1.protected, sign1.payload),
                        sign1.signature)


def holder_key(cnf: Any) -> ec.EllipticCurvePublicKey:
    """Return the holder's P-256 public key from a credential's ``cnf`` claim.

    Raises :class:`VerificationError` (``invalid_claims``) unless ``cnf`` is
    ``{1: {1: 2, -1: 1, -2: x (32 bytes), -3: sign of y (bool)}}`` naming a point on P-256.
    """
    key = cnf.get(Confirmation.COSE_KEY) if isinstance(cnf, dict) else None
    if not isinstance(key, dict):
        raise VerificationError(Reason.INVALID_CLAIMS, "cnf holds no COSE_Key")
    x, y = key.get(CoseKey.X), key.get(CoseKey.Y)
    kty, crv = key.get(CoseKey.KTY), key.get(CoseKey.CRV)
    # type(...) is int: Python's 2.0 == 2 and True == 1 must not pass for the labels.
    if (type(kty) is not int or kty != CoseKey.KTY_EC2 or type(crv) is not int
            or crv != CoseKey.CRV_P256 or not isinstance(x, bytes) or len(x) != _P256_COORD
            or not isinstance(y, bool)):
        raise VerificationError(Reason.INVALID_CLAIMS,
                                "cnf key is not a compressed EC2 P-256 COSE_Key")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                            bytes((2 + y,)) + x)
    except ValueError:
        raise VerificationError(Reason.INVALID_CLAIMS, "cnf key is not a point on P-256") \
            from None


def cnf_for(public_key: ec.EllipticCurvePublicKey) -> dict[int, Any]:
    """Return the ``cnf`` claim binding a credential to ``public_key`` (P-256, compressed).

    Raises ``ValueError`` for a key on another curve.
    """
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError("a holder key is an ECDSA P-256 key")
    numbers = public_key.public_numbers()
    return {Confirmation.COSE_KEY: {
        CoseKey.KTY: CoseKey.KTY_EC2, CoseKey.CRV: CoseKey.CRV_P256,
        CoseKey.X: numbers.x.to_bytes(_P256_COORD, "big"), CoseKey.Y: bool(numbers.y & 1)}}


def presentation_protected(at: int) -> bytes:
    """Return the serialized protected header of a presentation made at ``at``."""
    return cbor2.dumps({int(Header.ALG): int(Alg.ES256),
                        int(Header.CWT_CLAIMS): {int(Claim.IAT): at}})


def encode_presentation(credential: bytes, at: int, signature: bytes) -> str:
    """Return the text (``HCP1:`` + Base45) of a presentation of ``credential`` (its COSE
    bytes) made at ``at`` with the holder's raw ``signature`` (r||s) over
    :func:`presentation_message`."""
    return PRESENTATION_PREFIX + b45encode(
        encode_sign1(presentation_protected(at), credential, signature))


def presentation_message(credential: bytes, at: int) -> bytes:
    """Return the bytes the holder signs: the COSE Sig_structure of the presentation."""
    return sig_structure(presentation_protected(at), credential)
