"""A second look at a QR symbol zxing-cpp found in a camera frame but could not read.

A code held far from the camera (1.5–3 pixels per module, soft, tilted, with glare) is often
*found* (its finder patterns) but not *read* (too few pixels per module for the sampling grid).
zxing-cpp's ``return_errors=True`` says where that symbol is; here the region around it is
cropped with a margin, upscaled 2–3×, and read again, sharpened, contrast-stretched and with
other binarizers, until one reads or the frame's time is spent. A blurred QR code is often
seen only as a sliver of it taken for a rectangular or micro QR symbol: its region is a square
around the sliver. Only the region is worked on, so this costs a few milliseconds, and a frame
with no symbol at all never gets here.
``verifier/static/scan/decoder.js`` does the same in the browser; bench/distance.py measures
both (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps

#: Seconds a frame may spend on the region retries (a camera sends a frame every 33–100 ms).
FRAME_BUDGET = 0.030
#: The margin kept around a seen symbol, as a share of its side: the quiet zone and slack.
MARGIN = 0.25
#: A region is upscaled until its longer side reaches this many pixels, by 2× to 3×.
TARGET_SIDE = 600
#: At most this many unread symbols are retried per frame.
MAX_REGIONS = 2

Box = tuple[int, int, int, int]
_QR = zxingcpp.BarcodeFormat.QRCode
#: Symbols that are most often a sliver of a blurred QR code held far away (a finder pattern
#: and a strip next to it, taken for a rectangular or micro QR symbol): their region is a
#: square of SLIVER_SCALE times their longer side around their centre.
SLIVERS = frozenset({zxingcpp.BarcodeFormat.RMQRCode, zxingcpp.BarcodeFormat.MicroQRCode})
SLIVER_SCALE = 2
_B = zxingcpp.Binarizer
# The retries, in the order they paid off on the benchmark's frames (the sharpened picture
# reads all that the plain upscaled one reads): a picture, a binarizer.
RETRIES: tuple[tuple[str, zxingcpp.Binarizer], ...] = (
    ("sharp", _B.LocalAverage),
    ("strong", _B.LocalAverage),
    ("strong stretched", _B.FixedThreshold),
    ("up", _B.GlobalHistogram),
    ("stretched", _B.FixedThreshold),
    ("sharp", _B.GlobalHistogram),
    ("crop", _B.LocalAverage),
    ("sharp", _B.FixedThreshold),
    ("up", _B.LocalAverage),
)


def region(barcode: zxingcpp.Barcode, size: tuple[int, int]) -> Box:
    """The box around ``barcode``'s corners with :data:`MARGIN`, clipped to ``size``; around
    a sliver (:data:`SLIVERS`), a square :data:`SLIVER_SCALE` times its longer side."""
    position = barcode.position
    corners = (position.top_left, position.top_right, position.bottom_right,
               position.bottom_left)
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    side = max(max(xs) - min(xs), max(ys) - min(ys), 8)
    if getattr(barcode, "format", _QR) in SLIVERS:
        cx, cy = sum(xs) / 4, sum(ys) / 4
        side *= SLIVER_SCALE
        xs = [round(cx - side / 2), round(cx + side / 2)]
        ys = [round(cy - side / 2), round(cy + side / 2)]
    margin = int(side * MARGIN) + 4
    return (max(0, min(xs) - margin), max(0, min(ys) - margin),
            min(size[0], max(xs) + margin), min(size[1], max(ys) + margin))


def distinct(boxes: Sequence[Box]) -> list[Box]:
    """``boxes`` without those whose centre lies inside an earlier one, at most
    :data:`MAX_REGIONS`."""
    kept: list[Box] = []
    for box in boxes:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if not any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] for k in kept):
            kept.append(box)
    return kept[:MAX_REGIONS]


#: An unsharp mask as a 3×3 kernel: each pixel plus 1.5 × its difference from the 3×3 mean.
_SHARPEN = ImageFilter.Kernel((3, 3), [-1] * 4 + [14] + [-1] * 4, scale=6)
#: The same with 4 × the difference.
_SHARPEN_STRONG = ImageFilter.Kernel((3, 3), [-4] * 4 + [41] + [-4] * 4, scale=9)


#: How much :func:`sharpened` sharpens a whole frame, and the largest frame it is worth it on.
FRAME_SHARPEN = 2.0
SHARPEN_MAX_PIXELS = 1280 * 720


def sharpened(gray: Image.Image, amount: float = FRAME_SHARPEN) -> Image.Image:
    """``gray`` with each pixel plus ``amount`` × its difference from the mean of its four
    neighbours: cheap enough for a whole camera frame (shifted copies and blends, about a
    third of PIL's 3×3 ``Kernel`` filter's time), and it brings back the finder patterns'
    one-module rings that blur washes out at 2 pixels per module."""
    shift = ImageChops.offset
    across = Image.blend(shift(gray, 1, 0), shift(gray, -1, 0), 0.5)
    down = Image.blend(shift(gray, 0, 1), shift(gray, 0, -1), 0.5)
    return Image.blend(Image.blend(across, down, 0.5), gray, 1 + amount)


def _upscale(picture: Image.Image) -> Image.Image:
    scale = min(3.0, max(2.0, TARGET_SIDE / max(picture.size)))
    size = (round(picture.width * scale), round(picture.height * scale))
    return picture.resize(size, Image.Resampling.BICUBIC)


def _pictures(crop: Image.Image) -> Callable[[str], Image.Image]:
    """The retry pictures of one region by name, each made once, when first needed."""
    made: dict[str, Image.Image] = {"crop": crop}

    def get(name: str) -> Image.Image:
        if name not in made:
            if name == "up":
                made[name] = _upscale(crop)
            elif name == "sharp":
                # Sharpened at the frame's own scale (the blur spans about a module), then
                # upscaled: read more on the benchmark than sharpening the upscaled picture.
                made[name] = _upscale(crop.filter(_SHARPEN))
            elif name == "stretched":
                made[name] = ImageOps.autocontrast(get("up"), cutoff=2)
            elif name == "strong":
                # Blur that spans more than a module needs more: this reads most of what
                # the others miss.
                made[name] = _upscale(crop.filter(_SHARPEN_STRONG))
            elif name == "strong stretched":
                made[name] = ImageOps.autocontrast(get("strong"), cutoff=2)
            else:
                raise KeyError(name)
        return made[name]

    return get


def _attempts(gray: Image.Image, boxes: Sequence[Box]) -> Iterator[tuple[Image.Image,
                                                                          zxingcpp.Binarizer]]:
    for box in boxes:
        picture = _pictures(gray.crop(box))
        for name, binarizer in RETRIES:
            yield picture(name), binarizer


def retry(gray: Image.Image, seen: Sequence[zxingcpp.Barcode], deadline: float,
          clock: Callable[[], float] = time.perf_counter) -> list[str]:
    """The texts read on the regions of ``seen`` (symbols found but not read in ``gray``),
    trying until one reads or ``deadline`` (a ``clock()`` value) would be passed; maybe none."""
    boxes = distinct([region(barcode, gray.size) for barcode in seen])
    slowest = 0.0
    started = clock()
    attempts = _attempts(gray, boxes)
    while started + slowest <= deadline:
        try:
            picture, binarizer = next(attempts)
        except StopIteration:
            break
        found = zxingcpp.read_barcodes(picture, formats=_QR, binarizer=binarizer,
                                       try_rotate=False)
        texts = [barcode.text for barcode in found if barcode.valid]
        if texts:
            return list(dict.fromkeys(texts))
        now = clock()
        slowest = max(slowest, now - started)
        started = now
    return []
