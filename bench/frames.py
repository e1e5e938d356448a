"""Synthetic camera frames: a credential's QR code as a checkpoint webcam might see it.

A grey, blotchy background with uneven lighting; the symbol printed in grey-on-off-white (no
camera sees pure black and white), slightly rotated, a little out of focus, with sensor noise,
saved as JPEG (quality 80 unless the spec says otherwise). Seeded, so every run benchmarks the
same pixels.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageFilter

from issuer.render.qr import QUIET_ZONE, make_qr

JPEG_QUALITY = 80
_BICUBIC = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class FrameSpec:
    """A frame size and how the symbol sits in it."""

    width: int
    height: int
    module_px: int  # pixels per QR module before rotation
    angle: float = 7.0  # degrees, counter-clockwise
    blur: float = 0.8  # Gaussian radius in pixels
    noise: float = 0.10  # share of uniform noise blended in
    seed: int = 7
    quality: int = JPEG_QUALITY

    @property
    def label(self) -> str:
        return f"{self.width}×{self.height}"


def _symbol(text: str, module_px: int) -> Image.Image:
    buf = io.BytesIO()
    make_qr(text).save(buf, kind="png", scale=module_px, border=QUIET_ZONE)
    # Dark modules at 35, paper at 215: ink and paper under room light.
    return Image.open(buf).convert("L").point(lambda v: 35 + v * 180 // 255)


def _background(width: int, height: int, rng: random.Random) -> Image.Image:
    cols, rows = width // 16 + 2, height // 16 + 2
    blotches = Image.frombytes("L", (cols, rows), rng.randbytes(cols * rows))
    texture = blotches.resize((width, height), _BICUBIC).point(lambda v: 90 + v * 80 // 255)
    ramp = Image.linear_gradient("L").resize((width, height))
    lighting = Image.blend(ramp, ramp.transpose(Image.Transpose.ROTATE_90).resize(
        (width, height)), 0.5)
    return Image.blend(texture, lighting, 0.25)


def camera_frame(text: str | None, spec: FrameSpec) -> bytes:
    """Return a JPEG frame showing the QR code of ``text`` as ``spec`` describes (``None``: the
    same scene with no code in it, as a checkpoint camera sees it most of the time)."""
    rng = random.Random(spec.seed)
    frame = _background(spec.width, spec.height, rng)
    if text is not None:
        symbol = _symbol(text, spec.module_px)
        mask = Image.new("L", symbol.size, 255).rotate(spec.angle, _BICUBIC, expand=True)
        symbol = symbol.rotate(spec.angle, _BICUBIC, expand=True, fillcolor=215)
        # Right of centre and a little high, as a hand-held card tends to be.
        x = (spec.width - symbol.width) // 2 + spec.width // 10
        y = (spec.height - symbol.height) // 2 - spec.height // 20
        frame.paste(symbol, (x, y), mask)
    frame = frame.filter(ImageFilter.GaussianBlur(spec.blur))
    noise = Image.frombytes("L", frame.size, rng.randbytes(spec.width * spec.height))
    frame = Image.blend(frame, noise, spec.noise)
    out = io.BytesIO()
    frame.convert("RGB").save(out, "JPEG", quality=spec.quality)
    return out.getvalue()
