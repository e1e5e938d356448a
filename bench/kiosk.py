"""Kiosk server time per camera frame: JPEG in, verdict out, against the raw decoder.

Frames are the synthetic webcam frames of ``bench/frames.py`` at JPEG quality 85 (what the
kiosk page sends), 640×480 and 1280×720, with a valid code and without one. The candidate is
``Checkpoint.frame(jpeg)``: JPEG decoding, the grayscale conversion, ``decode_frame`` (zxing-cpp
with the local-average binarizer, then the global-histogram one, then pyzbar), ``verify`` and
the rule. Baseline, interleaved round by round: ``zxingcpp.read_barcodes`` on the same frame
already decoded to a grayscale image. A frame without a code is the common case at a
checkpoint and is timed on its own, with its parts (pyzbar alone is timed too: it would cost
that much more on every empty frame had ``decode_frame`` not skipped it when zxing-cpp found no
symbol at all). One more row puts the HTTP stack around it: ``POST /api/frame`` to the kiosk under
waitress on 127.0.0.1 over a keep-alive connection, against ``Checkpoint.frame`` in-process.
"""

from __future__ import annotations

import http.client
import io
import json
import tempfile
import time
from pathlib import Path

import zxingcpp
from PIL import Image

from issuer.keys.home import Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import issue_credential
from verifier.image import decode_frame, load_image
from verifier.kiosk import create_app

from . import report
from .fixtures import bench_passphrase, serve_in_thread
from .frames import FrameSpec, camera_frame
from .timing import Settings, compare, measure

QUALITY = 85
SPECS = (
    FrameSpec(640, 480, module_px=4, quality=QUALITY),
    FrameSpec(1280, 720, module_px=6, quality=QUALITY),
)
_QR = zxingcpp.BarcodeFormat.QRCode


def _pyzbar():
    try:
        from pyzbar import pyzbar
    except ImportError:
        return None
    return lambda gray: pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])


class _Server:
    """The kiosk app under waitress on a free loopback port, in a thread of this process."""

    def __init__(self, app) -> None:
        self.port, self._server = serve_in_thread(app)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def post_frame(self, jpeg: bytes) -> dict:
        self.connection.request("POST", "/api/frame", body=jpeg,
                                headers={"Content-Type": "image/jpeg"})
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:200])
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()
        time.sleep(0.2)  # let the worker thread finish with the closed channel first
        self._server.close()


def _rows(spec: FrameSpec, text: str, app, server: _Server, settings: Settings
          ) -> tuple[list[list[str]], list[list[str]]]:
    checkpoint = app.extensions["checkpoint"]
    slow = settings.slow()
    rows: list[list[str]] = []
    summary: list[list[str]] = []
    for label, code in (("code", text), ("no code", None)):
        jpeg = camera_frame(code, spec)
        gray = Image.open(io.BytesIO(jpeg)).convert("L")
        expected = "admit" if code else "idle"

        def raw(gray=gray) -> list[zxingcpp.Barcode]:
            return zxingcpp.read_barcodes(gray, formats=_QR)

        def kiosk(jpeg=jpeg) -> dict:
            return checkpoint.frame(jpeg)

        assert [b.text for b in raw()] == ([text] if code else []), spec.label
        assert kiosk()["state"] == expected, (spec.label, label, kiosk())
        assert server.post_frame(jpeg)["state"] == expected
        frame = f"{spec.label}, {label} ({len(jpeg) // 1024} KiB)"
        pipeline = compare(raw, kiosk, slow)
        rows += [
            [frame, "raw `zxingcpp.read_barcodes` on the grayscale frame (baseline)",
             report.stats_ms(pipeline.baseline), "1.00"],
            [frame, f"`Checkpoint.frame(jpeg)` → {expected}", report.stats_ms(pipeline.candidate),
             report.ratios(pipeline)],
        ]
        summary.append([f"kiosk frame {spec.label}, {label}: server verdict vs raw zxing-cpp",
                        report.ratios(pipeline), ""])
        rows.append([frame, "… of which JPEG → grayscale (`load_image` + `convert`)",
                     report.stats_ms(measure(lambda jpeg=jpeg: load_image(jpeg).convert("L"),
                                             slow)), ""])
        rows.append([frame, "… of which `decode_frame` (every pass it needs)",
                     report.stats_ms(measure(lambda gray=gray: decode_frame(gray), slow)), ""])
        zbar = _pyzbar()
        if code is None and zbar is not None:
            rows.append([frame, "pyzbar on this frame, for comparison (`decode_frame` skips "
                         "it: no symbol)",
                         report.stats_ms(measure(lambda gray=gray, zbar=zbar: zbar(gray), slow)),
                         ""])
        http_cost = compare(kiosk, lambda jpeg=jpeg: server.post_frame(jpeg), slow)
        rows.append([frame, "`POST /api/frame` over loopback HTTP (vs `Checkpoint.frame`)",
                     report.stats_ms(http_cost.candidate), report.ratios(http_cost)])
    return rows, summary


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for the kiosk server's per-frame time."""
    rows: list[list[str]] = []
    summary: list[list[str]] = []
    with bench_passphrase(), \
            tempfile.TemporaryDirectory(prefix="healthcode-bench-kiosk-") as folder:
        home = Home(Path(folder))
        now = int(time.time())
        init_home(home, now=now)
        key, config, _ = load_signing_key(home)
        text = issue_credential(key, iss=config.iss, colour="green", score=87, iat=now,
                                ttl=24 * 3600)
        # Every frame shows the same code: the kiosk would not announce it again, but it
        # decodes and verifies it every time all the same.
        app = create_app({"TRUST": home.trust_list, "RULE": "green"})
        server = _Server(app)
        try:
            for spec in SPECS:
                spec_rows, spec_summary = _rows(spec, text, app, server, settings)
                rows += spec_rows
                summary += spec_summary
        finally:
            server.close()
    described = "; ".join(f"{s.label}: {s.module_px} px per module" for s in SPECS)
    body = "\n".join([
        "### Kiosk server: time per camera frame",
        "",
        f"Synthetic webcam frames (`bench/frames.py`, JPEG quality {QUALITY} as the kiosk page "
        f"sends; {described}), with a valid code and without one. Ratio = raw zxing-cpp "
        "decode time / kiosk time on the same frame, interleaved rounds; the HTTP row's ratio "
        "is in-process `Checkpoint.frame` time / HTTP round-trip time. Pinned to one core: "
        "the waitress server and the client share it.",
        "",
        report.table(["frame", "what", "ms, median (min)", "ratio"], rows, align="llrr"),
    ])
    return report.Section(body, summary)
