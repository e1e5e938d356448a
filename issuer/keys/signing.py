"""Sign credentials and signed lists with the issuer's keys (deterministic ECDSA, RFC 6979)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from verifier.base45 import b45encode
from verifier.claims import CTI_LENGTH, IdCheck, encode_claims
from verifier.cose import encode_protected, encode_sign1, sig_structure
from verifier.jws import encode_header, encode_jws, encode_jws_general, signing_input
from verifier.keys import alg_for, key_to_jwk, kid_for
from verifier.labels import CREDENTIAL_PREFIX, Colour

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
# RFC 6979: the same key and message always give the same signature, so test vectors are
# reproducible and no signature depends on the quality of a nonce generator.
_DETERMINISTIC_ES256 = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_P256_COORD = 32


def sign_raw(key: PrivateKey, message: bytes) -> bytes:
    """Return the COSE/JOSE raw signature (r||s for ES256) of ``message``."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(message, _DETERMINISTIC_ES256))
        return r.to_bytes(_P256_COORD, "big") + s.to_bytes(_P256_COORD, "big")
    return key.sign(message)


class Signed(NamedTuple):
    """A credential just signed: its QR text and the credential id inside it."""

    text: str
    cti: bytes


@lru_cache(maxsize=8)
def _protected(key: PrivateKey) -> bytes:
    """The protected header of what ``key`` signs. Cached per key object: the key id is a
    hash of the public key, worth computing once, not per credential (a few keys at most,
    one per rotation, are held)."""
    public = key.public_key()
    return encode_protected(alg_for(public), kid_for(public))


def sign_cose(key: PrivateKey, payload: bytes) -> bytes:
    """Return a COSE_Sign1 over ``payload`` with ``alg`` and ``kid`` in the protected header."""
    protected = _protected(key)
    return encode_sign1(protected, payload, sign_raw(key, sig_structure(protected, payload)))


def sign_credential(key: PrivateKey, *, iss: str, colour: Colour | str, score: int, iat: int,
                    ttl: int, policy: bytes | None = None, cti: bytes | None = None,
                    cnf: dict[Any, Any] | None = None, id_check: IdCheck | None = None,
                    family: bool = False) -> Signed:
    """Return a new credential valid from ``iat`` for ``ttl`` seconds (``cnf``: bound to the
    holder's phone key; ``id_check``: a static code's check-ID fields; ``family``: a
    dependant's code on a guardian's phone, with ``cnf``) as its QR text and its ``cti``,
    which is fresh and random unless given (test vectors).

    Raises ``ValueError`` for claims the verifier would reject (unknown colour, score outside
    0–100, non-positive ttl, …).
    """
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    cti = secrets.token_bytes(CTI_LENGTH) if cti is None else cti
    payload = encode_claims(iss=iss, iat=iat, exp=iat + ttl, cti=cti, colour=Colour(colour),
                            score=score, policy=policy, cnf=cnf, id_check=id_check,
                            family=family)
    return Signed(CREDENTIAL_PREFIX + b45encode(sign_cose(key, payload)), cti)


def issue_credential(key: PrivateKey, *, iss: str, colour: Colour | str, score: int, iat: int,
                     ttl: int, policy: bytes | None = None, cti: bytes | None = None,
                     cnf: dict[Any, Any] | None = None, id_check: IdCheck | None = None,
                     family: bool = False) -> str:
    """Return the QR text of a new credential: :func:`sign_credential`'s ``text``."""
    return sign_credential(key, iss=iss, colour=colour, score=score, iat=iat, ttl=ttl,
                           policy=policy, cti=cti, cnf=cnf, id_check=id_check,
                           family=family).text


def _jws_header(key: PrivateKey, typ: str) -> str:
    public = key.public_key()
    jwk = {k: v for k, v in key_to_jwk(public).items() if k != "use"}
    return encode_header({"alg": alg_for(public).jose_name, "typ": typ, "jwk": jwk})


def sign_jws(key: PrivateKey, payload: bytes, typ: str) -> str:
    """Return a flattened JWS of ``payload`` whose header carries the signer's public JWK."""
    protected = _jws_header(key, typ)
    return encode_jws(protected, payload, sign_raw(key, signing_input(protected, payload)))


def sign_jws_multi(keys: list[PrivateKey], payload: bytes, typ: str) -> str:
    """Return ``payload`` signed by every key: flattened for one key, general JSON for more."""
    if len(keys) == 1:
        return sign_jws(keys[0], payload, typ)
    signatures = []
    for key in keys:
        protected = _jws_header(key, typ)
        signatures.append((protected, sign_raw(key, signing_input(protected, payload))))
    return encode_jws_general(payload, signatures)
