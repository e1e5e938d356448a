"""QR output: claims -> QR PNG per second against the bare signature, the mask search against
the fixed masks and the template, PNG writers side by side, and the credential image endpoint
with and without its cache.

Baseline: the raw deterministic ES256 sign of a credential-sized message (as in ``issue``),
interleaved round by round with each candidate. The PNG writers all draw the same symbol at 8
pixels a module with a 4-module quiet zone; each PNG is checked to read back (zxing-cpp and
zbar, one plain pass each). Writers that are not installed (pypng, imagecodecs) are listed as
such.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import segno
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.render.png import COMPRESS_LEVEL, module_rows, symbol_png
from issuer.render.qr import PNG_SCALE, QUIET_ZONE, make_qr, render_image
from issuer.render.qrfast import fast_matrix
from issuer.render.qrmask import FIXED_MASKS, penalty, sample_texts
from issuer.web import create_app
from issuer.web.codeimages import init_app as init_code_images
from verifier import CREDENTIAL_PREFIX
from verifier.base45 import b45decode
from verifier.cose import decode_sign1, sig_structure
from verifier.image import load_image

from . import report
from .fixtures import bench_passphrase, make_issuer
from .issue import _issuer_call, _raw_signer
from .timing import Settings, compare, measure

GOAL_RATIO, GOAL_PER_SECOND = 0.05, 500
PENALTY_SAMPLES = 64
PERSON = {"name": "Zhang San", "id_number": "330106199001011234", "phone": "+86 138 0000 0001",
          "organisation": "West Lake Primary School"}


def _searched(text: str) -> segno.QRCode:
    """The symbol as before: segno tries all eight masks."""
    return segno.make_qr(text, error="m", mode="alphanumeric", boost_error=False)


def _segno_png(qr: segno.QRCode) -> bytes:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=PNG_SCALE, border=QUIET_ZONE)
    return buffer.getvalue()


def _pixel_rows(qr: segno.QRCode) -> list[bytes]:
    return [row for row in module_rows(qr.matrix, PNG_SCALE, QUIET_ZONE)
            for _ in range(PNG_SCALE)]


def _pillow(level: int) -> Callable[[segno.QRCode], bytes]:
    def write(qr: segno.QRCode) -> bytes:
        rows = _pixel_rows(qr)
        image = Image.frombytes("1", (len(rows), len(rows)), b"".join(rows))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=level)
        return buffer.getvalue()
    return write


def _pypng(level: int) -> Callable[[segno.QRCode], bytes] | None:
    try:
        import png
    except ImportError:
        return None

    def write(qr: segno.QRCode) -> bytes:
        rows = _pixel_rows(qr)
        buffer = io.BytesIO()
        png.Writer(len(rows), len(rows), greyscale=True, bitdepth=1,
                   compression=level).write_packed(buffer, rows)
        return buffer.getvalue()
    return write


def _imagecodecs(level: int) -> Callable[[segno.QRCode], bytes] | None:
    try:
        import imagecodecs
        import numpy
    except ImportError:
        return None

    def write(qr: segno.QRCode) -> bytes:
        side = len(qr.matrix) + 2 * QUIET_ZONE
        modules = numpy.zeros((side, side), numpy.uint8) + 255
        modules[QUIET_ZONE:-QUIET_ZONE, QUIET_ZONE:-QUIET_ZONE] = (
            1 - numpy.array([list(row) for row in qr.matrix], numpy.uint8)) * 255
        pixels = modules.repeat(PNG_SCALE, 0).repeat(PNG_SCALE, 1)
        return bytes(imagecodecs.png_encode(pixels, level=level))
    return write


def _writers() -> list[tuple[str, Callable[[segno.QRCode], bytes] | None]]:
    return [
        ("segno `save(kind=\"png\")` (before)", _segno_png),
        ("Pillow 1-bit, compress_level 1", _pillow(1)),
        ("Pillow 1-bit, compress_level 6", _pillow(6)),
        ("pypng 1-bit `write_packed`, level 2", _pypng(2)),
        ("pypng 1-bit `write_packed`, level 6", _pypng(6)),
        ("imagecodecs `png_encode` (8-bit grey), level 6", _imagecodecs(6)),
        ("ours (`issuer.render.png`), zlib level 1",
         lambda qr: symbol_png(qr.matrix, PNG_SCALE, QUIET_ZONE, 1)),
        (f"**ours, zlib level {COMPRESS_LEVEL} (shipped)**",
         lambda qr: symbol_png(qr.matrix, PNG_SCALE, QUIET_ZONE)),
        ("ours, zlib level 6", lambda qr: symbol_png(qr.matrix, PNG_SCALE, QUIET_ZONE, 6)),
    ]


def reads_back(png: bytes, text: str) -> bool:
    """Whether zxing-cpp and zbar both read ``text``, and only it, from ``png``."""
    image = load_image(png)
    zxing = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    zbar = [r.data.decode("ascii") for r in pyzbar.decode(image)]
    return zxing == zbar == [text]


Rows = list[list[str]]


def _throughput(settings: Settings) -> tuple[Rows, Rows, Rows, str]:
    """Claims -> PNG along each path against the raw sign; the symbol builders alone; and
    the sample credential."""
    issuer = make_issuer()
    text = issuer.issue()
    issue = _issuer_call(issuer)
    sign1 = decode_sign1(b45decode(text[len(CREDENTIAL_PREFIX):]))
    raw = _raw_signer(issuer, len(sig_structure(sign1.protected, sign1.payload)))
    paths = [
        ("before: mask search + segno's PNG", lambda: _segno_png(_searched(issue()))),
        ("fixed mask (segno's `make_qr`) + segno's PNG", lambda: _segno_png(make_qr(issue()))),
        ("fixed mask (segno's `make_qr`) + our PNG",
         lambda: symbol_png(make_qr(issue()).matrix, PNG_SCALE, QUIET_ZONE)),
        ("**after: fixed mask from the template + our PNG (`render_image`)**",
         lambda: render_image(issue(), "png")),
    ]
    rows, summary = [], []
    for name, candidate in paths:
        result = compare(raw, candidate, settings.slow())
        rows.append([name, report.stats_us(result.baseline), report.stats_us(result.candidate),
                     report.per_second(result.candidate.median), report.ratios(result)])
        if name.startswith("**after"):
            met = (result.ratio >= GOAL_RATIO and 1 / result.candidate.median >= GOAL_PER_SECOND)
            summary.append(["claims → QR PNG vs raw ES256 sign", report.ratios(result),
                            f"{report.per_second(result.candidate.median)} PNGs/s; goal "
                            f"≥ {GOAL_RATIO} and ≥ {GOAL_PER_SECOND}/s: "
                            f"{'met' if met else 'NOT met'}"])
    builders = [
        ["segno, mask search (before)", report.stats_us(measure(lambda: _searched(text),
                                                                settings.slow()))],
        ["segno, fixed mask (`make_qr`)", report.stats_us(measure(lambda: make_qr(text),
                                                                  settings.slow()))],
        ["the template, same modules (`qrfast.fast_matrix`)",
         report.stats_us(measure(lambda: fast_matrix(text), settings.slow()))],
    ]
    if hasattr(zxingcpp, "create_barcode"):
        builders.append(["zxing-cpp `create_barcode` (C++, its own mask search; for "
                             "comparison)", report.stats_us(measure(
                                 lambda: zxingcpp.create_barcode(
                                     text, zxingcpp.BarcodeFormat.QRCode, ec_level="M"),
                                 settings.slow()))])
    return rows, summary, builders, text


def _writer_rows(text: str, settings: Settings) -> Rows:
    qr = make_qr(text)
    rows = []
    for name, write in _writers():
        if write is None:
            rows.append([name, "not installed", "", ""])
            continue
        png = write(qr)
        rows.append([name, report.stats_us(measure(lambda w=write: w(qr), settings.slow())),
                     f"{len(png):,}", "yes" if reads_back(png, text) else "**no**"])
    return rows


def _penalty_rows() -> Rows:
    """Per version: mean penalty of the fixed mask, of each code's best mask (the search),
    and of the worst mask, over sample texts."""
    rows = []
    for version, fixed in FIXED_MASKS.items():
        texts = sample_texts(version, PENALTY_SAMPLES, seed=7)
        per_mask = [[penalty(segno.make_qr(t, error="m", mode="alphanumeric", version=version,
                                           mask=mask, boost_error=False).matrix)
                     for t in texts] for mask in range(8)]
        best = statistics.fmean(min(scores) for scores in zip(*per_mask, strict=True))
        means = [statistics.fmean(scores) for scores in per_mask]
        rows.append([str(version), str(fixed), f"{means[fixed]:,.0f}", f"{best:,.0f}",
                     f"{means[fixed] / best - 1:+.1%}",
                     f"{max(means):,.0f} (mask {means.index(max(means))})"])
    return rows


def _endpoint_rows(settings: Settings) -> Rows:
    """GET /api/credentials/<cti>.png through the Flask app in this process (test client:
    routing, token check, the credential's row from SQLite, the picture)."""
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder:
        init_home(Home(Path(folder)))
        app = create_app({"HOME": folder})
        service = app.extensions["healthcode"]
        try:
            _, secret = service.create_token("write", "bench qr", int(time.time()))
            client = app.test_client()
            auth = {"Authorization": f"Bearer {secret}"}
            person = client.post("/api/people", json=PERSON, headers=auth).get_json()
            url = client.post(f"/api/people/{person['id']}/credentials", json={},
                              headers=auth).get_json()["png"]
            first = client.get(url, headers=auth)
            etag = first.headers["ETag"]

            def get() -> None:
                assert client.get(url, headers=auth).status_code == 200

            def conditional() -> None:
                assert client.get(url, headers={**auth, "If-None-Match": etag}
                                  ).status_code == 304

            app.config["CODE_IMAGE_CACHE_BYTES"] = 0
            init_code_images(app)
            base = measure(get, settings.slow())
            app.config["CODE_IMAGE_CACHE_BYTES"] = 16 << 20
            init_code_images(app)
            size = f"{len(first.data):,}"
            rows = [["render every time (`CODE_IMAGE_CACHE_BYTES=0`)", report.stats_us(base),
                     "1.00", size]]
            for name, call, sent in (("cached: 200 with the picture", get, size),
                                     ("conditional: 304 Not Modified", conditional, "0")):
                stats = measure(call, settings.slow())
                rows.append([name, report.stats_us(stats), f"{base.median / stats.median:.2f}",
                             sent])
        finally:
            service.close()
    return rows


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for QR output."""
    paths, summary, builders, text = _throughput(settings)
    writers = _writer_rows(text, settings)
    endpoint = _endpoint_rows(settings)
    penalties = _penalty_rows()
    qr = make_qr(text)
    body = "\n".join([
        "### QR output: claims → QR PNG",
        "",
        f"A typical credential ({len(text)} characters: QR version {qr.version}-M, "
        f"{len(qr.matrix)}×{len(qr.matrix)} modules), PNG at {PNG_SCALE} px a module with a "
        f"{QUIET_ZONE}-module quiet zone. Each path issues a fresh credential "
        "(`issue_credential`) and draws it, against the raw deterministic ES256 sign, "
        "interleaved round by round.",
        "",
        report.table(["path", "raw sign µs, median (min)", "claims → PNG µs, median (min)",
                      "PNGs/s", "ratio, median (min/min)"], paths),
        "",
        "#### The symbol alone (µs per symbol, median (min))",
        "",
        report.table(["builder", "µs"], builders),
        "",
        "#### PNG writers, same symbol (µs per PNG, median (min))",
        "",
        report.table(["writer", "µs", "bytes", "reads back (zxing-cpp and zbar)"], writers),
        "",
        f"#### What a fixed mask costs in ISO/IEC 18004 penalty ({PENALTY_SAMPLES} sample "
        "texts a version)",
        "",
        report.table(["version", "fixed mask", "its mean penalty",
                      "each code's best mask (the search), mean", "fixed vs search",
                      "worst mask's mean"], penalties),
        "",
        "#### `GET /api/credentials/<cti>.png` (Flask test client in this process: routing, "
        "the token, the credential's row from SQLite, the picture)",
        "",
        report.table(["request", "µs, median (min)", "× rendering every time", "body bytes"],
                     endpoint),
    ])
    return report.Section(body, summary)
