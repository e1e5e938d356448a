"""The checkpoint kiosk in a real headless Chromium, its camera fed by generated clips.

Each case launches a fresh browser whose fake webcam plays a Y4M clip (tests/webcam.py), opens
the kiosk page served by a real server on 127.0.0.1, and reads the verdict from the page's
stable hook: ``#verdict[data-state]`` and ``data-reason``. Screenshots of the admit and invalid
screens are kept in tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DAY, NOW
from werkzeug.serving import make_server

from verifier.base45 import b45decode, b45encode
from verifier.kiosk import create_app
from verifier.labels import CREDENTIAL_PREFIX

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def kiosk(home) -> Iterator[tuple[str, object]]:
    """The kiosk (rule: green) on a free port of 127.0.0.1; its clock runs from NOW."""
    started = time.monotonic()
    app = create_app({"TRUST": home.trust_list, "RULE": "green", "DEFAULT_LOCALE": "en",
                      "CLOCK": lambda: NOW + (time.monotonic() - started)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", app.extensions["checkpoint"]
    server.shutdown()
    thread.join(5)


def tampered(text: str) -> str:
    """The same code with one bit of its signature flipped: still well-formed."""
    raw = bytearray(b45decode(text[len(CREDENTIAL_PREFIX):]))
    raw[-10] ^= 0x01
    return CREDENTIAL_PREFIX + b45encode(bytes(raw))


def open_kiosk(playwright, url: str, clip: Path, profile: Path):
    """Start a browser on ``clip`` and open the kiosk; return (context, page, requests)."""
    context = webcam.browser(playwright, clip, profile, viewport={"width": 1280, "height": 720})
    browser = context.__enter__()
    requests: list[str] = []
    browser.on("request", lambda request: requests.append(request.url))
    page = browser.new_page()
    page.goto(url)
    return context, page, requests


def verdict_state(page) -> tuple[str, str]:
    element = page.locator("#verdict")
    return element.get_attribute("data-state"), element.get_attribute("data-reason")


def wait_for(page, state: str, timeout_ms: int = 20_000) -> None:
    page.wait_for_selector(f'#verdict[data-state="{state}"]', timeout=timeout_ms)


def keep_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def run_clip(playwright, kiosk, tmp_path):
    """``run_clip(**clip_args)`` -> the kiosk page playing that clip (closed after the test)."""
    opened = []

    def run(**clip_args):
        clip = webcam.clip(tmp_path / f"clip{len(opened)}.y4m", **clip_args)
        context, page, requests = open_kiosk(playwright, kiosk[0], clip,
                                             tmp_path / f"profile{len(opened)}")
        opened.append(context)
        return page, requests

    yield run
    for context in opened:
        context.__exit__(None, None, None)


def test_a_valid_code_is_admitted_and_nothing_leaves_127_0_0_1(run_clip, kiosk, make_code):
    page, requests = run_clip(code=make_code("green", 87, iat=NOW))
    wait_for(page, "admit")
    text = page.locator("#verdict").inner_text()
    assert "ADMIT" in text and "GREEN" in text and "score 87" in text
    assert "expires in" in text and "STATIC CODE — CHECK ID" in text.upper()
    keep_screenshot(page, "kiosk-admit.png")
    announcer = page.locator("#verdict-announce")
    assert announcer.get_attribute("aria-live") == "assertive"
    assert announcer.text_content() == "Admit, green, score 87. Static code — check ID"
    assert requests and all(url.startswith(kiosk[0]) for url in requests), requests
    assert page.locator("#rule-text").inner_text() == "Admits green codes"


def test_a_code_the_rule_refuses_is_denied(run_clip, make_code):
    page, _ = run_clip(code=make_code("red", 20, iat=NOW))
    wait_for(page, "deny")
    assert "red is not admitted here" in page.locator("#verdict").inner_text()
    keep_screenshot(page, "kiosk-deny.png")


def test_an_expired_code_is_invalid_with_its_reason(run_clip, make_code):
    page, _ = run_clip(code=make_code("green", 87, iat=NOW - 3 * DAY, ttl=DAY))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "expired")
    assert "Code expired" in page.locator("#verdict").inner_text()
    assert "expired 2d 0h ago" in page.locator("#verdict-detail").inner_text()
    keep_screenshot(page, "kiosk-invalid-expired.png")


def test_a_tampered_code_is_invalid_bad_signature(run_clip, make_code):
    page, _ = run_clip(code=tampered(make_code("green", 87, iat=NOW)))
    wait_for(page, "invalid")
    assert verdict_state(page) == ("invalid", "bad_signature")
    assert "Tampered or forged" in page.locator("#verdict").inner_text()
    keep_screenshot(page, "kiosk-invalid-tampered.png")


def test_a_clip_without_a_code_stays_idle(run_clip, kiosk):
    checkpoint = kiosk[1]
    before = checkpoint.stats()["frames_without_code"]
    page, _ = run_clip(empty_seconds=2.0)
    deadline = time.monotonic() + 20
    while checkpoint.stats()["frames_without_code"] < before + 10:  # the page is scanning
        assert time.monotonic() < deadline, "the page sent no frames"
        page.wait_for_timeout(200)
    page.wait_for_timeout(1500)
    assert verdict_state(page) == ("idle", "")
    assert page.locator("#verdict-word").inner_text() == "READY"


def test_a_code_appearing_after_a_second_of_empty_frames_is_picked_up(run_clip, make_code):
    page, _ = run_clip(empty_seconds=1.0, code=make_code("green", 91, iat=NOW),
                       code_seconds=3.0)
    wait_for(page, "admit")
    timeline = page.evaluate("window.kiosk")
    first = timeline["verdicts"][0]
    assert first["state"] == "admit" and first["announce"] is True
    # The clip starts with 1 s of empty frames: the verdict cannot come before them.
    assert first["at"] - timeline["startedAt"] >= 900
    assert "score 91" in page.locator("#verdict").inner_text()


def test_no_camera_says_so_and_offers_the_upload(playwright, kiosk, tmp_path, make_code):
    """With the camera denied the page says exactly that; the upload fallback still works."""
    args = [a for a in webcam.BROWSER_ARGS if a != "--use-fake-ui-for-media-stream"]
    context = playwright.chromium.launch_persistent_context(
        os.fspath(tmp_path / "profile"), executable_path=webcam.CHROMIUM, headless=True,
        args=[*args, "--deny-permission-prompts"], viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(kiosk[0])
        message = page.locator("#camera-message")
        message.wait_for(state="visible", timeout=15_000)
        assert "denied" in message.inner_text() or "No camera" in message.inner_text()
        code = tmp_path / "code.png"
        from issuer.render.qr import render_image
        code.write_bytes(render_image(make_code("green", 77, iat=NOW), "png"))
        page.set_input_files("#upload", str(code))
        wait_for(page, "admit")
        assert "score 77" in page.locator("#verdict").inner_text()
    finally:
        context.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _launch(playwright, profile: Path, args: list[str]):
    return playwright.chromium.launch_persistent_context(
        os.fspath(profile), executable_path=webcam.CHROMIUM, headless=True, args=args,
        viewport={"width": 1280, "height": 720})


def test_no_camera_at_all_says_so(playwright, kiosk, tmp_path):
    args = [a for a in webcam.BROWSER_ARGS if a != "--use-fake-device-for-media-stream"]
    context = _launch(playwright, tmp_path / "profile", args)
    try:
        page = context.new_page()
        page.goto(kiosk[0])
        message = page.locator("#camera-message")
        message.wait_for(state="visible", timeout=15_000)
        assert "No camera found" in message.inner_text()
        assert page.locator("#upload-button").is_visible()
        assert page.locator("#code-text").is_visible()
    finally:
        context.close()


def test_an_insecure_origin_says_why_there_is_no_camera(playwright, kiosk, tmp_path,
                                                        make_code):
    """Over plain HTTP from a name other than localhost the browser offers no camera API."""
    port = kiosk[0].rsplit(":", 1)[1].strip("/")
    args = [a for a in webcam.BROWSER_ARGS if not a.startswith("--host-resolver-rules")]
    args.append("--host-resolver-rules=MAP checkpoint.test 127.0.0.1")
    context = _launch(playwright, tmp_path / "profile", args)
    try:
        page = context.new_page()
        page.goto(f"http://checkpoint.test:{port}/")
        message = page.locator("#camera-message")
        message.wait_for(state="visible", timeout=15_000)
        assert "insecure origin (http://checkpoint.test" in message.inner_text()
        assert page.evaluate("window.isSecureContext") is False
        page.fill("#code-text", make_code("green", 66, iat=NOW))
        page.click("#text-form button")
        wait_for(page, "admit")
        assert "score 66" in page.locator("#verdict").inner_text()
        keep_screenshot(page, "kiosk-insecure-origin-pasted.png")
    finally:
        context.close()


def test_a_static_code_shows_what_to_check_on_the_id(playwright, kiosk, tmp_path, signing):
    """A printed card's code carries the masked name and the id number's last characters:
    the page shows them beside "check ID"; the text is set as text, never as markup."""
    from issuer.keys.signing import issue_credential
    from verifier import IdCheck

    key, config = signing
    card = issue_credential(key, iss=config.iss, colour="green", score=81, iat=NOW, ttl=DAY,
                            id_check=IdCheck("<*", "123X"))
    args = [a for a in webcam.BROWSER_ARGS if a != "--use-fake-device-for-media-stream"]
    context = _launch(playwright, tmp_path / "profile", args)
    try:
        page = context.new_page()
        page.goto(kiosk[0])
        page.locator("#camera-message").wait_for(state="visible", timeout=15_000)
        page.fill("#code-text", card)
        page.click("#text-form button")
        wait_for(page, "admit")
        note = page.locator("#verdict-static")
        assert note.text_content() == "Static code — check ID: name <* · ID number ending 123X"
        assert note.evaluate("element => element.children.length") == 0
        keep_screenshot(page, "kiosk-static-check-id.png")
    finally:
        context.close()


# ---- languages, the spoken verdict, sound, accessibility -------------------------------------

#: Words allowed on the Chinese page: code prefixes, the issuer's name from the trust list
#: (data, not the page's words), numbers, and the switch to English (it names itself).
_ALLOWED_LATIN = ("HCC1", "English")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u9fff]")
VIEWPORTS = {"desktop": {"width": 1280, "height": 720}, "phone": {"width": 390, "height": 844}}


def _read_texts(page, skip: str = ".languages, script, [hidden]") -> list[str]:
    """What a person reads or hears: visible text and the labels of every element, the
    language switch left out (each language names itself there), and text inside ``skip``."""
    return page.evaluate("""(skip) => {
      const texts = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || el.closest(skip)) continue;
        if (node.textContent.trim()) texts.push(node.textContent.trim());
      }
      for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
        if (el.closest('.languages')) continue;
        for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
          if (el.getAttribute(name)) texts.push(el.getAttribute(name));
        }
      }
      return texts;
    }""", skip)


def _foreign(texts: list[str], lang: str, issuer_name: str) -> list[str]:
    if lang == "en":
        return [t for t in texts if _HAN.search(t)]
    found = []
    for text in texts:
        stripped = text.replace(issuer_name, "")
        for allowed in _ALLOWED_LATIN:
            stripped = stripped.replace(allowed, "")
        if _LATIN_WORD.search(stripped):
            found.append(text)
    return found


def _serious(page) -> list[str]:
    from a11y import axe_serious
    return [f"{v['id']}: {v['help']} ({v['targets']})" for v in axe_serious(page)]


def _no_camera_page(playwright, url: str, profile: Path, lang: str, viewport: dict,
                    autoplay: str = "no-user-gesture-required"):
    """A browser without a camera (the fallbacks show), asking for ``lang``."""
    args = [a for a in webcam.BROWSER_ARGS if a != "--use-fake-device-for-media-stream"
            and not a.startswith("--autoplay-policy")] + [f"--autoplay-policy={autoplay}"]
    context = playwright.chromium.launch_persistent_context(
        os.fspath(profile), executable_path=webcam.CHROMIUM, headless=True, args=args,
        viewport=viewport, locale=lang)
    page = context.new_page()
    page.goto(url)
    page.locator("#camera-message").wait_for(state="visible", timeout=15_000)
    return context, page


def _paste(page, text: str, state: str) -> None:
    before = page.evaluate("window.kiosk.verdicts.length")
    page.fill("#code-text", text)
    page.click("#text-form button")
    _until(page, lambda: page.evaluate("window.kiosk.verdicts.length") > before, "a verdict")
    wait_for(page, state)


def _until(page, condition, what: str, seconds: float = 20.0) -> None:
    """Wait for ``condition`` (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what}"
        page.wait_for_timeout(50)


