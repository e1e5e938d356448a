"""The checkpoint app on a phone screen (390x844) in both languages: the verdict over the
camera, nothing cut at 200 % text, every word in the reader's language, axe-clean; and the
app as the kiosk serves it, including its fallback for browsers without WebAssembly (frames
decoded on the kiosk's server)."""

from __future__ import annotations

import re
import threading

import pytest
from test_checkpoint_app import (  # noqa: F401 (fixtures)
    clip_of,
    hook,
    issuer,
    keep_screenshot,
    open_app,
    sign,
    stays_local,
    until,
    wait_for,
)
from test_kiosk_browser import SPOKEN, VIEWPORTS, WORD, _foreign, _read_texts, _serious, tampered
from werkzeug.serving import make_server

from verifier.kiosk import create_app as create_kiosk
from verifier.trust import TrustList

#: The rule's own syntax (typed by staff as it is), shown as an example on the settings form.
_RULE_SYNTAX = re.compile(r"\b(green|yellow|red|score)\b|\b(dcc|shc|nzcp):[a-z]+|WebAssembly")

_OVER_CAMERA = """() => {
  const verdict = document.getElementById('verdict').getBoundingClientRect();
  const video = document.getElementById('video').getBoundingClientRect();
  const top = document.querySelector('.top').getBoundingClientRect();
  const x = verdict.left + verdict.width / 2, y = verdict.top + verdict.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {
    inside: verdict.left >= 0 && verdict.top >= 0 && verdict.right <= innerWidth
      && verdict.bottom <= innerHeight,
    overVideo: video.left <= verdict.left && video.right >= verdict.right
      && video.top <= verdict.top && video.bottom >= verdict.bottom,
    onTop: !!hit && !!hit.closest('#verdict'),
    cameraShows: verdict.top - top.bottom,
    playing: !document.getElementById('video').paused,
  };
}"""

