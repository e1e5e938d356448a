"""Render a credential's text as a QR code: PNG, SVG, or the text itself.

The text is Base45 after an upper-case prefix, so the whole of it fits QR alphanumeric mode
(5.5 bits a character instead of 8); ECC level M is kept (not boosted) because at a fixed
printed or on-screen size fewer, larger modules scan better than more error correction would
(docs/FORMAT.md).

A code's symbol takes its version's fixed data mask (:mod:`.qrmask`) instead of trying all
eight, and its modules come from :mod:`.qrfast` (segno's symbol, module for module, drawn
from a template); its PNG is written by :mod:`.png`. Links and other texts keep segno's mask
search.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno

from .png import symbol_png
from .qrfast import fast_matrix
from .qrmask import fixed_mask

ERROR_LEVEL = "m"
#: Pixels per module in a PNG and quiet-zone width in modules (the standard asks for 4).
PNG_SCALE = 8
QUIET_ZONE = 4
FORMATS = (".png", ".svg", ".txt")


def make_qr(text: str) -> segno.QRCode:
    """Return the QR code symbol of ``text`` (a code: alphanumeric characters only) in
    alphanumeric mode at ECC level M, with its version's fixed mask where it has one.

    Raises ``segno.DataOverflowError`` for a text QR cannot hold, ``ValueError`` for one with
    characters outside alphanumeric mode.
    """
    fixed = fixed_mask(len(text))
    version, mask = fixed if fixed is not None else (None, None)
    return segno.make_qr(text, error=ERROR_LEVEL, mode="alphanumeric", version=version,
                         mask=mask, boost_error=False)


def code_matrix(text: str) -> list[bytes]:
    """The modules of code ``text`` (rows of 0 light / 1 dark): ``make_qr(text).matrix``,
    from the template of its version where there is one."""
    matrix = fast_matrix(text)
    return matrix if matrix is not None else [bytes(row) for row in make_qr(text).matrix]


#: Image formats served over HTTP, by suffix.
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def render_image(text: str, fmt: str) -> bytes:
    """Return the QR code of ``text`` as PNG or SVG bytes (``fmt`` a key of IMAGE_TYPES)."""
    if fmt == "png":
        return symbol_png(code_matrix(text), PNG_SCALE, QUIET_ZONE)
    return _image(make_qr(text), fmt)


def _image(qr: segno.QRCode, fmt: str) -> bytes:
    if fmt == "png":
        return symbol_png(qr.matrix, PNG_SCALE, QUIET_ZONE)
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=PNG_SCALE, border=QUIET_ZONE, xmldecl=False,
            title="Health code")
    return buffer.getvalue()


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
        out.write_bytes(_image(qr, suffix[1:]))
    return qr


def write_text_qr(text: str, out: str | Path) -> None:
    """Write any ``text`` (byte mode: lower case too, unlike a code's) as a PNG QR code."""
    symbol = segno.make_qr(text, error=ERROR_LEVEL, mode="byte", boost_error=False)
    Path(out).write_bytes(symbol_png(symbol.matrix, PNG_SCALE, QUIET_ZONE))


def link_svg(url: str) -> str:
    """Return an SVG QR code of a link (an enrolment letter's), ECC M, any mode."""
    buffer = io.BytesIO()
    segno.make(url, error=ERROR_LEVEL, boost_error=False).save(
        buffer, kind="svg", scale=PNG_SCALE, border=QUIET_ZONE, xmldecl=False,
        title="Enrolment link")
    return buffer.getvalue().decode("utf-8")
