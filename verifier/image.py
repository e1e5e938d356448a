"""Find QR codes in a picture: a rendered PNG, a screenshot, a photo, a webcam frame.

Two backends: zxing-cpp (default: about ten times faster than zbar and more robust on hard
frames, docs/PERFORMANCE.md) and pyzbar (selectable). :func:`decode_image` (uploads, photos,
files) tries a picture that yields nothing at first again a bounded number of times with other
binarization and with contrast and scale changes, which recover blurry, dim or small codes
(docs/DESIGN notes, measured); :func:`decode_frame` (a checkpoint's camera frames, several a
second) makes only the cheap passes on the whole frame, and retries only the region of a symbol
it found but could not read (:mod:`verifier.regions`).
"""

from __future__ import annotations

import io
import math
import struct
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from . import regions
from .errors import Reason, VerificationError

#: Largest image file accepted (a 12-megapixel phone JPEG is ~3–8 MB).
MAX_IMAGE_BYTES = 16 * 1024 * 1024
#: Largest image accepted in pixels, checked from the header before any pixel is decoded.
MAX_PIXELS = 25_000_000
#: Longest side accepted, checked likewise: no camera makes more, and zxing-cpp fails on a side
#: over 65,535 (a 142-byte PNG of 65536x1 pixels).
MAX_SIDE = 10_000
#: Largest camera frame a checkpoint takes (its page sends frames at most 1280 pixels wide).
MAX_FRAME_PIXELS = 1920 * 1080
#: A photo or screenshot uploaded at a checkpoint is scaled down to at most this many pixels
#: before decoding (JPEG already while decoding): a 12-megapixel photo of a code still reads,
#: and a small file claiming 25 megapixels costs a frame's work, not seconds.
UPLOAD_PIXELS = 4_000_000
#: With ``fit``, the largest PNG (a screenshot: decoded whole before it can be scaled down,
#: unlike a JPEG): a 4K screen's.
MAX_SCREENSHOT_PIXELS = 3840 * 2160
#: Small frames are upscaled 2x in the extra passes; larger ones are not worth the time.
UPSCALE_BELOW = 1000
_FORMATS = ["PNG", "JPEG"]
# Pillow raises a variety of types on a damaged file; all mean the same to us. It also warns
# (DecompressionBombWarning at 89–179 megapixels, UserWarning on corrupt EXIF); where warnings
# are errors (pytest here, `python -W error`) those arrive as exceptions and mean the same.
_PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error,
               Image.DecompressionBombError, Warning, MemoryError)

ImageSource = str | Path | bytes | Image.Image


class Backend(StrEnum):
    """QR decoding libraries."""

    ZXING = "zxing"
    PYZBAR = "pyzbar"


