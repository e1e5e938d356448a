"""The CBOR a verifier reads (docs/FORMAT.md, "What a verifier reads"), checked before cbor2.

Codes, presentations and revocation lists reach a checkpoint from strangers, and some of their
bytes (the unprotected header) are signed by nobody. cbor2 is a general-purpose decoder: it
builds dates, Decimals, regular expressions, shared references and more from semantic tags,
and Python's ``1 == 1.0 == True`` merges map keys. None of that belongs in our format, so
:func:`scan` refuses it before cbor2 sees the bytes, and what cbor2 then builds is plain data
that the JavaScript verifier reads the same way by construction.

Accepted: integers (major types 0 and 1, any head length); byte and text strings, definite or
indefinite (chunks of the same major type, definite); arrays and maps, definite or indefinite;
false, true, null, undefined; half, single and double floats; tag 18 (COSE_Sign1) only as the
outermost item and only where the caller names it; and, only where the caller lists them as
``inner_tags``, those tags around any value that is not a map key (a foreign format's payload
may carry standard date tags, 0 and 1: the EU certificate's). Map keys are integers or text
strings, no two equal. Nesting is at most :data:`MAX_DEPTH` deep. Anything else raises
:class:`CborRefused`. One pass, linear in the input, recursion bounded by :data:`MAX_DEPTH`.
"""

from __future__ import annotations

#: Deepest nesting accepted (the outermost item is at depth 0); our structures need five.
MAX_DEPTH = 16
_BREAK = 0xFF
_SIMPLE_OK = frozenset((20, 21, 22, 23, 25, 26, 27))  # false true null undefined, floats


class CborRefused(ValueError):
    """The bytes are not one item of the CBOR a verifier reads."""


def scan(data: bytes, tag: int | None = None, *,
         inner_tags: frozenset[int] = frozenset()) -> None:
    """Check that ``data`` is exactly one item of the accepted CBOR; ``tag`` (if given) may
    wrap the outermost item, ``inner_tags`` any value that is not a map key (each tag counts
    as a level of nesting). Raises :class:`CborRefused` otherwise."""
    end = _Scanner(data, tag, inner_tags).item(0, 0)[0]
    if end != len(data):
        raise CborRefused("trailing bytes after CBOR item")


class _Scanner:
    __slots__ = ("data", "inner_tags", "tag")

    def __init__(self, data: bytes, tag: int | None, inner_tags: frozenset[int]) -> None:
        self.data = data
        self.tag = tag
        self.inner_tags = inner_tags

    def head(self, pos: int) -> tuple[int, int, int, int]:
        """``(major, info, argument, position after the head)``; the argument is -1 for an
        indefinite length (info 31), checked by the caller."""
        data = self.data
        if pos >= len(data):
            raise CborRefused("truncated CBOR")
        initial = data[pos]
        major, info = initial >> 5, initial & 0x1F
        pos += 1
        if info < 24:
            return major, info, info, pos
        if info < 28:
            size = 1 << (info - 24)
            if pos + size > len(data):
                raise CborRefused("truncated CBOR")
            return major, info, int.from_bytes(data[pos:pos + size], "big"), pos + size
        if info == 31:
            return major, info, -1, pos
        raise CborRefused(f"reserved additional information {info}")

    def item(self, pos: int, depth: int) -> tuple[int, int | bytes | None]:
        """Check the item at ``pos``; return the position after it and, for an integer or a
        text string (what may be a map key), its value (text as its UTF-8 bytes)."""
        if depth > MAX_DEPTH:
            raise CborRefused(f"nested deeper than {MAX_DEPTH}")
        major, info, n, pos = self.head(pos)
        if major < 2:
            if n < 0:
                raise CborRefused("an integer has no indefinite length")
            return pos, n if major == 0 else -1 - n
        if major < 4:
            return self.string(pos, major, n)
        if major < 6:
            return self.container(pos, major, n, depth), None
        if major == 6:
            if n in self.inner_tags:
                return self.item(pos, depth + 1)[0], None
            if depth or n != self.tag or self.tag is None:
                raise CborRefused(f"tag {n} is not part of the format")
            return self.item(pos, depth + 1)[0], None
        if info not in _SIMPLE_OK:
            raise CborRefused("break outside an indefinite item" if info == 31
                              else f"simple value {n} is not part of the format")
        return pos, None  # a float's bytes are its head's argument

    def string(self, pos: int, major: int, n: int) -> tuple[int, bytes | None]:
        data = self.data
        if n >= 0:
            if pos + n > len(data):
                raise CborRefused("truncated CBOR")
            return pos + n, data[pos:pos + n] if major == 3 else None
        chunks = []
        while True:
            if pos < len(data) and data[pos] == _BREAK:
                return pos + 1, b"".join(chunks) if major == 3 else None
            chunk_major, _, length, pos = self.head(pos)
            if chunk_major != major or length < 0:
                raise CborRefused("an indefinite string holds a chunk of another kind")
            if pos + length > len(data):
                raise CborRefused("truncated CBOR")
            if major == 3:
                chunks.append(data[pos:pos + length])
            pos += length

    def container(self, pos: int, major: int, n: int, depth: int) -> int:
        data, is_map = self.data, major == 5
        keys: set[int | bytes] = set()
        count = 0
        while n < 0 or count < n:
            if n < 0 and pos < len(data) and data[pos] == _BREAK:
                return pos + 1
            if is_map:
                if pos < len(data) and data[pos] >> 5 not in (0, 1, 3):
                    raise CborRefused("a map key is neither an integer nor a text string")
                pos, key = self.item(pos, depth + 1)
                if key in keys:
                    raise CborRefused("a map key appears twice")
                keys.add(key)  # type: ignore[arg-type]
            pos = self.item(pos, depth + 1)[0]
            count += 1
        return pos
