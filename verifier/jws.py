"""JWS JSON serialization (RFC 7515 section 7.2), the envelope of signed lists.

A list signed once is written in the flattened syntax (section 7.2.2); one signed by several
keys (the old and the new trust anchor during a roll-over) in the general syntax (7.2.1). Each
protected header carries its signer's public key as ``jwk`` (section 4.1.3); a verifier trusts
it only when its RFC 7638 thumbprint equals a pinned one (see ``trust``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .keys import b64url, b64url_decode

#: Upper bound on a signed list read from disk or the network.
MAX_JWS_BYTES = 4 * 1024 * 1024
#: Most signatures accepted on one document (two during an anchor roll-over).
MAX_SIGNATURES = 4


#: Deepest nesting of arrays and objects accepted in JSON (a trust list needs five).
MAX_JSON_DEPTH = 16
_MAX_SAFE_INT = 2**53 - 1


class JwsFormatError(ValueError):
    """The text is not a flattened JWS of the expected shape."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("a JSON object has a key twice")
    return obj


def _int(text: str) -> int:
    # Past 2**53 JavaScript's numbers round: the two verifiers would read different values.
    if len(text) > 17 or abs(value := int(text)) > _MAX_SAFE_INT:
        raise ValueError("a JSON integer beyond 2**53")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(data: bytes | str) -> Any:
    """Return the value of strict JSON (RFC 8259) ``data``: UTF-8 without a byte-order mark,
    no NaN or Infinity, no key twice in an object, integers within +-(2**53 - 1), at most
    :data:`MAX_JSON_DEPTH` deep (docs/FORMAT.md, "What a verifier reads").

    Raises ``ValueError`` (``UnicodeDecodeError``, ``JSONDecodeError``) or ``RecursionError``.
    """
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    value = json.loads(text, object_pairs_hook=_object, parse_int=_int,
                       parse_constant=_constant)
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH}")
            stack.extend((x, depth + 1) for x in (item.values() if isinstance(item, dict)
                                                  else item))
    return value


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


def _signed(protected_b64: str, payload_b64: str, payload: bytes, signature_b64: str) -> Jws:
    """One signature over the payload, its header parsed (errors as the callers catch them)."""
    header = loads_json(b64url_decode(protected_b64))
    if not isinstance(header, dict):
        raise JwsFormatError("protected header is not a JSON object")
    return Jws(header, payload, f"{protected_b64}.{payload_b64}".encode("ascii"),
               b64url_decode(signature_b64))


def encode_jws_general(payload: bytes, signatures: list[tuple[str, bytes]]) -> str:
    """Return the general JSON serialization: one payload, several ``(protected, signature)``."""
    document = {"payload": b64url(payload), "signatures": [
        {"protected": protected, "signature": b64url(signature)}
        for protected, signature in signatures]}
    return json.dumps(document, indent=1) + "\n"


def decode_jws_all(data: bytes | str) -> list[Jws]:
    """Parse a flattened or general JWS without checking signatures: one :class:`Jws` per
    signature, all over the same payload.

    Raises :class:`JwsFormatError` as :func:`decode_jws` does, and for a general JWS with no
    signature or more than :data:`MAX_SIGNATURES`.
    """
    if len(data) > MAX_JWS_BYTES:
        raise JwsFormatError(f"larger than {MAX_JWS_BYTES} bytes")
    try:
        document = loads_json(data)
        if not isinstance(document, dict) or "signatures" not in document:
            return [decode_jws(data)]
        signatures = document["signatures"]
        if not isinstance(signatures, list) or not 1 <= len(signatures) <= MAX_SIGNATURES:
            raise JwsFormatError(f"a general JWS needs 1 to {MAX_SIGNATURES} signatures")
        payload_b64 = document["payload"]
        payload = b64url_decode(payload_b64)
        return [_signed(member["protected"], payload_b64, payload, member["signature"])
                for member in signatures]
    except JwsFormatError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeError) as exc:
        raise JwsFormatError(f"not a JWS: {exc!s}") from None


def decode_jws(data: bytes | str) -> Jws:
    """Parse a flattened JWS without checking its signature.

    Raises :class:`JwsFormatError` for oversize input, invalid JSON, missing members or a
    header that is not a JSON object.
    """
    if len(data) > MAX_JWS_BYTES:
        raise JwsFormatError(f"larger than {MAX_JWS_BYTES} bytes")
    try:
        document = loads_json(data)
        payload_b64 = document["payload"]
        return _signed(document["protected"], payload_b64, b64url_decode(payload_b64),
                       document["signature"])
    except JwsFormatError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeError) as exc:
        raise JwsFormatError(f"not a flattened JWS: {exc!s}") from None
