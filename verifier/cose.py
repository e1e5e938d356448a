"""COSE_Sign1 (RFC 9052 section 4.2) as pure functions over bytes.

Encoding is here too, so that the issuer and the verifier cannot disagree on the format; the
issuer imports this module, never the other way round.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cbor2

from .cborscan import scan
from .errors import Reason, VerificationError
from .labels import COSE_SIGN1_TAG, Alg, Header

# Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]; the constant
# head is an array of 4 then the text "Signature1".
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"
_EMPTY_BSTR = b"\x40"


class Sign1(NamedTuple):
    """A parsed, unverified COSE_Sign1: the raw byte strings, exactly as signed."""

    protected: bytes
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes


def _bstr_head(length: int) -> bytes:
    """Return the CBOR head of a byte string of ``length`` bytes (major type 2)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Return the bytes a COSE_Sign1 signature covers (no external AAD)."""
    return b"".join((
        _SIG_STRUCTURE_HEAD,
        _bstr_head(len(protected)), protected,
        _EMPTY_BSTR,
        _bstr_head(len(payload)), payload,
    ))


def encode_protected(alg: Alg, kid: bytes) -> bytes:
    """Return the serialized protected header carrying ``alg`` and ``kid``."""
    return cbor2.dumps({Header.ALG: int(alg), Header.KID: kid})


def encode_sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    """Return a tagged COSE_Sign1 with an empty unprotected header."""
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def loads_strict(data: bytes, what: str, *, tag: int | None = None) -> Any:
    """Decode exactly one CBOR item filling ``data``, of the CBOR a verifier reads
    (:mod:`verifier.cborscan`: no semantic tags but ``tag`` around the outermost item, map keys
    only distinct integers and texts, at most 16 deep).

    Raises :class:`VerificationError` (``malformed``) for anything else, invalid CBOR or
    trailing bytes. cbor2 only ever sees bytes the scan accepted; its errors never escape.
    """
    try:
        scan(data, tag)
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise VerificationError(Reason.MALFORMED, f"{what}: invalid CBOR ({exc})") from None


def decode_sign1(data: bytes) -> Sign1:
    """Parse a tagged COSE_Sign1 without checking its signature.

    Raises :class:`VerificationError` (``malformed``) unless ``data`` is exactly one CBOR tag 18
    around ``[bstr, map, bstr, bstr]``.
    """
    item = loads_strict(data, "COSE_Sign1", tag=COSE_SIGN1_TAG)
    if not isinstance(item, cbor2.CBORTag):
        raise VerificationError(Reason.MALFORMED, "not a tagged COSE_Sign1")
    value = item.value
    if not (isinstance(value, list) and len(value) == 4):
        raise VerificationError(Reason.MALFORMED, "COSE_Sign1 is not an array of four")
    protected, unprotected, payload, signature = value
    if not (isinstance(protected, bytes) and isinstance(unprotected, dict)
            and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise VerificationError(Reason.MALFORMED, "COSE_Sign1 members have the wrong types")
    return Sign1(protected, unprotected, payload, signature)


def decode_protected(protected: bytes) -> tuple[int, bytes]:
    """Return ``(alg, kid)`` from a serialized protected header.

    Raises :class:`VerificationError`: ``malformed`` when the header is not a map holding an
    integer ``alg`` and a byte-string ``kid``.
    """
    header = loads_strict(protected, "protected header")
    if not isinstance(header, dict):
        raise VerificationError(Reason.MALFORMED, "protected header is not a map")
    alg = header.get(Header.ALG)
    kid = header.get(Header.KID)
    if type(alg) is not int or not isinstance(kid, bytes) or not kid:
        raise VerificationError(Reason.MALFORMED, "protected header lacks alg or kid")
    return alg, kid
