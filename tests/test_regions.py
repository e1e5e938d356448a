"""The region retry (verifier/regions.py) and the camera-frame decoder that uses it."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from imaging import camera_frame, encode
from PIL import Image

from verifier import image, regions
from verifier.image import decode_frame

TEXT = "HCC1:" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWM+-PT6JJ9FRFAN:Z6P9CB5O3" \
    "VWG4K0KTF:4J/TNY4I2O1U6DD" * 2
QR = zxingcpp.BarcodeFormat.QRCode
PASSES = (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram)


@pytest.fixture(scope="module")
def far() -> Image.Image:
    """A version-8 code about 2.5 pixels per module, soft: zxing-cpp finds it, cannot read it
    (the decode_frame before the region retry returned nothing here, pyzbar included)."""
    frame = camera_frame(TEXT, scale=0.27, blur=1.0, rotation=12, seed=0)
    return Image.open(io.BytesIO(encode(frame, "JPEG", quality=80))).convert("L")


def _seen(gray: Image.Image) -> list[zxingcpp.Barcode]:
    return [b for binarizer in PASSES
            for b in zxingcpp.read_barcodes(gray, formats=QR, binarizer=binarizer,
                                            return_errors=True)]


def test_a_far_code_zxing_found_but_could_not_read_is_read_on_its_region(far):
    seen = _seen(far)
    assert seen and not any(b.valid for b in seen)  # the frame is as hard as it should be
    # A budget no machine runs out of: what is tested is that the retry reads it, not how
    # fast (on a loaded machine the default 30 ms can end before the attempt that reads).
    assert decode_frame(far, budget=60.0) == [TEXT]


def test_the_retry_stops_at_the_deadline(far):
    seen = _seen(far)
    assert regions.retry(far, seen, deadline=time.perf_counter() - 1) == []
    assert regions.retry(far, seen, deadline=time.perf_counter() + 60) == [TEXT]


def test_a_frame_without_any_symbol_is_not_retried(monkeypatch):
    calls = []
    monkeypatch.setattr(regions, "retry", lambda *args: calls.append(args) or [])
    for seed in range(5):
        assert decode_frame(camera_frame([], seed=seed)) == []
    assert calls == []
    assert image.regions is regions


class _Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class _Found:
    def __init__(self, *corners: tuple[int, int], format: zxingcpp.BarcodeFormat = QR) -> None:
        self.format = format
        tl, tr, br, bl = (_Point(*c) for c in corners)
        self.position = type("P", (), {"top_left": tl, "top_right": tr, "bottom_right": br,
                                       "bottom_left": bl})()


def test_a_region_keeps_a_margin_and_stays_inside_the_frame():
    assert regions.region(_Found((100, 100), (200, 100), (200, 200), (100, 200)),
                          (640, 480)) == (71, 71, 229, 229)
    assert regions.region(_Found((5, 5), (630, 5), (630, 470), (5, 470)),
                          (640, 480)) == (0, 0, 640, 480)


@pytest.mark.parametrize("format", [zxingcpp.BarcodeFormat.RMQRCode,
                                    zxingcpp.BarcodeFormat.MicroQRCode])
def test_a_sliver_seen_as_another_symbol_gets_a_square_around_it(format):
    # A blurred QR code far away is often "seen" as a thin rectangular (rMQR) or micro QR
    # symbol: a finder pattern and a strip next to it. Its region must hold the whole code.
    sliver = _Found((300, 200), (400, 200), (400, 220), (300, 220), format=format)
    assert regions.region(sliver, (640, 480)) == (196, 56, 504, 364)
    assert regions.region(_Found((300, 200), (400, 200), (400, 220), (300, 220)),
                          (640, 480)) == (271, 171, 429, 249)


def test_the_same_symbol_seen_twice_is_retried_once():
    boxes = [(0, 0, 100, 100), (5, 5, 105, 105), (300, 300, 400, 400), (500, 0, 600, 100)]
    assert regions.distinct(boxes) == [(0, 0, 100, 100), (300, 300, 400, 400)]


def test_a_far_code_no_pass_even_found_is_read_on_the_frame_sharpened():
    # The benchmark's frame 1030 at 2 pixels per module (bench/scanframes.py, seeded): a card
    # code softened so much that neither plain pass sees any symbol, which before the
    # sharpened pass decode_frame gave up on, like an empty frame.
    from bench.scanframes import draw_for, frame
    jpeg = frame(TEXT, draw_for(1030, 2.0, (640, 480)), 1030, screen=False)
    gray = Image.open(io.BytesIO(jpeg)).convert("L")
    assert _seen(gray) == []  # the frame is as hard as it should be
    assert decode_frame(gray, budget=60) == [TEXT]
    assert _seen(regions.sharpened(gray))  # what the sharpening is for: the symbol is found


def test_a_large_frame_is_not_sharpened(monkeypatch):
    calls = []
    monkeypatch.setattr(regions, "sharpened", lambda gray: calls.append(gray.size) or gray)
    assert decode_frame(camera_frame([], size=(640, 480))) == []
    assert decode_frame(camera_frame([], size=(1920, 1080))) == []
    assert calls == [(640, 480)]
