"""The checkpoint app (/checkpoint/) in a real headless Chromium on a phone-sized screen, its
camera fed by generated clips (tests/webcam.py), served by a real issuer on 127.0.0.1.

Each case opens the app once online (it pins the issuer's anchor, syncs the lists into
IndexedDB, and its service worker keeps the app), then cuts the network
(``context.set_offline``) and reloads: the verdict comes from the page alone, decoded and
verified in the browser. Every request the browser makes stays on 127.0.0.1. The verdict is
read from the page's stable hook: ``#verdict[data-state]`` and ``data-reason``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DAY, TEST_PASSPHRASE
from test_kiosk_browser import VIEWPORTS, tampered
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import issue_credential, sign_raw
from issuer.web import create_app
from verifier import cnf_for, encode_presentation, presentation_message
from verifier.base45 import b45decode
from verifier.labels import CREDENTIAL_PREFIX

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = VIEWPORTS["phone"]
PATIENCE = 30.0


def _serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    import threading
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The issuer on a free port of 127.0.0.1, its keys made now (the browser's clock is the
    real one)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("issuer")
    init_home(Home(root), now=int(time.time()) - DAY)
    app = create_app({"HOME": str(root), "DEFAULT_LOCALE": "en"})
    base, server = _serve(app)
    yield base, app.extensions["healthcode"]
    server.shutdown()
    server.server_close()
    app.extensions["healthcode"].close()
    mp.undo()


@pytest.fixture(scope="module")
def sign(issuer):
    """``sign(colour, score, iat=now, ttl=DAY, **extra)`` -> a code of the issuer's key."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    key, config, _ = load_signing_key(issuer[1].home)
    mp.undo()

    def make(colour: str = "green", score: int = 87, iat: int | None = None, ttl: int = DAY,
             **extra) -> str:
        return issue_credential(key, iss=config.iss, colour=colour, score=score,
                                iat=int(time.time()) if iat is None else iat, ttl=ttl, **extra)

    return make


def present(device, code: str, at: int) -> str:
    """A phone's live code (HCP1) for ``code`` made at ``at``: what the holder page shows."""
    credential = b45decode(code[len(CREDENTIAL_PREFIX):])
    return encode_presentation(credential, at,
                               sign_raw(device, presentation_message(credential, at)))


def hook(page, name: str):
    return page.evaluate(f"window.checkpoint && window.checkpoint.{name}")