_CLIPPED = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('page');
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('[hidden], canvas, video, svg, .sr-only') || !el.offsetParent) continue;
    const style = getComputedStyle(el);
    if (style.overflow === 'visible' || el.tagName === 'TEXTAREA') continue;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
      out.push(el.id || el.className || el.tagName);
  }
  const word = document.getElementById('verdict-word').getBoundingClientRect();
  if (word.right > window.innerWidth || word.left < 0) out.push('verdict-word');
  return out;
}"""


def _issuer_names(issuer) -> list[str]:  # noqa: F811
    trust = TrustList.load(issuer[1].home.trust_list)
    return sorted({trust.issuer_name(iss, tag) for iss in trust.issuers
                   for tag in ("en", "zh-CN")}, key=len, reverse=True)


def _foreign_words(page, lang: str, names: list[str]) -> list[str]:
    texts = []
    for text in _read_texts(page):
        for name in names:
            text = text.replace(name, "")
        texts.append(_RULE_SYNTAX.sub("", text))
    return _foreign(texts, lang, "\0")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_phone_layout_in_both_languages(open_app, issuer, sign, tmp_path, lang):  # noqa: F811
    codes = {"admit": sign("green", 87), "deny": sign("red", 20),
             "invalid": tampered(sign("green", 87))}
    names = _issuer_names(issuer)
    for state, code in codes.items():
        page, requests = open_app(clip_of(tmp_path, code), lang=lang)
        assert page.locator("html").get_attribute("lang") == lang
        wait_for(page, state)
        assert page.locator("#verdict-word").inner_text() == WORD[lang][state]
        assert page.locator("#verdict-announce").text_content() == SPOKEN[lang][state]
        shape = f"getComputedStyle(document.querySelector('#verdict .i-{state}')).display"
        assert page.evaluate(shape) == "inline"  # its own shape, not colour alone
        placed = page.evaluate(_OVER_CAMERA)
        assert placed["inside"] and placed["overVideo"] and placed["onTop"], placed
        assert placed["cameraShows"] > 80 and placed["playing"], placed
        page.click("#more summary")  # the fallbacks and settings, open
        assert _foreign_words(page, lang, names) == [], state
        assert _serious(page) == [], (lang, state)
        keep_screenshot(page, f"checkpoint-{lang}-phone-{state}.png")
        stays_local(requests, issuer[0])
    # Text at 200 % (the last verdict on screen): nothing runs off, nothing cuts its text.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    page.wait_for_timeout(100)
    assert page.evaluate(_CLIPPED) == []
    assert _serious(page) == []
    keep_screenshot(page, f"checkpoint-{lang}-phone-text200.png")


def test_idle_screen_is_accessible_and_says_what_to_do(open_app, tmp_path):  # noqa: F811
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=1.0), lang="zh-CN")
    assert page.locator("#verdict-word").inner_text() == "就绪"
    assert page.locator("#verdict-line").inner_text() == "请把健康码对准摄像头"
    assert page.locator("#rule-text").inner_text() == "准许通过：绿码"
    assert _serious(page) == []
    keep_screenshot(page, "checkpoint-zh-CN-phone-idle.png")


def test_staff_change_the_rule_on_the_phone(open_app, sign, tmp_path):  # noqa: F811
    page, _ = open_app(clip_of(tmp_path, sign("yellow", 70)))
    wait_for(page, "deny")
    page.click("#more summary")
    page.fill("#rule-input", "green, nonsense")
    page.click("#rule-form button")
    assert "cannot be read" in page.locator("#rule-error").inner_text()
    page.fill("#rule-input", "yellow , score>=60")
    page.click("#rule-form button")
    until(page, lambda: page.locator("#rule-text").inner_text()
          == "Admits yellow codes, score at least 60", "the new rule")
    wait_for(page, "admit")  # the same code, still in view, now admitted
    page.reload()  # kept on the device
    until(page, lambda: hook(page, "ready"), "app ready")
    assert page.locator("#rule-input").input_value() == "yellow,score>=60"


# ---- the app as the kiosk serves it --------------------------------------------------------

@pytest.fixture(scope="module")
def kiosk(issuer):  # noqa: F811
    app = create_kiosk({"TRUST": issuer[1].home.trust_list, "RULE": "green",
                        "DEFAULT_LOCALE": "en"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.extensions["checkpoint"]
    server.shutdown()
    thread.join(5)


def test_the_kiosk_s_app_admits_offline(open_app, kiosk, sign, tmp_path):  # noqa: F811
    page, requests = open_app(clip_of(tmp_path, sign("green", 88)), base=kiosk[0])
    wait_for(page, "admit")
    assert hook(page, "mode") == "device"
    assert "score 88" in page.locator("#verdict").inner_text()
    stays_local(requests, kiosk[0])


def test_without_webassembly_the_kiosk_decodes_the_frames(open_app, kiosk, sign,  # noqa: F811
                                                          tmp_path):
    before = kiosk[1].stats()["frames"]
    page, _ = open_app(clip_of(tmp_path, sign("green", 86)), base=kiosk[0], offline=False,
                       init_script="delete globalThis.WebAssembly")  # an old browser
    assert page.evaluate("typeof WebAssembly") == "undefined"
    wait_for(page, "admit")
    assert hook(page, "mode") == "server"
    assert kiosk[1].stats()["frames"] > before  # the frames went to the kiosk
    message = page.locator("#camera-message")
    assert message.is_visible() and "the kiosk reads them" in message.inner_text()
    keep_screenshot(page, "checkpoint-kiosk-fallback.png")


def test_a_picture_and_pasted_text_are_checked_in_the_page(open_app, sign, tmp_path):  # noqa: F811
    from issuer.render.qr import render_image
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=1.0))
    page.click("#more summary")
    picture = tmp_path / "code.png"
    picture.write_bytes(render_image(sign("green", 77), "png"))
    page.set_input_files("#upload", str(picture))
    wait_for(page, "admit")
    assert "score 77" in page.locator("#verdict").inner_text()
    page.fill("#code-text", sign("red", 21))
    page.click("#text-form button")
    wait_for(page, "deny")
    blank = tmp_path / "blank.png"
    from PIL import Image
    Image.new("L", (200, 200), 255).save(blank)
    page.set_input_files("#upload", str(blank))
    wait_for(page, "invalid")
    assert page.locator("#verdict").get_attribute("data-reason") == "no_code"
    sources = [v["source"] for v in hook(page, "verdicts")]
    assert sources == ["upload", "text", "upload"]


def test_a_printed_card_shows_what_to_check_on_the_id(open_app, sign, tmp_path):  # noqa: F811
    """A printed card's code carries the masked name and the id number's last characters:
    shown beside "check ID", as text, never as markup."""
    from verifier import IdCheck
    page, _ = open_app(clip_of(tmp_path, sign("green", 81, id_check=IdCheck("<*", "123X"))))
    wait_for(page, "admit")
    note = page.locator("#verdict-static")
    assert note.text_content() == "Static code — check ID: name <* · ID number ending 123X"
    assert note.evaluate("element => element.children.length") == 0
    keep_screenshot(page, "checkpoint-static-check-id.png")


def test_on_an_insecure_origin_the_kiosk_checks_what_is_pasted(playwright, kiosk, sign,  # noqa: F811
                                                               tmp_path):
    """A phone on the kiosk's network over plain http: no camera, no WebCrypto. The app says
    why and has the kiosk check pasted codes."""
    import webcam
    port = kiosk[0].rsplit(":", 1)[1]
    with webcam.browser(playwright, None, tmp_path / "profile", viewport=VIEWPORTS["phone"],
                        extra_args=["--host-resolver-rules=MAP checkpoint.test 127.0.0.1"]
                        ) as context:
        page = context.new_page()
        page.goto(f"http://checkpoint.test:{port}/checkpoint/")
        message = page.locator("#camera-message")
        message.wait_for(state="visible", timeout=15_000)
        assert "insecure origin (http://checkpoint.test" in message.inner_text()
        assert page.evaluate("window.isSecureContext") is False
        until(page, lambda: hook(page, "ready"), "app ready")
        assert hook(page, "mode") == "server"
        page.click("#more summary")
        page.fill("#code-text", sign("green", 66))
        page.click("#text-form button")
        wait_for(page, "admit")
        assert "score 66" in page.locator("#verdict").inner_text()
        assert _serious(page) == []
        keep_screenshot(page, "checkpoint-insecure-origin.png")
