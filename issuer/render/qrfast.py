"""The symbol of a code, fast: the same modules segno draws with the version's fixed mask, at a
fraction of the cost.

With the version and the mask fixed (:mod:`.qrmask`), everything in a code's symbol but its
data is the same from one code to the next: finder, timing and alignment patterns, format and
version information, and the mask over the data modules. So each (version, mask) gets a
template once: segno's own symbol of a probe text, its data modules reset to the mask alone,
and the order in which codeword bits fill them (ISO/IEC 18004, 7.7.3). A code then costs its
bit stream (alphanumeric mode, 7.4.4), the Reed-Solomon codewords of each block (7.5.2,
a byte at a time on Python ints) and their interleaving (7.6); then one ``itemgetter`` puts
the stream's bits in their modules and one XOR lays the mask over them.

tests/test_qr.py checks module for module that this draws what ``segno.make_qr`` draws with the
same version and mask, for every text length of every version in the table. That includes
segno's one departure from the letter of the standard: a bit stream that ends on a byte
boundary after its terminator gets one more zero byte before the pad codewords (7.4.10 asks
for none); decoders stop at the terminator, so both read the same.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from operator import itemgetter
from typing import NamedTuple

import segno

from .qrmask import ALPHANUMERIC, FIXED_MASKS, version_for


class _Layout(NamedTuple):
    blocks: tuple[int, ...]  # data codewords of each block, in order
    ec: int  # error correction codewords per block
    alignment: tuple[int, ...]  # alignment pattern centres (rows and columns)


#: ECC level M layouts of the versions in the table (ISO/IEC 18004, Tables 9 and E.1).
_LAYOUTS = {
    8: _Layout((38,) * 2 + (39,) * 2, 22, (6, 24, 42)),
    9: _Layout((36,) * 3 + (37,) * 2, 22, (6, 26, 46)),
    10: _Layout((43,) * 4 + (44,), 26, (6, 28, 50)),
    11: _Layout((50,) + (51,) * 4, 30, (6, 30, 54)),
    12: _Layout((36,) * 6 + (37,) * 2, 22, (6, 32, 58)),
    13: _Layout((37,) * 8 + (38,), 22, (6, 34, 62)),
}
_MASKS = (
    lambda i, j: (i + j) % 2 == 0, lambda i, j: i % 2 == 0, lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0, lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_VALUES = bytes.maketrans(ALPHANUMERIC.encode("ascii"), bytes(range(len(ALPHANUMERIC))))
_BIT_VALUES = bytes.maketrans(b"01", b"\x00\x01")
_PAD = b"\xec\x11"


def _gf_tables() -> tuple[list[int], list[int]]:
    """Powers and logarithms of 2 in GF(256) modulo x^8 + x^4 + x^3 + x^2 + 1."""
    exp, log, value = [0] * 510, [0] * 256, 1
    for power in range(255):
        exp[power] = exp[power + 255] = value
        log[value] = power
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    return exp, log


@cache
def _remainders(ec: int) -> tuple[int, ...]:
    """For each leading byte f, f times the generator polynomial of degree ``ec`` (its
    leading 1 left out), as an int of ``ec`` bytes: one step of the polynomial division."""
    exp, log = _gf_tables()
    generator = [1]
    for power in range(ec):  # times (x - 2^power)
        generator = [a ^ (exp[log[b] + power] if b else 0)
                     for a, b in zip([*generator, 0], [0, *generator], strict=True)]
    table = [0]
    for factor in range(1, 256):
        table.append(int.from_bytes(bytes(exp[log[factor] + log[c]] if c else 0
                                          for c in generator[1:]), "big"))
    return tuple(table)


def _data_modules(version: int, alignment: tuple[int, ...]) -> list[tuple[int, int]]:
    """The data modules in the order codeword bits fill them: two-module columns from the
    right, up then down, around the function patterns (ISO/IEC 18004, 7.7.3)."""
    size = 17 + 4 * version
    taken = [[False] * size for _ in range(size)]

    def box(top: int, left: int, height: int, width: int) -> None:
        for row in range(max(top, 0), min(top + height, size)):
            taken[row][max(left, 0):min(left + width, size)] = [True] * (
                min(left + width, size) - max(left, 0))

    box(0, 0, 9, 9)  # finders with their separators and the format information
    box(0, size - 8, 9, 8)
    box(size - 8, 0, 8, 9)
    box(6, 0, 1, size)
    box(0, 6, size, 1)
    corners = {(alignment[0], alignment[0]), (alignment[0], alignment[-1]),
               (alignment[-1], alignment[0])}
    for row in alignment:
        for column in alignment:
            if (row, column) not in corners:
                box(row - 2, column - 2, 5, 5)
    box(0, size - 11, 6, 3)  # version information, versions 7 and up
    box(size - 11, 0, 3, 6)
    order, column, upward = [], size - 1, True
    while column > 0:
        if column == 6:
            column -= 1
        for row in (range(size - 1, -1, -1) if upward else range(size)):
            order += [(row, c) for c in (column, column - 1) if not taken[row][c]]
        upward, column = not upward, column - 2
    return order


class _Template(NamedTuple):
    layout: _Layout
    size: int
    #: Picks the symbol's modules, row by row, out of the stream's bits followed by a 0 and
    #: a 1 (for the function modules, which take the probe's).
    gather: Callable[[bytes], tuple[int, ...]]
    #: The mask over the data modules, row by row, a byte a module, as one int.
    mask: int


@cache
def _template(version: int, mask: int) -> _Template:
    layout = _LAYOUTS[version]
    modules = _data_modules(version, layout.alignment)
    size = 17 + 4 * version
    bits = len(modules)
    if bits != 8 * (sum(layout.blocks) + layout.ec * len(layout.blocks)):
        raise AssertionError(f"version {version}: {bits} data modules")
    probe = segno.make_qr("0", error="m", mode="alphanumeric", version=version, mask=mask,
                          boost_error=False).matrix
    source = [[bits + probe[row][column] for column in range(size)] for row in range(size)]
    masked = bytearray(size * size)
    dark = _MASKS[mask]
    for at, (row, column) in enumerate(modules):
        source[row][column] = at
        masked[row * size + column] = dark(row, column)
    return _Template(layout, size, itemgetter(*(i for row in source for i in row)),
                     int.from_bytes(masked, "big"))


def _codewords(text: str, layout: _Layout, count_bits: int) -> bytes:
    """Data and error correction codewords, interleaved (ISO/IEC 18004, 7.4 to 7.6)."""
    values = text.encode("ascii").translate(_VALUES)
    stream, bits = 0b0010 << count_bits | len(values), 4 + count_bits
    for i in range(0, len(values) - 1, 2):
        stream = stream << 11 | values[i] * 45 + values[i + 1]
    bits += 11 * (len(values) // 2)
    if len(values) % 2:
        stream, bits = stream << 6 | values[-1], bits + 6
    capacity = 8 * sum(layout.blocks)
    terminator = min(4, capacity - bits)
    padding = terminator + 8 - (bits + terminator) % 8  # as segno: 8 more when on a boundary
    data = (stream << padding).to_bytes((bits + padding) // 8, "big")
    data = (data + _PAD * (capacity // 16))[:capacity // 8]
    table, shift, full = _remainders(layout.ec), 8 * (layout.ec - 1), (1 << 8 * layout.ec) - 1
    blocks, checks, start = [], [], 0
    for length in layout.blocks:
        block = data[start:start + length]
        start += length
        remainder = 0
        for byte in block:
            remainder = remainder << 8 & full ^ table[remainder >> shift ^ byte]
        blocks.append(block)
        checks.append(remainder.to_bytes(layout.ec, "big"))
    longest = layout.blocks[-1]
    interleaved = bytes(block[i] for i in range(longest) for block in blocks if i < len(block))
    return interleaved + bytes(check[i] for i in range(layout.ec) for check in checks)


def fast_matrix(text: str) -> list[bytes] | None:
    """The modules of code ``text`` (rows of 0 light / 1 dark), exactly as
    ``issuer.render.qr.make_qr(text).matrix``, or None for a text whose version has no
    fixed mask. Raises ``ValueError`` for a character outside alphanumeric mode."""
    version = version_for(len(text))
    if version not in FIXED_MASKS or version not in _LAYOUTS:
        return None
    if text.encode("ascii").translate(None, ALPHANUMERIC.encode("ascii")):
        raise ValueError("a code's text is alphanumeric: 0-9, A-Z, space and $%*+-./:")
    template = _template(version, FIXED_MASKS[version])
    codewords = _codewords(text, template.layout, 9 if version < 10 else 11)
    stream = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
    modules = bytes(template.gather(stream.encode("ascii").translate(_BIT_VALUES) + b"\x00\x01"))
    size = template.size
    flat = (int.from_bytes(modules, "big") ^ template.mask).to_bytes(size * size, "big")
    return [flat[start:start + size] for start in range(0, size * size, size)]