def until(page, condition, what: str, seconds: float = PATIENCE) -> None:
    """Wait for ``condition()`` (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what}"
        page.wait_for_timeout(100)


def wait_for(page, state: str) -> None:
    page.wait_for_selector(f'#verdict[data-state="{state}"]', timeout=PATIENCE * 1000)


def verdict_state(page) -> tuple[str, str]:
    element = page.locator("#verdict")
    return element.get_attribute("data-state"), element.get_attribute("data-reason")


def keep_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def installed(page) -> bool:
    """The lists are on the device and the service worker controls the page."""
    return bool(hook(page, "ready") and hook(page, "trust") is not None
                and hook(page, "lastSync") is not None
                and page.evaluate("!!navigator.serviceWorker.controller"))


@pytest.fixture
def open_app(playwright, issuer, tmp_path):
    """``open_app(clip=None, lang="en", offline=True, base=issuer, init_script=None)`` ->
    (page, requests): the app opened once online, then, offline, reloaded from the device."""
    opened = []

    def run(clip: Path | None = None, lang: str = "en", offline: bool = True,
            base: str | None = None, init_script: str | None = None):
        base = base or issuer[0]
        profile = tmp_path / f"profile{len(opened)}"
        context_manager = webcam.browser(playwright, clip, profile, viewport=PHONE,
                                         device_scale_factor=2, is_mobile=True,
                                         has_touch=True, locale=lang)
        context = context_manager.__enter__()
        if init_script:
            context.add_init_script(init_script)
        opened.append(context_manager)
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        page.goto(f"{base}/checkpoint/")
        until(page, lambda: installed(page), "sync and service worker")
        if offline:
            context.set_offline(True)
            page.reload()
            until(page, lambda: hook(page, "ready"), "app ready offline")
        return page, [u for u in requests if not u.startswith(("data:", "blob:"))]

    yield run
    for context_manager in opened:
        context_manager.__exit__(None, None, None)


def stays_local(requests: list[str], base: str) -> None:
    assert requests and all(url.startswith(base + "/") for url in requests), requests


def clip_of(tmp_path: Path, text: str | None, **options) -> Path:
    return webcam.clip(tmp_path / f"clip{time.monotonic_ns()}.y4m", code=text, **options)


# ---- the six kiosk cases, offline ------------------------------------------------------------

def test_a_valid_code_is_admitted_offline_and_nothing_leaves_127_0_0_1(open_app, issuer, sign,
                                                                        tmp_path):
    page, requests = open_app(clip_of(tmp_path, sign("green", 87)))
    wait_for(page, "admit")
    text = page.locator("#verdict").inner_text()
    assert "ADMIT" in text and "GREEN" in text and "score 87" in text
    assert "expires in" in text and "issued by" in text
    assert "STATIC CODE — CHECK ID" in text.upper()
    assert page.locator("#verdict-announce").text_content() == \
        "Admit, green, score 87. Static code — check ID"
    assert page.locator("#rule-text").inner_text() == "Admits green codes"
    assert hook(page, "mode") == "device"  # decoded and verified in the page
    until(page, lambda: (hook(page, "counts") or {}).get("admitted", 0) >= 1, "a count")
    assert {p["state"] for p in hook(page, "played")} == {"admit"}
    assert page.locator("#torch").is_hidden()  # the fake camera has no light to switch
    # Held in view, the code is announced once (the kiosk's 5 s repeat rule, per code).
    seen = hook(page, "frames")
    until(page, lambda: hook(page, "frames") >= seen + 20, "more frames")
    assert len(hook(page, "announcements")) == 1
    keep_screenshot(page, "checkpoint-admit.png")
    stays_local(requests, issuer[0])


def test_the_language_switch_works_online_and_offline(open_app, tmp_path):
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=1.0), offline=False)
    page.click('.languages a[hreflang="zh-CN"]')  # online: the server keeps the choice
    page.wait_for_selector('html[lang="zh-CN"]', timeout=PATIENCE * 1000)
    until(page, lambda: hook(page, "ready"), "app ready")
    page.context.set_offline(True)
    page.click('.languages a[hreflang="en"]')
    page.wait_for_selector('html[lang="en"]', timeout=PATIENCE * 1000)
    until(page, lambda: hook(page, "ready"), "app ready")
    assert page.locator("#verdict-word").inner_text() == "READY"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click('.languages a[hreflang="zh-CN"]')
    page.wait_for_selector('html[lang="zh-CN"]', timeout=PATIENCE * 1000)
    until(page, lambda: hook(page, "ready"), "app ready")
    assert page.locator("#verdict-word").inner_text() == "就绪"


def test_without_lists_the_app_says_so_and_refuses_to_guess(playwright, issuer, sign,
                                                             tmp_path):
    """The issuer's lists cannot be fetched: the page says plainly that codes cannot be
    checked, and a code is refused for the checkpoint's reason, not the code's."""
    with webcam.browser(playwright, clip_of(tmp_path, sign("green", 87)), tmp_path / "p",
                        viewport=PHONE) as context:
        context.route("**/trust/**", lambda route: route.abort())
        page = context.new_page()
        page.goto(f"{issuer[0]}/checkpoint/")
        wait_for(page, "invalid")
        assert verdict_state(page) == ("invalid", "trust_list_malformed")
        assert "Checkpoint has no valid trust list" in page.locator("#verdict").inner_text()
        warning = page.locator("#warnings")
        assert warning.is_visible() and "codes cannot be checked" in warning.inner_text()
        assert "no_trust_list" in hook(page, "warnings")
        assert (hook(page, "counts") or {}).get("invalid", 0) == 0  # not the code's fault


def test_a_code_the_rule_refuses_is_denied(open_app, sign, tmp_path):
    page, _ = open_app(clip_of(tmp_path, sign("red", 20)))
    wait_for(page, "deny")
    assert "red is not admitted here" in page.locator("#verdict").inner_text()
    keep_screenshot(page, "checkpoint-deny.png")


def test_an_expired_code_is_invalid_with_when(open_app, sign, tmp_path):
    page, _ = open_app(clip_of(tmp_path, sign("green", 87, iat=int(time.time()) - 3 * DAY)))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "expired")
    assert "Code expired" in page.locator("#verdict").inner_text()
    assert "expired 2d 0h ago" in page.locator("#verdict-detail").inner_text()
    keep_screenshot(page, "checkpoint-invalid-expired.png")


def test_a_tampered_code_is_invalid_bad_signature(open_app, sign, tmp_path):
    page, _ = open_app(clip_of(tmp_path, tampered(sign("green", 87))))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "bad_signature")
    assert "Tampered or forged" in page.locator("#verdict").inner_text()


def test_a_revoked_code_is_invalid_from_the_synced_list(open_app, issuer, tmp_path):
    service = issuer[1]
    person = service.create_person(actor="test", name="Revoked Person", id_number="ID-R1",
                                   phone="13700000009", organisation="Org")
    record = service.issue(person, actor="test")
    service.store.revoke(record["cti"], actor="test", reason="issued in error")
    page, _ = open_app(clip_of(tmp_path, record["text"]))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "revoked")
    assert "Code revoked by the issuer" in page.locator("#verdict").inner_text()


def test_a_clip_without_a_code_stays_ready(open_app, tmp_path):
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=2.0))
    until(page, lambda: hook(page, "frames") >= 20, "frames read")
    assert verdict_state(page) == ("idle", "")
    assert page.locator("#verdict-word").inner_text() == "READY"
    assert hook(page, "verdicts") == [] and hook(page, "errors") == []


# ---- live codes ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def device():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def test_a_live_phone_code_is_admitted(open_app, sign, device, tmp_path):
    bound = sign("green", 93, cnf=cnf_for(device.public_key()))
    page, _ = open_app(clip_of(tmp_path, present(device, bound, int(time.time())),
                               code_seconds=4.0))
    wait_for(page, "admit")
    note = page.locator("#verdict-static")
    assert note.is_visible() and note.inner_text().startswith("Live code from its phone, made")
    assert "score 93" in page.locator("#verdict").inner_text()
    keep_screenshot(page, "checkpoint-live.png")


def test_a_recording_of_a_live_code_is_refused(open_app, sign, device, tmp_path):
    bound = sign("green", 93, cnf=cnf_for(device.public_key()))
    page, _ = open_app(clip_of(tmp_path, present(device, bound, int(time.time()) - 600)))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "stale_presentation")
    assert "a live code is at most 1m 0s old" in page.locator("#verdict-detail").inner_text()
