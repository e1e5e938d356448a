"""Camera frames of a code held at a distance: the scan benchmark's frames (bench/distance.py).

Each frame shows one QR symbol at a given size in pixels per module (1.5 px: a phone held
at arm's length in front of a 640×480 camera), drawn as a camera would see it: supersampled,
tilted in perspective, rotated, integrated over the sensor's pixels, under uneven light, with
a soft glare patch on some, defocus blur, Gaussian sensor noise and JPEG compression. A printed
card (the static code) is ink on paper; a phone (the live code) is a bright screen with a
darker bezel around it. Every draw comes from ``random.Random(seed)``: the same seed gives the
same bytes on every run.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from statistics import NormalDist

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from issuer.render.qr import QUIET_ZONE, make_qr

#: Pixels per module the symbol is drawn at before it is warped and scaled to the frame.
SUPERSAMPLE = 8
_GAUSS = [NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)]


@dataclass(frozen=True)
class Draw:
    """How one frame shows its code (all drawn from the seed)."""

    size: tuple[int, int]
    module_px: float
    rotation: float  # degrees
    skew: float  # perspective: corners moved by up to this share of the side
    blur: float  # Gaussian radius, frame pixels
    noise: float  # sensor noise, standard deviation in grey levels
    glare: bool
    quality: int  # JPEG


def draw_for(seed: int, module_px: float, size: tuple[int, int]) -> Draw:
    """The conditions of frame ``seed``: moderate on average, hard on some."""
    rng = random.Random(f"draw-{seed}")
    return Draw(size=size, module_px=module_px, rotation=rng.uniform(-25, 25),
                skew=rng.uniform(0.0, 0.08), blur=rng.uniform(0.3, 1.0),
                noise=rng.uniform(2.0, 7.0), glare=rng.random() < 0.3,
                quality=rng.choice((70, 75, 80, 85, 90)))


def _symbol(text: str | None, screen: bool, make=make_qr) -> Image.Image:
    """The code at SUPERSAMPLE px per module with its quiet zone (a phone adds a bezel);
    ``make`` draws the symbol (bench/qrmasks.py tries each mask)."""
    if text is None:  # an empty card or a dark phone: the same object, no code
        modules = 61 + 2 * QUIET_ZONE
        image = Image.new("L", (modules * SUPERSAMPLE,) * 2, 255)
    else:
        buffer = io.BytesIO()
        make(text).save(buffer, kind="png", scale=SUPERSAMPLE, border=QUIET_ZONE)
        image = Image.open(buffer).convert("L")
    if screen:
        # Screen pixels: black 25, white 235; a black bezel of two modules around the screen.
        image = image.point(lambda v: 25 + v * 210 // 255)
        bezel = Image.new("L", (image.width + 4 * SUPERSAMPLE, image.height + 10 * SUPERSAMPLE),
                          20)
        bezel.paste(image, (2 * SUPERSAMPLE, 5 * SUPERSAMPLE))
        return bezel
    # Ink at 45 on paper at 205: a printed card under room light.
    return image.point(lambda v: 45 + v * 160 // 255)


def _perspective(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Pillow PERSPECTIVE coefficients drawing the ``src`` corners at ``dst``."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    n = len(rows)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for row in range(n):
            if row != col:
                f = rows[row][col] / rows[col][col]
                rows[row] = [a - f * b for a, b in zip(rows[row], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def _warp(tile: Image.Image, draw: Draw, rng: random.Random) -> tuple[Image.Image, Image.Image]:
    """Tilt and rotate ``tile`` (supersampled), then scale it to the frame's pixels."""
    w, h = tile.size
    corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    moved = [(x + rng.uniform(-draw.skew, draw.skew) * w,
              y + rng.uniform(-draw.skew, draw.skew) * h) for x, y in corners]
    left, top = min(x for x, _ in moved), min(y for _, y in moved)
    moved = [(x - left, y - top) for x, y in moved]
    out = (round(max(x for x, _ in moved)), round(max(y for _, y in moved)))
    coeffs = _perspective(corners, moved)
    mask = Image.new("L", tile.size, 255)
    tile = tile.transform(out, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR,
                          fillcolor=0)
    mask = mask.transform(out, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR,
                          fillcolor=0)
    tile = tile.rotate(draw.rotation, Image.Resampling.BILINEAR, expand=True, fillcolor=0)
    mask = mask.rotate(draw.rotation, Image.Resampling.BILINEAR, expand=True, fillcolor=0)
    factor = draw.module_px / SUPERSAMPLE
    target = (max(1, round(tile.width * factor)), max(1, round(tile.height * factor)))
    # BOX: each frame pixel is the mean of the light falling on it, as on a sensor.
    return tile.resize(target, Image.Resampling.BOX), mask.resize(target, Image.Resampling.BOX)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    width, height = size
    cols, rows = width // 40 + 2, height // 40 + 2
    coarse = Image.frombytes("L", (cols, rows), rng.randbytes(cols * rows))
    coarse = coarse.resize(size, Image.Resampling.BICUBIC).point(lambda v: 70 + v * 100 // 255)
    fine_size = (width // 3 + 1, height // 3 + 1)
    fine = Image.frombytes("L", fine_size, rng.randbytes(fine_size[0] * fine_size[1]))
    fine = fine.resize(size, Image.Resampling.BILINEAR).point(lambda v: 90 + v * 70 // 255)
    return Image.blend(coarse, fine, 0.3)


def _glare(frame: Image.Image, box: tuple[int, int, int, int], rng: random.Random
           ) -> Image.Image:
    """A soft bright patch (a lamp on the screen or laminate) over part of the symbol."""
    x0, y0, x1, y1 = box
    side = max(4, min(x1 - x0, y1 - y0))
    rx, ry = side * rng.uniform(0.08, 0.16), side * rng.uniform(0.05, 0.12)
    cx, cy = rng.uniform(x0 + side * 0.2, x1 - side * 0.2), rng.uniform(y0 + side * 0.2,
                                                                       y1 - side * 0.2)
    patch = Image.new("L", frame.size, 0)
    ImageDraw.Draw(patch).ellipse((cx - rx, cy - ry, cx + rx, cy + ry),
                                  fill=rng.randint(150, 230))
    patch = patch.filter(ImageFilter.GaussianBlur(max(rx, ry) * 0.4))
    return ImageChops.screen(frame, patch)


def frame(text: str | None, draw: Draw, seed: int, screen: bool, make=make_qr) -> bytes:
    """A JPEG frame of ``draw.size`` showing the code of ``text`` as ``draw`` says
    (``None``: the same scene with a card or phone showing no code), drawn by ``make``."""
    rng = random.Random(f"frame-{seed}")
    picture = _background(draw.size, rng)
    tile, mask = _warp(_symbol(text, screen, make), draw, rng)
    width, height = draw.size
    x = rng.randint(0, max(0, width - tile.width))
    y = rng.randint(0, max(0, height - tile.height))
    picture.paste(tile, (x, y), mask)
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360), fillcolor=128)
    light = light.resize(draw.size, Image.Resampling.BILINEAR).point(lambda v: 190 + v // 4)
    picture = ImageChops.multiply(picture, light)
    if draw.glare:
        picture = _glare(picture, (x, y, x + tile.width, y + tile.height), rng)
    picture = picture.filter(ImageFilter.GaussianBlur(draw.blur))
    table = [max(0, min(255, round(128 + draw.noise * g))) for g in _GAUSS]
    noise = Image.frombytes("L", draw.size, rng.randbytes(width * height)).point(table)
    picture = ImageChops.add(picture, noise, 1.0, -128)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=draw.quality)
    return out.getvalue()
