"""Render a credential's text as a QR code: PNG, SVG, or the text itself.

The text is Base45 after an upper-case prefix, so the whole of it fits QR alphanumeric mode
(5.5 bits a character instead of 8); ECC level M is kept (not boosted) because at a fixed
printed or on-screen size fewer, larger modules scan better than more error correction would
(docs/FORMAT.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import segno

ERROR_LEVEL = "m"
#: Pixels per module in a PNG and quiet-zone width in modules (the standard asks for 4).
PNG_SCALE = 8
QUIET_ZONE = 4
FORMATS = (".png", ".svg", ".txt")


def make_qr(text: str) -> segno.QRCode:
    """Return the QR code symbol of ``text`` in alphanumeric mode at ECC level M."""
    return segno.make_qr(text, error=ERROR_LEVEL, mode="alphanumeric", boost_error=False)


#: Image formats served over HTTP, by suffix.
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def render_image(text: str, fmt: str) -> bytes:
    """Return the QR code of ``text`` as PNG or SVG bytes (``fmt`` a key of IMAGE_TYPES)."""
    buffer = io.BytesIO()
    _save(make_qr(text), buffer, fmt)
    return buffer.getvalue()


def _save(qr: segno.QRCode, target, fmt: str) -> None:
    if fmt == "png":
        qr.save(target, kind="png", scale=PNG_SCALE, border=QUIET_ZONE)
    else:
        qr.save(target, kind="svg", scale=PNG_SCALE, border=QUIET_ZONE, xmldecl=False,
                title="Health code")


def write_code(text: str, out: str | Path) -> segno.QRCode:
    """Write ``text`` to ``out`` as PNG, SVG or plain text (by suffix); return the symbol.

    Raises ``ValueError`` for another suffix.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"output must end in one of {', '.join(FORMATS)}")
    qr = make_qr(text)
    if suffix == ".txt":
        out.write_text(text + "\n", encoding="ascii")
    else:
        _save(qr, out, suffix[1:])
    return qr


def write_text_qr(text: str, out: str | Path) -> None:
    """Write any ``text`` (byte mode: lower case too, unlike a code's) as a PNG QR code."""
    segno.make_qr(text, error=ERROR_LEVEL, mode="byte", boost_error=False).save(
        Path(out), kind="png", scale=PNG_SCALE, border=QUIET_ZONE)


def link_svg(url: str) -> str:
    """Return an SVG QR code of a link (an enrolment letter's), ECC M, any mode."""
    buffer = io.BytesIO()
    segno.make(url, error=ERROR_LEVEL, boost_error=False).save(
        buffer, kind="svg", scale=PNG_SCALE, border=QUIET_ZONE, xmldecl=False,
        title="Enrolment link")
    return buffer.getvalue().decode("utf-8")
