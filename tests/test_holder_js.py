"""The phone's JavaScript (issuer/web/static/holder/) in a real headless Chromium.

One browser for the module, on a page served from 127.0.0.1 (a secure context, so WebCrypto and
IndexedDB work) that imports the modules as the holder page will, under ``/static/``. Every
encoding is compared byte for byte with the Python that defines the format (cbor2, the
verifier's Base45 and presentation functions); the phone's presentations must pass
``verifier.verify``, and its drawn QR code must scan back to the same text.
"""

from __future__ import annotations

import base64
import functools
import random
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cbor2
import pytest
from conftest import NOW
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.render.qr import make_qr
from verifier import (
    Reason,
    VerificationError,
    cnf_for,
    decode_image,
    encode_presentation,
    verify,
)
from verifier.base45 import Base45Error, b45decode, b45encode
from verifier.cose import sig_structure
from verifier.labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX
from verifier.presentation import decode_presentation, presentation_protected

webcam = pytest.importorskip("webcam")
SERVICE = Path(__file__).parent.parent / "issuer" / "web"
#: verifier/static/, which both apps serve at /shared/ (the CBOR and Base45 modules).
SHARED = Path(__file__).parent.parent / "verifier" / "static"
ARTIFACTS = Path(__file__).parent / "artifacts"
PAGE = "/test/holder.html"
#: A phone's screen: the QR code is drawn at this CSS size on a device pixel ratio of 2.
QR_CSS_PX = 300
PIXEL_RATIO = 2

# The page exposes the modules and small helpers (hex, wire values, error names) as `hc`.
PAGE_HTML = f"""<!doctype html>
<html lang="en"><meta charset="utf-8"><title>holder modules</title>
<body style="margin: 0; background: #888">
<canvas id="qr" style="width: {QR_CSS_PX}px; height: {QR_CSS_PX}px"></canvas>
<div id="qr-box" style="width: {QR_CSS_PX}px"></div>
<script type="module">
import * as cbor from "/shared/verifier/cbor.js";
import * as base45 from "/shared/verifier/base45.js";
import * as presentation from "/static/holder/presentation.js";
import * as device from "/static/holder/device.js";
import * as qr from "/static/holder/qr.js";

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
function fromWire([kind, value, extra]) {{
  switch (kind) {{
    case "array": return value.map(fromWire);
    case "map": return cbor.cborMap(value.map(([k, v]) => [fromWire(k), fromWire(v)]));
    case "tag": return cbor.tag(value, fromWire(extra));
    case "bytes": return unhex(value);
    default: return value;
  }}
}}
/** The name of the error `fn` throws or rejects with, or null when it succeeds. */
async function failure(fn) {{
  try {{ await fn(); return null; }} catch (error) {{ return error.name; }}
}}
async function jwk() {{
  return device.publicKeyJwk(await device.deviceKey());
}}
async function present(code, t) {{
  const pair = await device.deviceKey();
  return presentation.buildPresentation(pair.privateKey, presentation.credentialBytes(code), t);
}}
window.hc = {{ cbor, base45, presentation, device, qr, hex, unhex, fromWire, failure, jwk,
               present }};
document.body.dataset.ready = "yes";
</script>
"""


def to_wire(value) -> list:
    """``value`` as JSON the page turns into the same CBOR value (``fromWire``)."""
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    if isinstance(value, list):
        return ["array", [to_wire(item) for item in value]]
    if isinstance(value, dict):
        return ["map", [[to_wire(k), to_wire(v)] for k, v in value.items()]]
    if isinstance(value, cbor2.CBORTag):
        return ["tag", value.tag, to_wire(value.value)]
    return ["plain", value]  # int, str, bool, None