def _malformed(detail: str) -> VerificationError:
    return VerificationError(Reason.MALFORMED, detail)


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS,
               fit: int | None = None) -> Image.Image:
    """Return ``source`` as a grayscale PIL image, bounded in bytes, sides and pixels.

    Larger than ``max_pixels`` is refused; with ``fit``, a larger image is scaled down to at
    most ``fit`` pixels. Raises :class:`VerificationError` (``malformed``) for a file that is
    too large, not PNG or JPEG, or damaged; ``OSError`` when a path cannot be read.
    """
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, bytes):
            data = source
        else:
            with open(source, "rb") as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise _malformed(f"image larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
        try:
            image = Image.open(io.BytesIO(data), formats=_FORMATS)
        except _PIL_ERRORS as exc:
            raise _malformed(f"not a readable PNG or JPEG image ({exc})") from None
    width, height = image.size
    if width < 1 or height < 1:  # both decoders crash on an empty image
        raise _malformed(f"image of {width}x{height} pixels is empty")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise _malformed(f"image of {width}x{height} pixels has a side over {MAX_SIDE}")
    if width * height > max_pixels or (fit is not None and image.format == "PNG"
                                       and width * height > MAX_SCREENSHOT_PIXELS):
        raise _malformed(f"image of {width}x{height} pixels is too large")
    try:
        if image.format == "JPEG":
            # Have libjpeg decode straight to grayscale: about half the decode time of a
            # colour frame (docs/PERFORMANCE.md), and the decoders only read luminance. With
            # ``fit`` it also scales down while decoding (1/2, 1/4, 1/8), nearly for free.
            factor = _factor(image.size, fit)
            image.draft("L", (-(-width // factor), -(-height // factor)))
        image = ImageOps.exif_transpose(image).convert("L")
        factor = _factor(image.size, fit)
        return image.reduce(factor) if factor > 1 else image
    except _PIL_ERRORS as exc:
        raise _malformed(f"damaged image ({exc})") from None


def _factor(size: tuple[int, int], fit: int | None) -> int:
    """The smallest whole factor that brings ``size`` to at most ``fit`` pixels (1: none)."""
    if fit is None or size[0] * size[1] <= fit:
        return 1
    factor = max(2, math.isqrt(size[0] * size[1] // fit))
    while (size[0] // factor) * (size[1] // factor) > fit:
        factor += 1
    return factor


def _zxing(image: Image.Image, binarizer: zxingcpp.Binarizer) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode,
                                   binarizer=binarizer)
    return [barcode.text for barcode in found if barcode.valid]


def _pyzbar(image: Image.Image) -> list[str]:
    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # the zbar shared library is missing
        raise RuntimeError("the pyzbar backend needs the zbar library (libzbar0)") from exc
    found = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [symbol.data.decode("utf-8", "replace") for symbol in found]


def _variants(image: Image.Image) -> Iterator[Image.Image]:
    """The original frame, then bounded retries that help on hard frames."""
    yield image
    equalised = ImageOps.autocontrast(image, cutoff=1)
    yield equalised
    if max(image.size) < UPSCALE_BELOW:
        yield equalised.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    yield equalised.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))


def _passes(backend: Backend) -> list[Callable[[Image.Image], list[str]]]:
    if backend is Backend.PYZBAR:
        return [_pyzbar]
    return [lambda im: _zxing(im, zxingcpp.Binarizer.LocalAverage),
            lambda im: _zxing(im, zxingcpp.Binarizer.GlobalHistogram)]


def decode_image(source: ImageSource, backend: Backend | str = Backend.ZXING,
                 fit: int | None = None) -> list[str]:
    """Return the text of every QR code found in the image (maybe none), in reading order.

    Passes run until one finds a code: each decoder pass on the frame as given, then on
    contrast-stretched, upscaled and sharpened versions; with ``fit``, on the image scaled
    down to at most that many pixels first. Raises :class:`VerificationError` (``malformed``)
    for an unreadable or oversize image.
    """
    image = load_image(source, fit=fit)
    passes = _passes(Backend(backend))
    for variant in _variants(image):
        for decode in passes:
            texts = decode(variant)
            if texts:
                return list(dict.fromkeys(texts))
    return []


def decode_frame(image: Image.Image, budget: float = regions.FRAME_BUDGET) -> list[str]:
    """The QR texts in a camera frame, fast: zxing-cpp with two binarizers (when they saw no
    symbol, again on the frame sharpened); when it found a QR symbol it could not read, the
    region retry, then pyzbar.

    Camera frames come several a second, so the whole frame is never upscaled here (an
    upload gets that, in :func:`verifier.image.decode_image`), and the sharpening is a cheap
    one (:func:`verifier.regions.sharpened`, plain scans only): most frames at a checkpoint
    show no code at all, and those cost the four passes (bench/kiosk.py). A symbol zxing-cpp
    found but could not read (a code held far away) gets :func:`verifier.regions.retry` on
    its region, for at most ``budget`` seconds from the start, and then pyzbar on the
    frame: on 1,000 hard synthetic frames pyzbar read 2 that zxing-cpp's two passes missed.
    bench/distance.py measures the read rate by module size.
    """
    deadline = time.perf_counter() + budget
    gray = image.convert("L")
    seen: list[zxingcpp.Barcode] = []
    for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
        found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode,
                                       binarizer=binarizer, return_errors=True)
        texts = [barcode.text for barcode in found if barcode.valid]
        if texts:
            return list(dict.fromkeys(texts))
        seen += found
    if not seen and gray.width * gray.height <= regions.SHARPEN_MAX_PIXELS:
        # No symbol at all: once more on the frame sharpened (a far code's finder patterns,
        # blurred away), only as given (no inverted, rotated or downscaled scans): +1-2 ms on
        # an empty 640×480 frame (docs/PERFORMANCE.md).
        sharp = regions.sharpened(gray)
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            found = zxingcpp.read_barcodes(sharp, formats=zxingcpp.BarcodeFormat.QRCode,
                                           binarizer=binarizer, return_errors=True,
                                           try_rotate=False, try_downscale=False,
                                           try_invert=False)
            texts = [barcode.text for barcode in found if barcode.valid]
            if texts:
                return list(dict.fromkeys(texts))
            seen += found
    if not seen:
        return []
    texts = regions.retry(gray, seen, deadline)
    if texts:
        return texts
    try:
        from pyzbar import pyzbar
    except ImportError:  # the zbar library is optional: zxing-cpp alone still works
        return []
    found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return list(dict.fromkeys(s.data.decode("utf-8", "replace") for s in found))
