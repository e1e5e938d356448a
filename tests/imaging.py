"""Test helpers: a signed sample code, QR pictures of it, camera-like frames, hostile files.

Everything is deterministic: randomness comes from a seeded :class:`random.Random`, time from
:data:`NOW`. Only Pillow is used (no numpy), so the helpers run wherever the verifier does.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import pytest
import segno
from PIL import Image, ImageChops, ImageFilter

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import PrivateKey, issue_credential
from issuer.render.qr import make_qr
from verifier import CREDENTIAL_PREFIX, TrustList

#: The fixed "current time" of these tests (November 2026), never the clock.
NOW = 1_795_000_000
#: When a code issued at NOW is checked: a minute later.
CHECK_AT = NOW + 60
TEST_PASSPHRASE = "correct horse battery staple"  # noqa: S105 (a throwaway test passphrase)
FOREIGN_TEXT = "https://example.org"

RGB = tuple[int, int, int]


# --- a signed sample code --------------------------------------------------------------------

@dataclass(frozen=True)
class Issued:
    """A fresh issuer home, one green credential (score 87) from it, and its trust list."""

    home: Home
    key: PrivateKey
    iss: str
    text: str
    trust: TrustList


def issue_sample(root: Path, now: int = NOW) -> Issued:
    """Set up an issuer home in ``root`` at ``now`` and issue one credential valid for a day."""
    home = Home(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
        init_home(home, now=now)
        key, config, _ = load_signing_key(home)
    text = issue_credential(key, iss=config.iss, colour="green", score=87, iat=now, ttl=86400)
    return Issued(home, key, config.iss, text, TrustList.load(home.trust_list, now=now))


# --- clean pictures --------------------------------------------------------------------------

def qr_image(text: str, module_px: int = 8, border: int = 4) -> Image.Image:
    """Return the QR code of ``text`` as a black-on-white grayscale image.

    Health codes get the issuer's own symbol settings (alphanumeric, ECC M); other texts (URLs)
    a plain ECC M symbol.
    """
    if text.startswith(CREDENTIAL_PREFIX):
        symbol = make_qr(text)
    else:
        symbol = segno.make_qr(text, error="m", boost_error=False)
    rows = [bytes(0 if dark else 255 for dark in row)
            for row in symbol.matrix_iter(scale=1, border=border)]
    side = len(rows)
    image = Image.frombytes("L", (side, side), b"".join(rows))
    return image.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)


def encode(image: Image.Image, fmt: str = "PNG", **params: int) -> bytes:
    """Return ``image`` saved in ``fmt`` (``quality=70`` for a phone-like JPEG, say)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


# --- camera-like frames ----------------------------------------------------------------------

# Quantiles of the standard normal distribution, one per byte value: mapping uniform random
# bytes through this table gives Gaussian noise at Pillow speed, from a seeded generator.
_GAUSS = [NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)]


