"""Load the JSON known-answer vectors and the trust lists they describe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from verifier.keys import b64url_decode, jwk_to_key
from verifier.trust import TrustedKey, TrustList

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / name).read_text())


def trust_from(entries: list[dict[str, Any]]) -> TrustList:
    """A TrustList holding the vector's keys (built directly: the vectors are the trust)."""
    keys = {}
    for entry in entries:
        public, alg, kid = jwk_to_key(entry["jwk"])
        keys[kid] = TrustedKey(kid, alg, public, entry["iss"], entry["nbf"], entry["exp"],
                               entry["jwk"])
    return TrustList(keys=keys, issuers={e["iss"]: e["iss"] for e in entries}, sequence=1,
                     issued_at=0, expires_at=2**32)


def private_key(jwk: dict[str, str]):
    d = b64url_decode(jwk["d"])
    if jwk["kty"] == "OKP":
        return ed25519.Ed25519PrivateKey.from_private_bytes(d)
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
