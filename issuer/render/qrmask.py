"""One data mask per QR version for our own codes, chosen once instead of on every code.

A QR encoder XORs the data with each of the eight mask patterns of ISO/IEC 18004 (7.8.2),
scores each result's penalty (7.8.3: runs, 2x2 blocks, finder-like patterns, dark balance)
and keeps the lowest: for a credential that search is four fifths of the time to make its
symbol. Our codes are a short prefix and Base45 text: random-looking data of a few fixed
lengths (QR versions 8 to 11 for a credential, 12 to 13 for a phone's live presentation,
alphanumeric mode, ECC M), so one mask per version, chosen once, costs nothing at run time.

Chosen how: over such data the masks' mean penalties differ by a few per cent, but how well
the symbol reads does not follow the penalty. On hard camera frames (far, soft, tilted; the
kiosk's decoder) masks 3, 4 and 6 read markedly fewer codes than 0, 2, 5 and 7, and the mask
of lowest mean penalty for version 8 was mask 3, among the worst readers. So
:data:`FIXED_MASKS` is the mask that read the most frames over all these versions in
``python -m bench.qrmasks`` (docs/PERFORMANCE.md, "QR output"), mask 2: more than segno's
per-code search, and at or near the best of each version. Any mask decodes the same: its
number is in the symbol's format information.

Texts of other lengths (links, the trust anchor's code) keep the encoder's search.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Sequence
from itertools import pairwise

#: Characters of QR alphanumeric mode, Base45's alphabet (RFC 9285).
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
#: How many alphanumeric characters fit versions 1, 2, … at ECC level M (ISO/IEC 18004,
#: Table 7), up to the last version in :data:`FIXED_MASKS`.
ALPHANUMERIC_M_CAPACITY = (20, 38, 61, 90, 122, 154, 178, 221, 262, 311, 366, 419, 483)
#: The mask of a code of each version (alphanumeric, ECC M): the best reader over all of them
#: in ``python -m bench.qrmasks``.
FIXED_MASKS = dict.fromkeys(range(8, 14), 2)
PREFIX = "HCC1:"


def version_for(length: int) -> int | None:
    """The QR version of an alphanumeric text of ``length`` characters at ECC level M, or
    None past the last version in :data:`ALPHANUMERIC_M_CAPACITY`."""
    version = bisect_left(ALPHANUMERIC_M_CAPACITY, length) + 1
    return version if version <= len(ALPHANUMERIC_M_CAPACITY) else None


def fixed_mask(length: int) -> tuple[int, int] | None:
    """``(version, mask)`` for a code of ``length`` characters, or None when its version has
    no fixed mask (the encoder searches)."""
    version = version_for(length)
    mask = FIXED_MASKS.get(version) if version is not None else None
    return None if mask is None else (version, mask)


def sample_texts(version: int, count: int, seed: int) -> list[str]:
    """``count`` texts like our codes that fill QR ``version`` at ECC M: the prefix, then
    uniformly random alphanumeric characters, lengths spread over the version's range."""
    rng = random.Random(seed * 100 + version)  # noqa: S311 (reproducible samples, no secret)
    shortest = ALPHANUMERIC_M_CAPACITY[version - 2] + 1 if version > 1 else 1
    longest = ALPHANUMERIC_M_CAPACITY[version - 1]
    return [PREFIX + "".join(rng.choices(ALPHANUMERIC, k=rng.randint(shortest, longest)
                                         - len(PREFIX))) for _ in range(count)]


def penalty(matrix: Sequence[bytes | bytearray]) -> int:
    """The ISO/IEC 18004 (7.8.3.1) penalty of a symbol's modules (rows of 0 light / 1 dark), for
    the benchmarks' comparison of masks: segno's scoring (``segno.encoder.mask_scores``), a
    line at a time on bits instead of a module at a time, here applied to the finished symbol,
    format information included, as a scanner sees it."""
    rows = [bytes(row) for row in matrix]
    size = len(rows)
    lines = rows + [bytes(column) for column in zip(*rows, strict=True)]
    bits = [int(line.translate(_DIGITS), 2) for line in lines]
    inner = (1 << (size - 1)) - 1
    runs = 0
    for line in bits:
        same = ~(line ^ line >> 1) & inner  # bit k: modules k and k + 1 alike
        five = same & same >> 1 & same >> 2 & same >> 3  # bit k: k to k + 4 alike
        # A run of n >= 5 costs n - 2: one per five-module window in it, plus 2.
        runs += five.bit_count() + 2 * (five & ~(five << 1)).bit_count()
    blocks = sum((~(above ^ below) & ~(above ^ below) >> 1 & ~(below ^ below >> 1)
                  & inner).bit_count() for above, below in pairwise(bits[:size]))
    finders = sum(_finder_like(line) for line in lines)
    dark = sum(row.count(1) for row in rows) / size ** 2
    return runs + 3 * blocks + finders + 10 * int(abs(dark * 100 - 50) / 5)


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_FINDER = b"\x01\x00\x01\x01\x01\x00\x01"


def _finder_like(line: bytes) -> int:
    """40 for each dark-light-dark-dark-dark-light-dark run with four light modules (or the
    edge) before or after it, counted as segno does."""
    score, size = 0, len(line)
    at = line.find(_FINDER)
    while at != -1:
        after = at + 7
        if at in (0, size - 7) or not any(line[max(at - 4, 0):at]) \
                or not any(line[after:after + 4]):
            score += 40
        else:
            after = at + 4
        at = line.find(_FINDER, after)
    return score