SPOKEN = {
    "en": {"admit": "Admit, green, score 87. Static code — check ID",
           "deny": "Deny, red, score 20: red is not admitted here",
           "invalid": "Invalid: Tampered or forged code"},
    "zh-CN": {"admit": "通过，绿码，健康分 87。静态码，请核对身份证件",
              "deny": "不通过，红码，健康分 20：红码不能在此通过",
              "invalid": "无效：健康码被篡改或伪造"},
}
WORD = {"en": {"admit": "ADMIT", "deny": "DENY", "invalid": "INVALID", "idle": "READY"},
        "zh-CN": {"admit": "通过", "deny": "不通过", "invalid": "无效", "idle": "就绪"}}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_word_in_the_reader_s_language_spoken_and_accessible(
        playwright, kiosk, tmp_path, make_code, lang, viewport, home):
    """Each verdict in one language only, said in words that name the score, axe-clean, and
    whole at 200 % text; screenshots of each kept."""
    from verifier.trust import TrustList
    issuer_name = next(iter(TrustList.load(home.trust_list).issuers.values()))
    context, page = _no_camera_page(playwright, kiosk[0], tmp_path / "profile", lang,
                                    VIEWPORTS[viewport])
    try:
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("#verdict-word").inner_text() == WORD[lang]["idle"]
        codes = {"admit": make_code("green", 87, iat=NOW), "deny": make_code("red", 20, iat=NOW),
                 "invalid": tampered(make_code("green", 87, iat=NOW))}
        for state, code in codes.items():
            _paste(page, code, state)
            assert page.locator("#verdict-word").inner_text() == WORD[lang][state]
            assert page.locator("#verdict-announce").text_content() == SPOKEN[lang][state]
            shape = f"getComputedStyle(document.querySelector('#verdict .i-{state}')).display"
            assert page.evaluate(shape) == "inline"  # its own shape, not colour alone
            assert _foreign(_read_texts(page), lang, issuer_name) == [], state
            assert _serious(page) == [], (lang, viewport, state)
            keep_screenshot(page, f"kiosk-{lang}-{viewport}-{state}.png")
        # Text at 200 %: nothing runs off the screen, no element cuts its text.
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        page.wait_for_timeout(100)
        clipped = page.evaluate("""() => {
          const out = [];
          if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('page');
          for (const el of document.querySelectorAll('body *')) {
            if (el.closest('[hidden], canvas, video, svg, .sr-only') || !el.offsetParent) continue;
            const style = getComputedStyle(el);
            if (style.overflow === 'visible') continue;
            if (el.tagName === 'TEXTAREA') continue;  // it scrolls by design
            if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
              out.push(el.id || el.className || el.tagName);
          }
          const word = document.getElementById('verdict-word').getBoundingClientRect();
          if (word.right > window.innerWidth || word.left < 0) out.push('verdict-word');
          return out;
        }""")
        assert clipped == []
        assert _serious(page) == []
        keep_screenshot(page, f"kiosk-{lang}-{viewport}-text200.png")
    finally:
        context.close()


