"""Public keys: JWK (RFC 7517) in and out, key ids, and signature checks per algorithm.

A key id is the first :data:`KID_LENGTH` characters of the base64url RFC 7638 JWK thumbprint
(SHA-256 over the canonical JSON of the key's required members): anyone holding the public key
can recompute it. The same ASCII characters are the JWK ``kid`` (a string) and the COSE ``kid``
(bytes), so JOSE and COSE libraries that map one to the other as UTF-8 (python-cwt, for one)
find the key; 48 bits tell a trust list's keys apart, and the list is signed, so ids need no
resistance to forgery.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import Reason, VerificationError
from .fastpath import es256_der
from .labels import Alg

KID_LENGTH = 8  # characters, i.e. bytes in the COSE header
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
_P256_COORD = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class KeyFormatError(ValueError):
    """A JWK or key file is not a usable public key of an allowed algorithm."""


def b64url(data: bytes) -> str:
    """Return unpadded base64url text (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Return the bytes of unpadded base64url ``text`` (only ``A-Z a-z 0-9 - _``, a length
    that is not 1 more than a multiple of 4); raises ``ValueError`` for anything else.

    Checked here because ``base64.urlsafe_b64decode`` skips characters outside the alphabet."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url text")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def p256_key(x: object, y: object) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK's ``x`` and ``y`` (base64url); raises ``ValueError``
    unless they are two 32-byte coordinates of a point of the curve."""
    x_bytes, y_bytes = b64url_decode(x), b64url_decode(y)  # type: ignore[arg-type]
    if len(x_bytes) != _P256_COORD or len(y_bytes) != _P256_COORD:
        raise ValueError("P-256 coordinates are 32 bytes")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                        b"\x04" + x_bytes + y_bytes)


def _required_members(key: PublicKey) -> dict[str, str]:
    """The JWK members RFC 7638 hashes, in lexicographic order."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFormatError("only P-256 EC keys are allowed")
        numbers = key.public_numbers()
        return {"crv": "P-256", "kty": "EC",
                "x": b64url(numbers.x.to_bytes(_P256_COORD, "big")),
                "y": b64url(numbers.y.to_bytes(_P256_COORD, "big"))}
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")


def thumbprint(key: PublicKey) -> bytes:
    """Return the RFC 7638 SHA-256 JWK thumbprint of ``key`` (32 bytes)."""
    canonical = json.dumps(_required_members(key), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("ascii")).digest()


def kid_for(key: PublicKey) -> bytes:
    """Return the key id of ``key``: :data:`KID_LENGTH` ASCII characters of its thumbprint."""
    return b64url(thumbprint(key))[:KID_LENGTH].encode("ascii")


def kid_text(kid: bytes) -> str:
    """Return a key id for display: its characters, or hex if it is not printable ASCII."""
    if kid.isascii() and kid.decode("ascii").isprintable():
        return kid.decode("ascii")
    return kid.hex()


def alg_for(key: PublicKey) -> Alg:
    """Return the one algorithm a key of this type is used with."""
    return Alg.EDDSA if isinstance(key, ed25519.Ed25519PublicKey) else Alg.ES256


def key_to_jwk(key: PublicKey) -> dict[str, str]:
    """Return the public JWK of ``key`` with ``kid``, ``alg`` and ``use``."""
    jwk = _required_members(key)
    return {**jwk, "kid": kid_for(key).decode("ascii"), "alg": alg_for(key).jose_name, "use": "sig"}


def jwk_to_key(jwk: Any) -> tuple[PublicKey, Alg, bytes]:
    """Return ``(public key, pinned algorithm, kid)`` from a public JWK.

    The ``kid`` must be the one derived from the key, and ``alg`` must fit the key type.
    Raises :class:`KeyFormatError` otherwise, or when the JWK holds a private member.
    """
    if not isinstance(jwk, dict):
        raise KeyFormatError("a JWK is a JSON object")
    if "d" in jwk:
        raise KeyFormatError("the JWK holds a private key")
    try:
        kty, crv = jwk["kty"], jwk["crv"]
        if kty == "EC" and crv == "P-256":
            key: PublicKey = p256_key(jwk["x"], jwk["y"])
        elif kty == "OKP" and crv == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        else:
            raise KeyFormatError(f"unsupported key type {kty}/{crv}")
        alg = Alg.from_jose(jwk["alg"])
        kid = jwk["kid"].encode("ascii")
    except KeyFormatError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise KeyFormatError(f"invalid JWK: {exc!s}") from None
    if alg is not alg_for(key):
        raise KeyFormatError(f"alg {alg.jose_name} does not fit the key type")
    if kid != kid_for(key):
        raise KeyFormatError("kid is not the key's thumbprint")
    return key, alg, kid


def verify_signature(key: PublicKey, alg: Alg, message: bytes, signature: bytes) -> None:
    """Check that ``signature`` (COSE/JOSE raw form: r||s for ES256) signs ``message``.

    Raises :class:`VerificationError` (``bad_signature``) when it does not.
    """
    try:
        if alg is Alg.ES256:
            if len(signature) != 2 * _P256_COORD:
                raise InvalidSignature
            r, s = signature[:_P256_COORD], signature[_P256_COORD:]
            der = es256_der(r, s) or encode_dss_signature(int.from_bytes(r, "big"),
                                                          int.from_bytes(s, "big"))
            key.verify(der, message, _ECDSA_SHA256)  # type: ignore[call-arg]
        else:
            key.verify(signature, message)  # type: ignore[call-arg]
    except InvalidSignature:
        raise VerificationError(Reason.BAD_SIGNATURE) from None
