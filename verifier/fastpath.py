"""The verify hot path: one struct unpack for codes laid out exactly as our issuer writes them.

Why hand-written: the signature check is the irreducible work (~120 µs here), and generic
decoding (three CBOR items, claim checks, building the Sig_structure and the DER signature)
costs as much again as half of it; the benchmark's target is that ``verify`` keeps at least
80 % of the bare signature check's throughput (docs/PERFORMANCE.md). This module recognises the
canonical layout with one precompiled ``struct`` per (issuer-id length, variant) and byte
comparisons. Anything else, however slightly different, returns ``None`` *before* any
signature is checked, and ``verify`` takes the general path (``cose``, ``claims``), which is the
reference. The two must agree on every input: a differential test checks that on valid codes
and on thousands of re-signed mutations.

Canonical code (docs/FORMAT.md)::

    d2 84                 tag 18, array(4)
    4d <13 bytes>         protected header a2 01 <alg> 04 48 <8-byte kid>
    a0                    unprotected: empty map
    58 <n>                payload head, then the n-byte claims:
      a5 01 <60+L> <iss, L bytes, 1..23> 06 1a <iat u32> 04 1a <exp u32> 07 4c <cti 12 bytes>
      3a 00 01 00 00 <a2|a3> 01 <colour 00..17> 02 <score: 00..17 | 18 18..ff>
      [03 48 <policy 8 bytes>]
    58 40 <r 32 bytes> <s 32 bytes>
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1\x4d"  # ... and the protected bstr's head
_FIXED = 19 + 3 + 31 + 5 + 66  # every byte but the issuer id's, the long score's and policy's


#: What :func:`read` returns: the parts of the code, none of it verified yet.
Canonical = tuple[bytes, bytes, bytes, bytes, str, int, int, bytes, int, int, bytes | None]


class _Layout(NamedTuple):
    unpack: Callable[[bytes], tuple[Any, ...]]  # the variable fields, in order
    mask: int  # 0xFF on every byte whose value the layout fixes ...
    marks: int  # ... and those values
    long_score: bool
    policy: bool


def _layout(iss_length: int, long_score: bool, policy: bool) -> _Layout:
    # Fixed bytes (bytes) and variable fields (struct format codes), in order.
    parts: list[bytes | str] = [
        b"\xd2\x84\x4d", "13s", b"\xa0\x58", b"?", b"\xa5\x01", bytes((0x60 + iss_length,)),
        f"{iss_length}s", b"\x06\x1a", "I", b"\x04\x1a", "I", b"\x07\x4c", "12s",
        b"\x3a\x00\x01\x00\x00", b"\xa3\x01" if policy else b"\xa2\x01", "B", b"\x02",
        b"\x18" if long_score else b"", "B"]
    if policy:
        parts += [b"\x03\x48", "8s"]
    parts += [b"\x58\x40", "32s", "32s"]
    size = sum(len(p) if isinstance(p, bytes) else struct.calcsize(">" + p) for p in parts)
    parts[3] = bytes((size - 85,))  # the payload's length: all but the 85 COSE bytes
    template, mask, fmt = bytearray(), bytearray(), ">"
    for part in parts:
        if isinstance(part, bytes):
            template += part
            mask += b"\xff" * len(part)
            fmt += f"{len(part)}x"
        else:
            width = struct.calcsize(">" + part)
            template += bytes(width)
            mask += bytes(width)
            fmt += part
    return _Layout(struct.Struct(fmt).unpack, int.from_bytes(mask, "big"),
                   int.from_bytes(template, "big"), long_score, policy)


#: (iss head byte, total length) -> layout, for every issuer-id length and variant.
_LAYOUTS = {
    (0x60 + n, _FIXED + n + long_score + 10 * policy): _layout(n, long_score, policy)
    for n in range(1, 24) for long_score in (False, True) for policy in (False, True)
}


def read(data: bytes) -> Canonical | None:
    """Return ``(protected, Sig_structure, r, s, iss, iat, exp, cti, colour, score, policy)``
    of a canonical code, or ``None`` when ``data`` is anything else."""
    if len(data) <= _FIXED:
        return None
    layout = _LAYOUTS.get((data[21], len(data)))
    if layout is None or int.from_bytes(data, "big") & layout.mask != layout.marks:
        return None
    if layout.policy:
        protected, iss, iat, exp, cti, colour, score, policy, r, s = layout.unpack(data)
    else:
        protected, iss, iat, exp, cti, colour, score, r, s = layout.unpack(data)
        policy = None
    # Shortest form only: a small uint (< 24) is its own head byte; 0x18 introduces 24..255.
    if colour > 0x17 or (score < 24 if layout.long_score else score > 0x17):
        return None
    try:
        issuer = iss.decode("utf-8")
    except UnicodeDecodeError:
        return None
    message = b"".join((_SIG_STRUCTURE_HEAD, protected, b"\x40", data[17:-66]))
    return protected, message, r, s, issuer, iat, exp, cti, colour, score, policy


# DER SEQUENCE head and the INTEGER head of r, and the INTEGER head of s, indexed by
# (r's top bit) | (s's top bit) << 1: an integer whose first byte has the top bit set needs a
# 0x00 pad to stay positive.
_DER_HEADS = (
    (b"\x30\x44\x02\x20", b"\x02\x20"),
    (b"\x30\x45\x02\x21\x00", b"\x02\x20"),
    (b"\x30\x45\x02\x20", b"\x02\x21\x00"),
    (b"\x30\x46\x02\x21\x00", b"\x02\x21\x00"),
)


def es256_der(r: bytes, s: bytes) -> bytes | None:
    """Return the DER ECDSA-Sig-Value of 32-byte ``r`` and ``s``, or ``None`` when either starts
    with a zero byte (1 in 128: the general encoder handles those)."""
    r0, s0 = r[0], s[0]
    if not (r0 and s0):
        return None
    r_head, s_head = _DER_HEADS[(r0 >> 7) | ((s0 >> 7) << 1)]
    return b"".join((r_head, r, s_head, s))
