"""Camera frame -> verified claims, against the raw zxing-cpp decode of the same frame.

Baseline: ``zxingcpp.read_barcodes(gray, formats=QRCode)`` on the frame already decoded from
JPEG to a grayscale PIL image. ``verify_image`` starts from the JPEG bytes, so its time includes
JPEG decoding, the grayscale conversion and ``verify``; with a readable frame the decoder's
first pass succeeds and no retry pass runs.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from verifier import verify, verify_image
from verifier.image import load_image

from . import report
from .fixtures import BenchIssuer, make_issuer
from .frames import FrameSpec, camera_frame
from .timing import Settings, compare, measure

SPECS = (
    FrameSpec(640, 480, module_px=4),
    FrameSpec(1280, 720, module_px=6),
)


def _pyzbar_decoder():  # -> Callable[[Image.Image], list[str]] | None
    try:
        from pyzbar import pyzbar
    except ImportError:  # no libzbar0 on this machine
        return None

    def decode(image: Image.Image) -> list[str]:
        found = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
        return [symbol.data.decode("utf-8", "replace") for symbol in found]

    return decode


def _frame_rows(spec: FrameSpec, issuer: BenchIssuer, text: str, settings: Settings
                ) -> tuple[list[list[str]], list[list[str]]]:
    """Return the table rows for one frame size and its summary rows."""
    trust, now = issuer.trust, issuer.now
    jpeg = camera_frame(text, spec)
    gray = Image.open(io.BytesIO(jpeg)).convert("L")
    qr = zxingcpp.BarcodeFormat.QRCode

    def raw() -> list[zxingcpp.Barcode]:
        return zxingcpp.read_barcodes(gray, formats=qr)

    # A frame the raw decoder cannot read would time the retry passes, not the pipeline.
    assert [b.text for b in raw()] == [text], f"{spec.label}: raw zxing-cpp did not read it"
    slow = settings.slow()
    label = f"{spec.label} ({len(jpeg) // 1024} KiB JPEG)"
    zxing = compare(raw, lambda: verify_image(jpeg, trust, now, backend="zxing"), slow)
    summary = [[f"{spec.label} frame → claims, zxing backend vs raw zxing-cpp decode",
                report.ratios(zxing), ""]]
    rows = [
        [label, "raw `zxingcpp.read_barcodes` on the grayscale frame (baseline)",
         report.stats_ms(zxing.baseline), "1.00"],
        [label, "`verify_image(jpeg, backend=\"zxing\")`", report.stats_ms(zxing.candidate),
         report.ratios(zxing)],
    ]
    pyzbar_decode = _pyzbar_decoder()
    if pyzbar_decode is None:
        rows.append([label, "`verify_image(jpeg, backend=\"pyzbar\")`", "n/a (no libzbar0)",
                     "n/a"])
    else:
        assert pyzbar_decode(gray) == [text], f"{spec.label}: raw pyzbar did not read it"
        zbar = compare(raw, lambda: verify_image(jpeg, trust, now, backend="pyzbar"), slow)
        rows.append([label, "`verify_image(jpeg, backend=\"pyzbar\")`",
                     report.stats_ms(zbar.candidate), report.ratios(zbar)])
        summary.append([f"{spec.label} frame → claims, pyzbar backend vs raw zxing-cpp decode",
                        report.ratios(zbar), ""])
        rows.append([label, "… of which raw pyzbar decode",
                     report.stats_ms(measure(lambda: pyzbar_decode(gray), slow)), ""])
    rows += [
        [label, "… of which JPEG → grayscale (`load_image`)",
         report.stats_ms(measure(lambda: load_image(jpeg), slow)), ""],
        [label, "… of which `verify(text)`",
         report.stats_ms(measure(lambda: verify(text, trust, now), settings)), ""],
    ]
    return rows, summary


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for frame decoding."""
    issuer = make_issuer()
    text = issuer.issue()
    rows: list[list[str]] = []
    summary: list[list[str]] = []
    for spec in SPECS:
        spec_rows, spec_summary = _frame_rows(spec, issuer, text, settings)
        rows += spec_rows
        summary += spec_summary
    described = "; ".join(f"{s.label}: {s.module_px} px per module" for s in SPECS)
    body = "\n".join([
        "### 4. Camera frame → verified claims",
        "",
        "A synthetic webcam frame (`bench/frames.py`: grey textured background, uneven light, "
        f"QR rotated {SPECS[0].angle:g}°, Gaussian blur {SPECS[0].blur:g} px, "
        f"{SPECS[0].noise:.0%} uniform noise, JPEG quality 80; {described}). "
        "Ratio = raw zxing-cpp decode time / pipeline time, interleaved rounds.",
        "",
        report.table(["frame", "pipeline", "ms, median (min)", "ratio vs raw zxing-cpp"], rows,
                     align="llrr"),
    ])
    return report.Section(body, summary)