def test_the_switch_changes_the_language_and_the_json_message(playwright, kiosk, tmp_path,
                                                              make_code):
    context, page = _no_camera_page(playwright, kiosk[0], tmp_path / "profile", "en",
                                    VIEWPORTS["desktop"])
    try:
        page.click('.languages a[hreflang="zh-CN"]')
        page.locator("#camera-message").wait_for(state="visible", timeout=15_000)
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("#rule-text").inner_text() == "准许通过：绿码"
        answer = page.evaluate("""async (text) => (await fetch('/api/text', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({text})})).json()""", make_code("red", 20, iat=NOW))
        assert (answer["state"], answer["message"]) == ("deny", "红码不能在此通过")
        page.click('.languages a[hreflang="en"]')
        page.locator("#camera-message").wait_for(state="visible", timeout=15_000)
        assert page.locator("#rule-text").inner_text() == "Admits green codes"
    finally:
        context.close()


def test_sound_is_on_by_default_asks_for_one_tap_and_is_remembered(playwright, kiosk,
                                                                   tmp_path, make_code):
    """Browsers hold audio back until a gesture (Chromium's default policy, as here): the page
    says so until the first tap; deny and invalid then play different tones; turning sound
    off survives a reload."""
    context, page = _no_camera_page(playwright, kiosk[0], tmp_path / "profile", "en",
                                    VIEWPORTS["desktop"],
                                    autoplay="document-user-activation-required")
    try:
        unlock = page.locator("#sound-unlock")
        assert unlock.is_visible() and "tap anywhere" in unlock.inner_text()
        assert page.locator("#sound").get_attribute("aria-pressed") == "true"
        page.mouse.click(640, 500)  # anywhere
        _until(page, lambda: page.evaluate("window.kiosk.sound.unlocked"), "audio")
        assert unlock.is_hidden()
        _paste(page, make_code("red", 20, iat=NOW), "deny")
        _paste(page, tampered(make_code("green", 87, iat=NOW)), "invalid")
        _paste(page, make_code("green", 87, iat=NOW), "admit")
        played = {p["state"]: p for p in page.evaluate("window.kiosk.played")}
        assert set(played) == {"admit", "deny", "invalid"}
        deny, invalid = played["deny"], played["invalid"]
        assert deny["type"] != invalid["type"]
        assert deny["frequencies"] != invalid["frequencies"]
        assert len(deny["frequencies"]) != len(invalid["frequencies"])  # rhythm differs too
        assert page.evaluate("window.kiosk.tones")["deny"]["type"] == deny["type"]

        page.click("#sound")
        assert page.locator("#sound").get_attribute("aria-pressed") == "false"
        page.reload()
        page.locator("#camera-message").wait_for(state="visible", timeout=15_000)
        assert page.locator("#sound").get_attribute("aria-pressed") == "false"
        assert page.locator("#sound").inner_text() == "Sound off"
        assert unlock.is_hidden()  # no prompt for a sound that is off
        before = len(page.evaluate("window.kiosk.played"))
        page.mouse.click(640, 500)
        _paste(page, make_code("red", 20, iat=NOW), "deny")
        assert len(page.evaluate("window.kiosk.played")) == before
    finally:
        context.close()