def _noise_layer(size: tuple[int, int], sigma: float, rng: random.Random) -> Image.Image:
    """Gaussian noise of standard deviation ``sigma`` around 128."""
    table = [max(0, min(255, round(128 + sigma * g))) for g in _GAUSS]
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).point(table)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A grey, blotchy surface: a desk, a wall, a sleeve."""
    width, height = size
    coarse = Image.frombytes("L", (width // 48 + 2, height // 48 + 2),
                             rng.randbytes((width // 48 + 2) * (height // 48 + 2)))
    fine = Image.frombytes("L", (width // 4 + 1, height // 4 + 1),
                           rng.randbytes((width // 4 + 1) * (height // 4 + 1)))
    coarse = coarse.resize(size, Image.Resampling.BICUBIC).point(lambda v: 90 + v * 80 // 255)
    fine = fine.resize(size, Image.Resampling.BILINEAR).point(lambda v: 100 + v * 60 // 255)
    return Image.blend(coarse, fine, 0.3)


def _solve(matrix: list[list[float]]) -> list[float]:
    """Solve an n x (n+1) augmented linear system by Gaussian elimination."""
    n = len(matrix)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(matrix[r][col]))
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for row in range(n):
            if row != col:
                factor = matrix[row][col] / matrix[col][col]
                matrix[row] = [a - factor * b for a, b in zip(matrix[row], matrix[col],
                                                                strict=True)]
    return [matrix[i][n] / matrix[i][i] for i in range(n)]


def perspective_coeffs(src: Sequence[tuple[float, float]],
                       dst: Sequence[tuple[float, float]]) -> list[float]:
    """Return Pillow PERSPECTIVE coefficients that draw the ``src`` corners at ``dst``."""
    rows: list[list[float]] = []
    # Pillow maps each output pixel (x, y) back to the input, so solve dst -> src.
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    return _solve(rows)


def _tilt(tile: Image.Image, skew: float, rng: random.Random) -> tuple[Image.Image, Image.Image]:
    """Warp ``tile`` as if seen slightly off-axis; return it and its opacity mask."""
    w, h = tile.size
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [(x + rng.uniform(-skew, skew) * w, y + rng.uniform(-skew, skew) * h)
             for x, y in corners]
    left, top = min(x for x, _ in moved), min(y for _, y in moved)
    moved = [(x - left, y - top) for x, y in moved]
    out = (round(max(x for x, _ in moved)), round(max(y for _, y in moved)))
    coeffs = perspective_coeffs(corners, moved)
    mask = Image.new("L", tile.size, 255)
    return (tile.transform(out, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                           fillcolor=255),
            mask.transform(out, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR,
                           fillcolor=0))


def camera_frame(texts: str | Sequence[str] = (), size: tuple[int, int] = (640, 480), *,
                 rotation: float = 15.0, scale: float = 0.6, skew: float = 0.04,
                 noise: float = 6.0, blur: float = 0.8, ink: tuple[int, int] = (40, 215),
                 tint: RGB = (6, 0, -8), seed: int = 0) -> Image.Image:
    """Return an RGB frame of ``size`` showing the QR code of each of ``texts``, camera-like.

    Each code sits in its own column, its side ``scale`` of the column (or frame height), tilted
    in perspective by up to ``skew`` of its side, rotated by ``rotation`` degrees (alternating
    sign), printed with ``ink`` (dark, light) grey levels, on a textured grey background under
    uneven light; then the frame is blurred (Gaussian radius ``blur``), tinted, and given
    per-channel Gaussian noise of standard deviation ``noise``. No texts gives a frame without
    any code. Save it with ``encode(frame, "JPEG", quality=70)`` for a phone-photo look.
    """
    rng = random.Random(seed)
    texts = [texts] if isinstance(texts, str) else list(texts)
    width, height = size
    frame = _background(size, rng)
    dark, light = ink
    column = width // max(len(texts), 1)
    for i, text in enumerate(texts):
        side = max(1, round(min(column, height) * scale))
        tile = qr_image(text).resize((side, side), Image.Resampling.BILINEAR)
        tile = tile.point(lambda v: dark + (light - dark) * v // 255)
        tile, mask = _tilt(tile, skew, rng)
        angle = rotation * (-1) ** i + rng.uniform(-1, 1)
        tile = tile.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        mask = mask.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=0)
        jitter = column // 20
        cx = column * i + column // 2 + rng.randint(-jitter, jitter)
        cy = height // 2 + rng.randint(-jitter, jitter)
        frame.paste(tile, (cx - tile.width // 2, cy - tile.height // 2), mask)
    # Uneven light: up to a fifth darker towards one side.
    light_map = Image.linear_gradient("L").rotate(rng.uniform(0, 360), fillcolor=128)
    light_map = light_map.resize(size, Image.Resampling.BILINEAR).point(lambda v: 205 + v // 5)
    frame = ImageChops.multiply(frame, light_map)
    if blur:
        frame = frame.filter(ImageFilter.GaussianBlur(blur))
    channels = []
    for shift in tint:
        channel = frame.point(lambda v, s=shift: max(0, min(255, v + s)))
        if noise:
            channel = ImageChops.add(channel, _noise_layer(size, noise, rng), 1.0, -128)
        channels.append(channel)
    return Image.merge("RGB", channels)


# --- hostile files ---------------------------------------------------------------------------

def png_chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk: length, type, data and a correct CRC-32."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_claiming(width: int, height: int, pixel_bytes: int = 4096) -> bytes:
    """Return a small PNG whose header declares ``width`` x ``height`` pixels.

    Chunks and CRCs are correct; the IDAT holds only ``pixel_bytes`` deflated zeros (of the
    ``(width + 1) * height`` bytes the header promises). A decoder that believed the header
    would allocate ``width * height`` bytes before noticing.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    rows = zlib.compress(b"\0" * pixel_bytes, 9)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows)
            + png_chunk(b"IEND", b""))


def png_whole(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """Return a complete, valid PNG of ``width`` x ``height`` white pixels: every row present,
    so it decodes whole. Deflate makes it tiny (65536x1 in ~100 bytes, 5000x5000 16-bit RGBA
    in ~200 KB). ``colour``: 0 grey, 2 RGB, 6 RGBA; ``depth``: 8 or 16 bits per channel."""
    channels = {0: 1, 2: 3, 6: 4}[colour]
    rows = (b"\0" + b"\xff" * (width * channels * depth // 8)) * height
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows, 9))
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """Return a small JPEG whose frame header (SOF0) is patched to ``width`` x ``height``."""
    data = encode(Image.new("L", (64, 48), 200), "JPEG")
    sof = data.index(b"\xff\xc0")
    # SOF0: marker, 2-byte length, 1-byte precision, then height and width.
    return data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]
