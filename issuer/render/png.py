"""A QR symbol as a 1-bit greyscale PNG (PNG 1.2 / ISO/IEC 15948), written with zlib alone.

At a whole number of bytes per module (a scale of 8 pixels, 16, …) a row of the picture is its
row of modules with each module turned into bytes of 0x00 (dark) or 0xFF (light) bits: one
``bytes.translate``. Each such row is written once and then repeated with PNG's "Up" filter
(all zeros: "the same as the row above"), which deflate at a low level packs almost for free.
The rest is the PNG container: signature, IHDR, one IDAT, IEND. Measured (``python -m bench
qr``), the PNG of a credential takes a small fraction of the time of segno's writer or
Pillow's encoder, in 1.2 to 1.7 KB for a credential where segno's takes 0.8 to 1.1 KB
(docs/PERFORMANCE.md, "QR output").
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: zlib level 2: as fast as level 1 here and a tenth smaller; level 6 (zlib's default) is a
#: third smaller again but takes ten times as long.
COMPRESS_LEVEL = 2
_FILTER_NONE = b"\x00"
_FILTER_UP = b"\x02"
#: A module (0 light, 1 dark) as one byte of eight pixels (bit 1 white, 0 black).
_PIXELS = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def module_rows(matrix: Sequence[bytes | bytearray], scale: int, border: int) -> list[bytes]:
    """Each row of a square ``matrix`` of modules (0 light, 1 dark), inside ``border`` light
    modules on every side, as a row of 1-bit pixels (1 white, the first pixel the highest
    bit), ``scale`` pixels a module: the picture is each of them ``scale`` times.

    Raises ``ValueError`` unless ``scale`` is a positive multiple of 8.
    """
    if scale <= 0 or scale % 8:
        raise ValueError(f"scale must be a positive multiple of 8, not {scale}")
    widen = scale // 8
    light = b"\xff" * ((len(matrix) + 2 * border) * widen)
    margin = b"\xff" * (border * widen)
    rows = [light] * border
    for modules in matrix:
        row = bytes(modules).translate(_PIXELS)
        if widen > 1:
            row = b"".join(bytes((byte,)) * widen for byte in row)
        rows.append(margin + row + margin)
    return rows + [light] * border


def symbol_png(matrix: Sequence[bytes | bytearray], scale: int, border: int,
               level: int = COMPRESS_LEVEL) -> bytes:
    """Return the PNG of a square ``matrix`` of modules (rows of 0 light / 1 dark), each
    module ``scale`` pixels square, inside ``border`` light modules on every side.

    Raises ``ValueError`` unless ``scale`` is a positive multiple of 8.
    """
    rows = module_rows(matrix, scale, border)
    pixels = len(rows) * scale
    header = struct.pack(">IIBBBBB", pixels, pixels, 1, 0, 0, 0, 0)  # 1-bit grey, no interlace
    same_again = (_FILTER_UP + bytes(len(rows[0]))) * (scale - 1)
    data = b"".join(_FILTER_NONE + row + same_again for row in rows)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(data, level))
            + _chunk(b"IEND", b""))
