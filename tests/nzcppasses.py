"""NZ COVID Passes made for tests: a test issuer's DID document and passes it signs, each claim,
header and envelope part replaceable, so every refusal can be reached with a good signature."""

from __future__ import annotations

import base64
import copy
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from verifier.cose import sig_structure
from verifier.keys import b64url

#: The test issuer (``.example`` is reserved: no such issuer exists).
TEST_DID = "did:web:issuer.example"
KEY = ec.derive_private_key(0x5EED_0F_7E57, ec.SECP256R1())
OTHER_KEY = ec.derive_private_key(0x07E4_0F_7E57, ec.SECP256R1())
NBF, EXP = 1_700_000_000, 1_800_000_000
#: Removes a member in :func:`claims_with`.
DROP = object()

CLAIMS: dict[Any, Any] = {
    1: TEST_DID, 5: NBF, 4: EXP,
    "vc": {"@context": ["https://www.w3.org/2018/credentials/v1",
                        "https://nzcp.covid19.health.nz/contexts/v1"],
           "version": "1.0.0", "type": ["VerifiableCredential", "PublicCovidPass"],
           "credentialSubject": {"givenName": "Kiri", "familyName": "Ngata",
                                 "dob": "1984-02-29"}},
    7: bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
}


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def did_document(did: str = TEST_DID, keys: dict[str, ec.EllipticCurvePrivateKey] | None = None,
                 assertion: list[str] | None = None) -> dict[str, Any]:
    """A DID document of ``keys`` (fragment -> key; default ``key-1``: :data:`KEY`), those in
    ``assertion`` (default: all) allowed to sign passes."""
    keys = {"key-1": KEY} if keys is None else keys
    return {"@context": "https://w3.org/ns/did/v1", "id": did,
            "verificationMethod": [{"id": f"{did}#{fragment}", "controller": did,
                                    "type": "JsonWebKey2020", "publicKeyJwk": public_jwk(key)}
                                   for fragment, key in keys.items()],
            "assertionMethod": [f"{did}#{fragment}" for fragment in
                                (keys if assertion is None else assertion)]}


def set_at(target: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``target`` with the item at ``path`` (keys and indexes) set to ``value`` (``DROP``:
    removed), changed in place."""
    parent = target
    for step in path[:-1]:
        parent = parent[step]
    if value is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return target


def claims_with(*changes: tuple[tuple[Any, ...], Any]) -> dict[Any, Any]:
    """:data:`CLAIMS` with each ``(path, value)`` set (``DROP``: removed)."""
    claims = copy.deepcopy(CLAIMS)
    for path, value in changes:
        set_at(claims, path, value)
    return claims


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    der = key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def cose(claims: Any = None, *, header: Any = None, key: ec.EllipticCurvePrivateKey = KEY,
         unprotected: Any = None, payload: bytes | None = None) -> bytes:
    """A tagged COSE_Sign1 of ``claims`` (default :data:`CLAIMS`), protected ``header``
    (default ``{4: b"key-1", 1: -7}``), signed by ``key``."""
    protected = cbor2.dumps({4: b"key-1", 1: -7} if header is None else header)
    if payload is None:
        payload = cbor2.dumps(CLAIMS if claims is None else claims)
    signature = sign(key, sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {} if unprotected is None else unprotected,
                                          payload, signature]))


def text(data: bytes, version: str = "1") -> str:
    """The QR text of COSE bytes: ``NZCP:/<version>/`` and base32 without padding."""
    return f"NZCP:/{version}/" + base64.b32encode(data).decode("ascii").rstrip("=")


def make_pass(claims: Any = None, **kwargs: Any) -> str:
    """The QR text of :func:`cose`."""
    return text(cose(claims, **kwargs))