class _Handler(SimpleHTTPRequestHandler):
    """issuer/web/static/ under /static/, verifier/static/ under /shared/, and the test page;
    nothing else."""

    extensions_map = {".js": "text/javascript", ".mjs": "text/javascript"}

    def do_GET(self):
        if self.path == PAGE:
            body = PAGE_HTML.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/static/") and ".." not in self.path:
            super().do_GET()
        elif self.path.startswith("/shared/") and ".." not in self.path:
            self.path = self.path.removeprefix("/shared")
            self.directory = str(SHARED)
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Handler, directory=str(SERVICE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture(scope="module")
def phone(origin, playwright, tmp_path_factory) -> Iterator[tuple[object, list[str]]]:
    """The browser context (a phone: pixel ratio 2) and every URL it has asked for."""
    with webcam.browser(
            playwright, None, tmp_path_factory.mktemp("phone"),
            device_scale_factor=PIXEL_RATIO, viewport={"width": 400, "height": 800}) as context:
        asked: list[str] = []
        context.on("request", lambda request: asked.append(request.url))
        yield context, asked


@pytest.fixture(scope="module")
def page(origin, phone):
    page = phone[0].new_page()
    load(page, origin)
    return page


def load(page, origin: str) -> None:
    page.goto(origin + PAGE)
    page.wait_for_selector("body[data-ready]")


def js(page, expression: str, arg=None):
    """Evaluate ``async (arg) => expression`` in the page (``hc`` holds the modules)."""
    return page.evaluate(f"async (arg) => {expression}", arg)


# ---- CBOR ----

CBOR_VALUES = [
    0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53,
    -1, -24, -25, -256, -257, -65536, -65537, -(2**32), -(2**32) - 1, -(2**53),
    b"", bytes(range(23)), bytes(24), bytes(range(256)), b"\xff" * 65536,
    "", "a", "Signature1", "ü", "健康码", "😷", "x" * 24, "é" * 200,
    [], [1, [2, [3, []]]], {}, {1: -7, 15: {6: NOW}}, {"a": [b"\x01", "b"], -65537: {1: 0}},
    [True, False, None],
    cbor2.CBORTag(18, [b"\xa1\x01\x26", {}, b"payload", bytes(64)]),
    cbor2.CBORTag(24, b""), cbor2.CBORTag(65537, "x"),
]


@pytest.mark.parametrize("value", CBOR_VALUES, ids=lambda v: repr(v)[:30])
def test_cbor_encodes_as_cbor2_does_and_decodes_back(page, value):
    expected = cbor2.dumps(value).hex()
    encoded, reencoded = js(page, """[hc.hex(hc.cbor.encode(hc.fromWire(arg.value))),
        hc.hex(hc.cbor.encode(hc.cbor.decode(hc.unhex(arg.expected))))]""",
        {"value": to_wire(value), "expected": expected})
    assert encoded == expected
    assert reencoded == expected


@pytest.mark.parametrize("data", [
    b"", b"\x18", b"\x19\x01", b"\x5a\xff\xff\xff\xff", b"\x43ab", b"\x84\x01\x02",
    b"\x01\x01", b"\x9f\x01\xff", b"\x5f\x41a\xff", b"\x1c", b"\xf9\x00\x00", b"\xfb" + bytes(8),
    b"\xf0", b"\x62\xc3\x28", b"\x81" * 40 + b"\x00",
    b"\x1b\x00\x20\x00\x00\x00\x00\x00\x01", b"\x3b\x00\x20\x00\x00\x00\x00\x00\x00",
], ids=lambda d: d[:12].hex() or "empty")
def test_cbor_refuses_truncated_or_unsupported_input(page, data):
    assert js(page, "hc.failure(() => hc.cbor.decode(hc.unhex(arg)))", data.hex()) == "CborError"


# ---- Base45 ----

def test_base45_matches_the_verifier_on_random_bytes(page):
    rng = random.Random(45)
    samples = [rng.randbytes(n) for n in [*range(70), 255, 256, 1000, 4097]]
    results = js(page, """arg.map((h) => {
        const text = hc.base45.encode(hc.unhex(h));
        return [text, hc.hex(hc.base45.decode(text))];
    })""", [s.hex() for s in samples])
    assert results == [[b45encode(s), s.hex()] for s in samples]


@pytest.mark.parametrize(("data", "text"), [
    (b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"), (b"", ""),
])
def test_base45_rfc_9285_examples(page, data, text):
    assert js(page, "hc.base45.encode(hc.unhex(arg))", data.hex()) == text
    assert js(page, "hc.hex(hc.base45.decode(arg))", text) == data.hex()


@pytest.mark.parametrize("text", [
    "A", "BB8A", "GGW", "::", ":::", "bb8", "BB8é", "BB8\n", "😷B", "BB8,",
])
def test_base45_refuses_what_the_verifier_refuses(page, text):
    with pytest.raises(Base45Error):
        b45decode(text)
    assert js(page, "hc.failure(() => hc.base45.decode(arg))", text) == "Base45Error"


# ---- the presentation format, stage by stage ----

@pytest.mark.parametrize("t", [0, 23, 24, 255, 65536, NOW, 2**32 - 1])
def test_the_protected_header_is_the_verifiers(page, t):
    assert js(page, "hc.hex(hc.presentation.protectedHeader(arg))", t) == \
        presentation_protected(t).hex()


@pytest.mark.parametrize("t", [-1, 2**32, 1.5])
def test_a_time_out_of_range_is_refused(page, t):
    assert js(page, "hc.failure(() => hc.presentation.protectedHeader(arg))", t) == "RangeError"


@pytest.mark.parametrize("length", [0, 23, 24, 300, 70_000])
def test_the_sig_structure_is_the_verifiers(page, length):
    payload = random.Random(length).randbytes(length)
    got = js(page, """hc.hex(hc.presentation.sigStructure(
        hc.presentation.protectedHeader(arg.t), hc.unhex(arg.payload)))""",
        {"t": NOW, "payload": payload.hex()})
    assert got == sig_structure(presentation_protected(NOW), payload).hex()


def test_credential_bytes_of_a_credential(page, make_code):
    code = make_code()
    assert js(page, "hc.hex(hc.presentation.credentialBytes(arg))", code) == \
        b45decode(code[len(CREDENTIAL_PREFIX):]).hex()


@pytest.mark.parametrize(("text", "error"), [
    (PRESENTATION_PREFIX + "BB8", "Error"),
    (CREDENTIAL_PREFIX + "A", "Base45Error"),
    (CREDENTIAL_PREFIX + b45encode(cbor2.dumps([1, 2, 3, 4])), "CborError"),
    (CREDENTIAL_PREFIX + b45encode(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", 1]))),
     "CborError"),
])
def test_credential_bytes_refuses_bad_text(page, text, error):
    assert js(page, "hc.failure(() => hc.presentation.credentialBytes(arg))", text) == error


# ---- the device key and presentations, end to end ----

def public_key(jwk: dict) -> ec.EllipticCurvePublicKey:
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256") and set(jwk) == {"kty", "crv", "x", "y"}
    x, y = (int.from_bytes(base64.urlsafe_b64decode(jwk[c] + "=="), "big") for c in "xy")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def bound_code(page, make_code) -> str:
    """A credential issued to the page's device key."""
    return make_code(cnf=cnf_for(public_key(js(page, "hc.jwk()"))), score=91)


def reason_of(text: str, trust, now: int) -> Reason:
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now)
    return caught.value.reason


def test_a_presentation_made_on_the_phone_passes_the_verifier(page, trust, make_code):
    code = bound_code(page, make_code)
    text = js(page, f"hc.present(arg, {NOW})", code)
    credential = verify(text, trust, NOW + 5)
    assert credential.presented_at == NOW and credential.score == 91
    assert reason_of(text, trust, NOW + 90) is Reason.STALE_PRESENTATION
    # The same bytes as the Python encoder given the phone's signature.
    parsed = decode_presentation(b45decode(text[len(PRESENTATION_PREFIX):]))
    assert len(parsed.signature) == 64
    assert encode_presentation(parsed.credential, NOW, parsed.signature) == text


def test_the_device_key_cannot_be_exported(page):
    assert js(page, """(async () => {
        const pair = await hc.device.deviceKey();
        return [pair.privateKey.extractable, pair.publicKey.extractable,
                await hc.failure(() => crypto.subtle.exportKey("pkcs8", pair.privateKey)),
                await hc.failure(() => crypto.subtle.exportKey("jwk", pair.privateKey))];
    })()""") == [False, True, "InvalidAccessError", "InvalidAccessError"]


def test_the_key_and_the_credential_survive_a_reload(page, origin, trust, make_code):
    before = js(page, "hc.jwk()")
    code = bound_code(page, make_code)
    js(page, "hc.device.saveCredential({code: arg, colour: 'green'})", code)
    load(page, origin)
    assert js(page, "hc.jwk()") == before
    assert js(page, "hc.device.loadCredential()") == {"code": code, "colour": "green"}
    assert verify(js(page, f"hc.present(arg, {NOW})", code), trust, NOW).presented_at == NOW


def test_a_forgotten_key_is_replaced_and_cannot_present_the_old_credential(page, trust,
                                                                            make_code):
    old = bound_code(page, make_code)
    js(page, "hc.device.saveCredential({code: arg})", old)
    js(page, "hc.device.forgetDeviceKey()")
    assert js(page, "hc.device.loadCredential()") is None
    assert reason_of(js(page, f"hc.present(arg, {NOW})", old), trust, NOW) \
        is Reason.BAD_HOLDER_SIGNATURE


def test_two_first_uses_at_once_keep_one_key(page):
    js(page, "hc.device.forgetDeviceKey()")
    first, second, later = js(page, """(async () => {
        const pairs = await Promise.all([hc.device.deviceKey(), hc.device.deviceKey()]);
        return [...await Promise.all(pairs.map(hc.device.publicKeyJwk)), await hc.jwk()];
    })()""")
    assert first == second == later


# ---- the QR code ----

@pytest.mark.parametrize("target", ["#qr", "#qr-box"])
def test_the_drawn_qr_code_scans_back_to_the_presentation(page, make_code, target):
    text = js(page, f"hc.present(arg, {NOW})", bound_code(page, make_code))
    drawn = js(page, """(() => {
        const drawn = hc.qr.drawQR(document.querySelector(arg.target), arg.text);
        const canvas = document.querySelector(arg.target + " canvas, canvas" + arg.target);
        return {...drawn, width: canvas.width, css: canvas.getBoundingClientRect().width,
                chosen: hc.qr.qrVersion(arg.text)};
    })()""", {"target": target, "text": text})
    assert drawn["version"] == drawn["chosen"] == make_qr(text).version <= 12
    assert drawn["width"] == QR_CSS_PX * PIXEL_RATIO and drawn["css"] == QR_CSS_PX
    modules = 4 * drawn["version"] + 17 + 8
    assert drawn["moduleSize"] == QR_CSS_PX * PIXEL_RATIO // modules
    locator = page.locator(target if target == "#qr" else f"{target} canvas")
    png = locator.screenshot()
    if target == "#qr":
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "holder-qr.png").write_bytes(png)
    assert decode_image(png) == [text]


@pytest.mark.parametrize("text", ["hcp1:lowercase", "X" * 5000])
def test_text_a_qr_code_cannot_hold_is_refused(page, text):
    assert js(page, "hc.failure(() => hc.qr.drawQR(document.querySelector('#qr'), arg))",
              text) == "Error"


def test_nothing_was_fetched_but_the_page_and_its_modules(page, origin, phone):
    assert {url.removeprefix(origin) for url in phone[1]} == {
        PAGE, "/shared/verifier/cbor.js", "/shared/verifier/base45.js",
        "/static/holder/presentation.js", "/static/holder/device.js", "/static/holder/qr.js",
        "/static/vendor/qrcode-generator/qrcode.mjs"}
