"""JWS flattened JSON serialization (RFC 7515 section 7.2.2), the envelope of signed lists.

The protected header carries the signer's public key as ``jwk`` (RFC 7515 section 4.1.3); a
verifier trusts it only when its RFC 7638 thumbprint equals a pinned one (see ``trust``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .keys import b64url, b64url_decode

#: Upper bound on a signed list read from disk or the network.
MAX_JWS_BYTES = 4 * 1024 * 1024


class JwsFormatError(ValueError):
    """The text is not a flattened JWS of the expected shape."""


class Jws(NamedTuple):
    """A parsed, unverified JWS."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def encode_header(header: dict[str, Any]) -> str:
    """Return the base64url of a protected header."""
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def signing_input(protected_b64: str, payload: bytes) -> bytes:
    """Return the bytes a JWS signature covers."""
    return f"{protected_b64}.{b64url(payload)}".encode("ascii")


def encode_jws(protected_b64: str, payload: bytes, signature: bytes) -> str:
    """Return the flattened JSON serialization, one member per line for readable diffs."""
    document = {"payload": b64url(payload), "protected": protected_b64,
                "signature": b64url(signature)}
    return json.dumps(document, indent=1) + "\n"


def decode_jws(data: bytes | str) -> Jws:
    """Parse a flattened JWS without checking its signature.

    Raises :class:`JwsFormatError` for oversize input, invalid JSON, missing members or a
    header that is not a JSON object.
    """
    if len(data) > MAX_JWS_BYTES:
        raise JwsFormatError(f"larger than {MAX_JWS_BYTES} bytes")
    try:
        document = json.loads(data)
        protected_b64, payload_b64, signature_b64 = (
            document["protected"], document["payload"], document["signature"])
        header = json.loads(b64url_decode(protected_b64))
        payload = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
        if not isinstance(header, dict):
            raise JwsFormatError("protected header is not a JSON object")
        return Jws(header, payload, f"{protected_b64}.{payload_b64}".encode("ascii"), signature)
    except JwsFormatError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeError) as exc:
        raise JwsFormatError(f"not a flattened JWS: {exc!s}") from None
