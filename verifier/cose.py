"""COSE_Sign1 (RFC 9052 section 4.2) as pure functions over bytes.

Encoding is here too, so that the issuer and the verifier cannot disagree on the format; the
issuer imports this module, never the other way round.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, NamedTuple

import cbor2

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


class Tag:
    """A CBOR tag of a number cbor2 gives no type (18: COSE_Sign1), as :func:`loads_strict`
    returns it: the number and the content, equal and hashed by both.

    Not cbor2's ``CBORTag``: its C hash, when it fails (a tag that contains itself, or an
    unhashable value, used as a map key), leaves the tag's address in a thread-local set, and
    any later tag allocated at that address is then refused too: verdicts would depend on
    what was decoded before. This one hashes in plain Python and keeps no state.
    """

    __slots__ = ("tag", "value")

    def __init__(self, tag: int, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self) -> int:
        return hash((self.tag, self.value))

    def __repr__(self) -> str:
        return f"Tag({self.tag}, {self.value!r})"


def _contains(value: Any, target: object) -> bool:
    """Whether ``target`` is reachable from ``value`` through containers and tags."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if item is target:
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (Tag, cbor2.CBORTag)):
            stack.append(item.value)
    return False


def _tag_hook(decoder: cbor2.CBORDecoder, tag: cbor2.CBORTag) -> Tag:
    # Only shared references (tags 28, 29) can make a tag contain itself; refusing that here
    # keeps cbor2's C hash of the original tag from ever running.
    if _contains(tag.value, tag):
        raise cbor2.CBORDecodeValueError("a tag that contains itself")
    return Tag(tag.tag, tag.value)


def loads_strict(data: bytes, what: str) -> Any:
    """Decode exactly one CBOR item filling ``data``.

    Raises :class:`VerificationError` (``malformed``) for invalid CBOR, nesting deeper than the
    decoder allows, or trailing bytes. cbor2's own errors never escape.
    """
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, tag_hook=_tag_hook).decode()
    # ArithmeticError: cbor2 builds Decimals for tags 4 and 5, which raise decimal.Overflow or
    # InvalidOperation (not ValueError) on a huge exponent or a bad mantissa. RuntimeError
    # (RecursionError's base): hashing a map key that refers to itself (tags 28 and 29).
    except (cbor2.CBORDecodeError, ValueError, TypeError, ArithmeticError, RuntimeError,
            MemoryError, LookupError) as exc:
        raise VerificationError(Reason.MALFORMED, f"{what}: invalid CBOR ({exc})") from None
    if stream.tell() != len(data):
        raise VerificationError(Reason.MALFORMED, f"{what}: trailing bytes after CBOR item")
    return value


def decode_sign1(data: bytes) -> Sign1:
    """Parse a tagged COSE_Sign1 without checking its signature.

    Raises :class:`VerificationError` (``malformed``) unless ``data`` is exactly one CBOR tag 18
    around ``[bstr, map, bstr, bstr]``.
    """
    item = loads_strict(data, "COSE_Sign1")
    if not isinstance(item, Tag) or item.tag != COSE_SIGN1_TAG:
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
