"""``/shared/scan/decoder.js`` (zxing-wasm, vendored) in a real headless Chromium.

The page (tests/scanpage.py) is served from 127.0.0.1 under the kiosk's CSP plus only
``'wasm-unsafe-eval'``; its frames go through createImageBitmap -> canvas -> ImageData as a
camera loop's do. Nothing may be fetched from anywhere but 127.0.0.1: zxing-wasm's default is a
CDN.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pytest
from imaging import camera_frame, encode, qr_image
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from verifier import webui

webcam = pytest.importorskip("webcam")
scanpage = pytest.importorskip("scanpage")

VENDOR = webui.STATIC / "vendor" / "zxing-wasm"
WASM_PATH = "/shared/vendor/zxing-wasm/zxing_reader.wasm"
TEXT = "HCC1:" + "6BFOXN*TS0BI$ZDFRH" * 8


def _damaged(text: str) -> bytes:
    """A sharp QR code of ``text`` with a band through its data blanked: the finder patterns
    are whole (zxing finds the symbol), the errors are more than ECC M corrects."""
    image = qr_image(text, module_px=6).convert("L")
    side = image.width
    draw = ImageDraw.Draw(image)
    draw.rectangle((side * 0.3, side * 0.3, side * 0.7, side * 0.7), fill=255)
    frame = Image.new("L", (640, 480), 128)
    frame.paste(image, ((640 - side) // 2, (480 - side) // 2))
    return encode(frame, "PNG")


FAR_TEXT = "HCC1:" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWM+-PT6JJ9FRFAN:Z6P9CB5O3" \
    "VWG4K0KTF:4J/TNY4I2O1U6DD" * 2
FRAMES = {
    "code.jpg": encode(camera_frame(TEXT, seed=3), "JPEG", quality=80),
    # tests/test_regions.py's far code: zxing-cpp finds the symbol but cannot read it at first.
    "far.jpg": encode(camera_frame(FAR_TEXT, scale=0.27, blur=1.0, rotation=12, seed=0),
                      "JPEG", quality=80),
    "code-720p.jpg": encode(camera_frame(TEXT, (1280, 720), scale=0.3, seed=4), "JPEG",
                            quality=80),
    "empty.jpg": encode(camera_frame((), seed=5), "JPEG", quality=80),
    "damaged.png": _damaged(TEXT),
}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, scanpage.create_app(FRAMES), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def loaded(origin, playwright, tmp_path_factory):
    """The page with the decoder ready; every response the browser got, every URL asked."""
    with webcam.browser(playwright, None, tmp_path_factory.mktemp("decoder")) as context:
        asked: list[str] = []
        responses: list[tuple[str, str]] = []
        context.on("request", lambda request: asked.append(request.url))
        context.on("response", lambda response: responses.append(
            (response.url, response.headers.get("content-type", ""))))
        page = context.new_page()
        page.goto(origin + scanpage.PAGE)
        page.wait_for_selector("body[data-ready], body[data-error]", state="attached")
        assert page.evaluate("document.body.dataset.error ?? null") is None
        yield page, asked, responses


def _decode(page, name: str, budget_ms: float = 25) -> dict:
    return page.evaluate("([url, budget]) => window.scan.decodeUrl(url, budget)",
                         [f"/test/frame/{name}", budget_ms])


def test_the_wasm_comes_from_this_origin_as_application_wasm(loaded, origin):
    page, asked, responses = loaded
    assert (origin + WASM_PATH, "application/wasm") in responses
    assert all(url.startswith(origin + "/") for url in asked), asked


@pytest.mark.parametrize("name", ["code.jpg", "code-720p.jpg"])
def test_a_camera_frame_is_read(loaded, name):
    page, asked, _ = loaded
    result = _decode(page, name)
    assert result["texts"] == [TEXT]
    assert result["symbolSeen"] is True
    assert result["ms"] >= 0


def test_a_far_code_is_read_by_the_retries(loaded):
    # A generous budget: what is tested is that the retries read it, not how fast.
    result = _decode(loaded[0], "far.jpg", budget_ms=2000)
    assert result["texts"] == [FAR_TEXT]
    assert result["symbolSeen"] is True


def test_a_frame_without_a_code_gives_no_text(loaded):
    result = _decode(loaded[0], "empty.jpg")
    assert result["texts"] == []
    assert result["symbolSeen"] is False


def test_a_symbol_seen_but_not_read_is_reported(loaded):
    result = _decode(loaded[0], "damaged.png", budget_ms=200)
    assert result["texts"] == []
    assert result["symbolSeen"] is True


def _region(page, corners, format_name: str) -> dict:
    return page.evaluate("""async ([corners, format]) => {
        const { region } = await import("/shared/scan/decoder.js");
        const [topLeft, topRight, bottomRight, bottomLeft] = corners.map(([x, y]) => ({ x, y }));
        return region({ topLeft, topRight, bottomRight, bottomLeft }, 640, 480, format);
    }""", [corners, format_name])


def test_a_seen_symbol_s_region_keeps_a_margin_inside_the_frame(loaded):
    square = [[100, 100], [200, 100], [200, 200], [100, 200]]
    assert _region(loaded[0], square, "QRCode") == {"x": 71, "y": 71, "width": 158,
                                                     "height": 158}
    whole = [[5, 5], [630, 5], [630, 470], [5, 470]]
    assert _region(loaded[0], whole, "QRCode") == {"x": 0, "y": 0, "width": 640,
                                                    "height": 480}


@pytest.mark.parametrize("format_name", ["rMQR Code", "RMQRCode", "Micro QR Code"])
def test_a_sliver_seen_as_another_symbol_gets_a_square_around_it(loaded, format_name):
    # A blurred QR code far away is often "seen" as a thin rectangular (rMQR) or micro QR
    # symbol: a finder pattern and a strip next to it. Its region must hold the whole code.
    sliver = [[300, 200], [400, 200], [400, 220], [300, 220]]
    assert _region(loaded[0], sliver, format_name) == {"x": 196, "y": 56, "width": 308,
                                                       "height": 308}


def test_nothing_was_asked_of_another_host(loaded, origin):
    page, asked, _ = loaded
    for name in FRAMES:
        _decode(page, name)
    assert asked and all(url.startswith(origin + "/") for url in asked), asked


def test_the_vendored_files_are_the_ones_the_readme_names():
    readme = (VENDOR / "README.txt").read_text()
    for path in ("reader/index.js", "share.js", "zxing_reader.wasm"):
        digest = hashlib.sha256((VENDOR / path).read_bytes()).hexdigest()
        assert digest in readme, path
    assert "Apache License" in (VENDOR / "LICENSE").read_text()


@pytest.fixture
def issuer_app(tmp_path, monkeypatch):
    from conftest import TEST_PASSPHRASE

    from issuer.keys.home import PASSPHRASE_ENV, Home
    from issuer.keys.keystore import init_home
    from issuer.web import create_app
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/i.db"})
    yield app
    app.extensions["healthcode"].close()


def test_both_apps_serve_the_wasm_as_application_wasm(home, issuer_app):
    from verifier.kiosk import create_app as kiosk_app

    wasm = (VENDOR / "zxing_reader.wasm").read_bytes()
    kiosk = kiosk_app({"TRUST": home.trust_list, "RULE": "green"})
    for app in (kiosk, issuer_app):
        response = app.test_client().get(WASM_PATH)
        assert response.status_code == 200
        assert response.mimetype == "application/wasm"
        assert response.get_data() == wasm
        response.close()


def test_allow_wasm_adds_only_wasm_unsafe_eval_to_script_src():
    from verifier.kiosk import CONTENT_SECURITY_POLICY

    widened = webui.allow_wasm(CONTENT_SECURITY_POLICY)
    assert widened.replace(" 'wasm-unsafe-eval'", "") == CONTENT_SECURITY_POLICY
    assert "script-src 'self' 'wasm-unsafe-eval';" in widened
    assert webui.allow_wasm(widened) == widened
    with pytest.raises(ValueError):
        webui.allow_wasm("default-src 'self'")


def test_the_vendored_library_s_strings_are_not_the_page_s():
    # Minified zxing-wasm calls a function `_` too: its arguments are not words to translate.
    assert "readerInit" not in webui.script_messages([webui.STATIC])
