"""Base45 (RFC 9285): bytes <-> the QR alphanumeric character set.

Hand-written rather than the ``base45`` package: decoding sits on the verify hot path, and the
package's per-character loop costs about as much as a third of an ES256 verify. Here decoding is
done on whole columns at once with big-integer arithmetic (see :func:`b45decode`), several times
faster (``make bench``, docs/PERFORMANCE.md). Tests check both directions against the RFC's
examples and against the package.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from itertools import repeat

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_DECODE_TABLE = bytes(
    ALPHABET.index(chr(c)) if chr(c) in ALPHABET else _INVALID for c in range(256)
)
# Every value below 45*45 as its two low-order characters, so encoding a 16-bit group is one
# divmod and two lookups.
_PAIRS = [ALPHABET[r % 45] + ALPHABET[r // 45] for r in range(45 * 45)]


class Base45Error(ValueError):
    """The text is not valid Base45 (bad character, bad length, or a group out of range)."""


@lru_cache(maxsize=1)
def _triples() -> list[str]:
    """Every 16-bit group as its three characters: encoding is then one lookup a group, twice
    as fast. Built on first use (a few ms, ~4 MB), so only a process that encodes pays."""
    return [_PAIRS[r] + ALPHABET[e] for e, r in map(divmod, range(1 << 16), repeat(2025))]


def b45encode(data: bytes) -> str:
    """Return the Base45 text of ``data``."""
    n_pairs = len(data) // 2
    groups = struct.unpack(f">{n_pairs}H", data[: 2 * n_pairs])
    text = "".join(map(_triples().__getitem__, groups))
    if len(data) % 2:
        text += _PAIRS[data[-1]]
    return text


@lru_cache(maxsize=64)
def _column_masks(n_groups: int) -> tuple[int, int, int]:
    one_per_group = int.from_bytes(b"\x00\x00\x01" * n_groups, "big")
    return one_per_group * 0xFF0000, one_per_group * 0xFF00, one_per_group * 0xFF


def b45decode(text: str) -> bytes:
    """Return the bytes encoded by ``text``.

    Raises :class:`Base45Error` for a character outside the alphabet, a length of 3k+1, or a
    group whose value does not fit its bytes.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise Base45Error("non-ASCII character") from None
    digits = raw.translate(_DECODE_TABLE)
    if _INVALID in digits:
        raise Base45Error("character outside the Base45 alphabet")
    n_groups, rest = divmod(len(digits), 3)
    if rest == 1:
        raise Base45Error("length is 3k+1")
    end = 3 * n_groups
    # Read the digits c d e of every group as one big integer with a 3-byte slot per group,
    # then compute c + 45 d + 2025 e in every slot at once. The largest value, 91124, fits a
    # slot, so no carry crosses slots; a group is valid iff the top byte of its slot is zero.
    slots = int.from_bytes(digits[:end], "big")
    mask_c, mask_d, mask_e = _column_masks(n_groups)
    values = ((slots & mask_c) >> 16) + 45 * ((slots & mask_d) >> 8) + 2025 * (slots & mask_e)
    if values & mask_c:
        raise Base45Error("group value out of range")
    out = bytearray(values.to_bytes(end, "big"))
    del out[0::3]  # drop every slot's (zero) top byte, leaving the two bytes of each group
    if rest:
        last = digits[end] + 45 * digits[end + 1]
        if last > 0xFF:
            raise Base45Error("group value out of range")
        out.append(last)
    return bytes(out)
