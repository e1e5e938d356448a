"""Issue 14's acceptance, as a person would try it, in a real headless Chromium: a
Chinese-speaking holder (browser in zh-CN, Asia/Shanghai) is enrolled, reads My code, Why,
Declare and My data, and a checkpoint admits them, without one English word on screen; the
same in English with no Chinese. Every page a person or a member of staff sees on the way
(the landing page, sign-in, the policy, the staff page, the kiosk on a laptop and on a phone)
is rendered in both languages, saved to tests/artifacts/i18n-*.png, and checked with axe-core:
no serious or critical violation.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from a11y import axe_serious
from test_holder_browser import _phone_frames, _serve, issuer, phone, wait_for_code  # noqa: F401

from verifier.kiosk import create_app as create_kiosk

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 720}
PEOPLE = {
    "zh-CN": {"name": "王伍", "id_number": "330106198803031234", "phone": "137 0000 0013",
              "organisation": "拱墅市场"},
    "en": {"name": "Wang Wu", "id_number": "330106198803032345", "phone": "+86 136 0000 0014",
           "organisation": "Gongshu Market"},
}
#: What may stand in a Chinese page in Latin letters: the switch's "English", the UTC offset
#: of times, the code formats' prefixes, and identifiers (person ids, digests, policy ids,
#: region codes such as HUBEI-WUHAN, which the travel field takes as they are written).
_NOT_WORDS = re.compile(r"\bp-[A-Za-z0-9_-]{6,}|\b[0-9a-f]{8,}\b|\bhangzhou-[\w.-]+"
                        r"|\b[A-Z]{2,}(?:-[A-Z]{2,})+\b"
                        r"|\bHC[CP]1\b|\bUTC\b|\bEnglish\b|\bHEALTHCODE_\w+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u9fff]")
#: The words on screen and in the accessibility tree; code (commands, ids in <code>) and
#: what is marked translate="no" (a person's own data, names) are not words of the page.
_SHOWN = """() => {
  const skip = 'code, pre, kbd, samp, [translate="no"], script, style, template';
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip) || !el.checkVisibility()) continue;
    parts.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[aria-label],[alt],[title],[placeholder]')) {
    if (el.closest(skip)) continue;
    for (const name of ['aria-label', 'alt', 'title', 'placeholder']) {
      if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
    }
  }
  return parts.join('\\n');
}"""


def _check(page, lang: str, name: str, allowed: tuple[str, ...] = ()) -> str:
    """Screenshot, language and axe checks of the page on screen; return its text."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"i18n-{lang}-{name}.png"), full_page=True)
    shown = page.evaluate(_SHOWN)
    assert page.evaluate("() => document.documentElement.lang") == lang, name
    if lang == "zh-CN":
        rest = _NOT_WORDS.sub(" ", shown)
        for text in allowed:
            rest = rest.replace(text, " ")
        english = sorted(set(_LATIN_WORD.findall(rest)))
        assert not english, f"{name}: English on a Chinese page: {english}"
    else:
        rest = shown.replace("中文", " ")
        for text in allowed:
            rest = rest.replace(text, " ")
        assert not _HAN.search(rest), f"{name}: Chinese on an English page: " \
            f"{sorted(set(_HAN.findall(rest)))}"
    bad = axe_serious(page)
    assert not bad, f"{name} ({lang}): axe: {bad}"
    return shown


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_holder_and_a_checkpoint_in_one_language(phone, issuer, lang, tmp_path):  # noqa: F811
    base, service = issuer
    who = PEOPLE[lang]
    options = {"locale": lang, "timezone_id": "Asia/Shanghai"}
    browser = phone(f"holder-{lang}", **options)
    page = browser.new_page()

    page.goto(base + "/")
    _check(page, lang, "landing")
    page.goto(base + "/signin")
    _check(page, lang, "signin")

    person = service.create_person(actor="test", **who)
    token = service.store.create_enrolment(person, actor="test")
    page.goto(f"{base}/enrol/{token}")
    page.wait_for_url(f"{base}/me", timeout=20_000)
    wait_for_code(page, "green")
    code_text = _check(page, lang, "code")
    assert ("绿码" if lang == "zh-CN" else "GREEN") in code_text.upper()

    page.goto(f"{base}/me/why")
    _check(page, lang, "why")

    page.goto(f"{base}/me/declare")
    _check(page, lang, "declare")
    page.check("input[name=symptoms]")
    page.wait_for_selector("#preview[data-colour=yellow]", timeout=10_000)
    _check(page, lang, "declare-preview")
    page.click("button[type=submit]")
    page.wait_for_selector(".done")
    _check(page, lang, "declare-done")

    page.goto(f"{base}/me")
    wait_for_code(page, "yellow")
    _check(page, lang, "code-yellow")
    screenshot = page.screenshot()

    page.goto(f"{base}/me/data")
    _check(page, lang, "data", allowed=(who["name"], who["organisation"]))

    page.goto(f"{base}/policy/{service.policy.id}")
    _check(page, lang, "policy")
    page.goto(f"{base}/staff")
    _check(page, lang, "staff")

    # A checkpoint that admits yellow, on a laptop and on a phone, fed the holder's screen.
    clip = webcam.write_clip(tmp_path / "phone.y4m", [_phone_frames(screenshot)] * 20)
    app = create_kiosk({"TRUST": service.home.trust_list, "RULE": "green,yellow",
                        "CLOCK": time.time})
    kiosk_base, server, thread = _serve(app)
    try:
        for size_name, size in (("laptop", LAPTOP), ("phone", PHONE)):
            checkpoint = phone(f"kiosk-{lang}-{size_name}", clip, is_mobile=size is PHONE,
                               has_touch=size is PHONE, device_scale_factor=1,
                               viewport=size, **options).new_page()
            checkpoint.goto(kiosk_base + "/")
            checkpoint.wait_for_selector('#verdict[data-state="admit"]', timeout=20_000)
            verdict = _check(checkpoint, lang, f"kiosk-{size_name}")
            assert ("通过" if lang == "zh-CN" else "ADMIT") in verdict.upper()
            checkpoint.goto(kiosk_base + "/stats")
            _check(checkpoint, lang, f"kiosk-stats-{size_name}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
