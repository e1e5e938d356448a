"""The holder's phone page in a real headless Chromium at phone size (390×844), against the
issuer service on 127.0.0.1: enrolment through the link, the live code read back from a
screenshot by the verifier, why (the sum), declare (the colour changes), offline reload, sign-in
by code on a second phone; then the checkpoint kiosk fed, through a fake webcam, with frames of
the phone's screen: admitted live, refused as a 90-second-old recording.

Everything runs on the real clock (the phone's JavaScript has no other). Screenshots are kept
in tests/artifacts/holder-*.png for people to look at.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from PIL import Image
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app
from verifier import (
    PRESENTATION_PREFIX,
    Reason,
    TrustList,
    VerificationError,
    decode_image,
    verify,
)
from verifier.kiosk import create_app as create_kiosk

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
PEOPLE = {
    "wang": {"name": "Wang Wu", "id_number": "330106198803034567",
             "phone": "+86 137 0000 0003", "organisation": "Gongshu Market"},
    "zhao": {"name": "Zhao Liu", "id_number": "330106197704045678",
             "phone": "+86 136 0000 0004", "organisation": "Gongshu Market"},
}


class Outbox:
    """The code sender of these tests: keeps the codes."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        Outbox.sent.append((phone, code))


def _serve(app) -> tuple[str, object, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server, thread


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The issuer service on a free port of 127.0.0.1 (SQLite), its clock the real one."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("issuer")
    init_home(Home(root))
    app = create_app({"HOME": str(root), "CODE_SENDER": "test_holder_browser:Outbox",
                      "DEFAULT_LOCALE": "en"})  # Chinese pages: test_holder_a11y.py
    base, server, thread = _serve(app)
    yield base, app.extensions["healthcode"]
    server.shutdown()
    server.server_close()
    thread.join(5)
    app.extensions["healthcode"].close()
    mp.undo()


@pytest.fixture(scope="module")
def trust(issuer) -> TrustList:
    return TrustList.load(issuer[1].home.trust_list)


@pytest.fixture
def phone(playwright, tmp_path):
    """``phone(name)`` -> a fresh phone-sized browser profile (closed after the test)."""
    opened = []

    def open_phone(name: str, clip: Path | None = None, **options):
        options = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
                   "has_touch": True, **options}
        context = webcam.browser(playwright, clip, tmp_path / name, **options)
        browser = context.__enter__()
        opened.append(context)
        return browser

    yield open_phone
    for context in opened:
        context.__exit__(None, None, None)


def keep(page, name: str) -> bytes:
    ARTIFACTS.mkdir(exist_ok=True)
    data = page.screenshot(full_page=False)
    (ARTIFACTS / name).write_bytes(data)
    return data


def wait_for_code(page, colour: str | None = None, after: int = 0) -> int:
    """Wait until the page shows a presentation made after ``after`` (and ``colour``);
    return its time."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = page.evaluate("""() => { const c = document.getElementById('card');
            return c ? [c.dataset.presentedAt || '', c.dataset.colour || ''] : ['', '']; }""")
        if state[0] and int(state[0]) > after and colour in (None, state[1]):
            return int(state[0])
        page.wait_for_timeout(100)
    raise AssertionError(f"no code shown (state {state}, status "
                         f"{page.locator('#status').inner_text()!r})")


def presentation_in(png: bytes) -> str:
    texts = [t for t in decode_image(png) if t.startswith(PRESENTATION_PREFIX)]
    assert texts, "no presentation in the screenshot"
    return texts[0]


def enrol(page, base: str, service, who: str) -> str:
    person = service.create_person(actor="test", **PEOPLE[who])
    token = service.store.create_enrolment(person, actor="test")
    page.goto(f"{base}/enrol/{token}")
    page.wait_for_url(f"{base}/me", timeout=20_000)
    return person


def test_enrol_see_explain_declare_and_go_offline(phone, issuer, trust):
    base, service = issuer
    page = phone("wang").new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    person = enrol(page, base, service, "wang")

    # My code: the QR in a screenshot is a valid live presentation of this phone's credential.
    shown = wait_for_code(page, "green")
    png = keep(page, "holder-code.png")
    credential = verify(presentation_in(png), trust)
    assert (credential.colour, credential.score) == ("green", 80) and not credential.static
    assert abs(credential.presented_at - shown) <= 15
    assert page.locator("#colour-word").inner_text() == "GREEN"
    assert page.locator("#score").inner_text() == "Score 80"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.locator("#clock").inner_text())
    assert "left)" in page.locator("#expiry").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    # A picture of it 90 s later, and the bare credential kept on the phone, are refused.
    with pytest.raises(VerificationError) as stale:
        verify(presentation_in(png), trust, credential.presented_at + 90)
    assert stale.value.reason is Reason.STALE_PRESENTATION
    bare = page.evaluate("""async () => (await import('/static/holder/device.js'))
                            .loadCredential().then((c) => c.text)""")
    with pytest.raises(VerificationError) as copied:
        verify(bare, trust)
    assert copied.value.reason is Reason.HOLDER_PROOF_MISSING

    # The key is the browser's and cannot be taken out of it.
    assert page.evaluate("""async () => { const m = await import('/static/holder/device.js');
        const pair = await m.deviceKey();
        try { await crypto.subtle.exportKey('pkcs8', pair.privateKey); return 'exported'; }
        catch (e) { return e.name; } }""") == "InvalidAccessError"

    # Why this colour: the lines add up to the score shown.
    service.add_observation(person, actor="lab", kind="steps", value=16_000,
                            observed_at=int(time.time()) - 3600, source="pedometer")
    page.goto(f"{base}/me/why")
    points = [Decimal(p) for p in page.locator("#why tr[data-points]").evaluate_all(
        "rows => rows.map(r => r.dataset.points)")]
    assert sum(points) == int(page.locator("#total").inner_text()) == 85
    assert "16,000 steps a day\t+5" in page.locator("#why").inner_text()
    keep(page, "holder-why.png")

    # Declare: the effect is shown before sending; then the code turns yellow.
    page.goto(f"{base}/me/declare")
    page.check("input[name=symptoms]")
    page.wait_for_selector("#preview[data-colour=yellow]", timeout=10_000)
    assert "becomes yellow, score 59" in page.locator("#preview").inner_text()
    keep(page, "holder-declare.png")
    page.click("button[type=submit]")
    page.wait_for_selector(".done")
    assert "now yellow, score 59" in page.locator(".done").inner_text()
    page.goto(f"{base}/me")
    wait_for_code(page, "yellow")
    credential = verify(presentation_in(keep(page, "holder-code-yellow.png")), trust)
    assert (credential.colour, credential.score) == ("yellow", 59)

    # Offline: the page, its scripts and the credential come from the phone itself, and the
    # code it shows is still fresh and valid.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    page.context.set_offline(True)
    before = int(time.time())
    page.reload()
    made = wait_for_code(page, "yellow", after=before - 1)
    png = keep(page, "holder-offline.png")
    assert "Offline" in page.locator("#status").inner_text()
    credential = verify(presentation_in(png), trust)
    assert credential.colour == "yellow" and credential.presented_at >= made - 1
    page.context.set_offline(False)
    assert all(url.startswith(base) for url in requests), requests


def test_sign_in_by_code_on_a_second_phone(phone, issuer, trust):
    base, service = issuer
    first = phone("zhao-1").new_page()
    enrol(first, base, service, "zhao")
    wait_for_code(first)

    second = phone("zhao-2").new_page()
    second.goto(f"{base}/signin")
    second.fill("#phone", PEOPLE["zhao"]["phone"])
    second.click("button[type=submit]")
    second.wait_for_selector("#code")
    code = next(c for p, c in reversed(Outbox.sent) if p == PEOPLE["zhao"]["phone"])
    second.fill("#code", code)
    second.click("button[type=submit]")
    second.wait_for_url(f"{base}/me")
    wait_for_code(second, "green")
    credential = verify(presentation_in(keep(second, "holder-second-phone.png")), trust)
    assert credential.colour == "green"
    # Every page reads at 360 px: nothing wider than the screen.
    second.set_viewport_size({"width": 360, "height": 740})
    for path in ("/me", "/me/why", "/me/declare", "/me/data"):
        second.goto(f"{base}{path}")
        assert second.evaluate("() => document.documentElement.scrollWidth") <= 360, path
    keep(second, "holder-data-360.png")
    # The first phone is signed out: its session ended when the second was bound.
    first.goto(f"{base}/me")
    assert first.url.endswith("/signin")


def _phone_frames(screenshot: bytes, size=webcam.SIZE) -> Image.Image:
    """A webcam frame of the phone held up to the camera: the screen's top part (band, code,
    clock), scaled to fill the frame's height, on a grey scene."""
    screen = Image.open(io.BytesIO(screenshot)).convert("L")
    top = screen.crop((0, 0, screen.width, int(screen.height * 0.62)))
    scale = size[1] / top.height
    top = top.resize((int(top.width * scale), size[1]), Image.Resampling.LANCZOS)
    frame = webcam.empty_frame(size)
    frame.paste(top, ((size[0] - top.width) // 2, 0))
    return frame


def test_the_kiosk_admits_the_live_phone_and_refuses_a_recording(phone, issuer, trust,
                                                                  tmp_path):
    base, service = issuer
    page = phone("kiosk-holder").new_page()
    person = service.create_person(actor="test", **{
        **PEOPLE["wang"], "id_number": "330106196605056789", "name": "Sun Qi"})
    token = service.store.create_enrolment(person, actor="test")
    page.goto(f"{base}/enrol/{token}")
    page.wait_for_url(f"{base}/me")
    wait_for_code(page, "green")
    screenshot = keep(page, "holder-for-kiosk.png")
    clip = webcam.write_clip(tmp_path / "phone.y4m", [_phone_frames(screenshot)] * 20)

    def kiosk_verdict(clock_offset: int) -> tuple[str, str | None]:
        app = create_kiosk({"TRUST": service.home.trust_list, "RULE": "green",
                            "DEFAULT_LOCALE": "en",
                            "CLOCK": lambda: time.time() + clock_offset})
        kiosk_base, server, thread = _serve(app)
        try:
            checkpoint = phone(f"kiosk-{clock_offset}", clip, is_mobile=False, has_touch=False,
                               device_scale_factor=1,
                               viewport={"width": 1280, "height": 720}).new_page()
            checkpoint.goto(kiosk_base + "/")
            checkpoint.wait_for_selector('#verdict[data-state="admit"], '
                                         '#verdict[data-state="invalid"], '
                                         '#verdict[data-state="deny"]', timeout=20_000)
            verdict = checkpoint.locator("#verdict")
            if verdict.get_attribute("data-state") == "admit":
                assert "LIVE CODE FROM ITS PHONE, MADE" in verdict.inner_text().upper()
            ARTIFACTS.mkdir(exist_ok=True)
            checkpoint.screenshot(path=str(ARTIFACTS / f"holder-kiosk-{clock_offset}s.png"))
            return verdict.get_attribute("data-state"), verdict.get_attribute("data-reason")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    assert kiosk_verdict(0)[0] == "admit"
    assert kiosk_verdict(90) == ("invalid", "stale_presentation")
