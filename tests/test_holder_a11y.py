"""The holder's pages read, heard and enlarged, in a real headless Chromium at 390×844: a
Chinese reader enrols, reads My code, Why and Declare without one English word on screen; axe-core
finds no serious or critical violation on any page in either language; the code is an image
with a spoken description; large-text mode and text at 200 % lose nothing and the code still
scans. Screenshots: tests/artifacts/holder-a11y-*.png (git-ignored).
"""

from __future__ import annotations

import re

import pytest
import test_holder_browser
from axe_playwright_python.sync_playwright import Axe
from test_holder_browser import PHONE, keep, presentation_in, wait_for_code

from verifier import verify

# The issuer on 127.0.0.1, its trust list, and phone-sized browser profiles.
issuer = test_holder_browser.issuer
trust = test_holder_browser.trust
phone = test_holder_browser.phone

PAGES = ("/me", "/me/why", "/me/declare")
#: Latin words a Chinese page may show: the switch's name for English, "UTC" of a time's
#: offset (the one time rule), the policy's id and region codes (ids people type), and the
#: policy's own sentences, which are its texts.
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
ID = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$|^[a-z]+-\d{4}(-v\d+)?$")
HAN = re.compile(r"[\u3400-\u9fff]")
AXE = Axe()

# Every element showing text that reaches past the screen's edges, or is cut by its box.
CUT = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === 'hidden' || el.closest('.visually-hidden')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const clips = style.overflowX !== 'visible' || style.overflowY !== 'visible';
    if (r.left < -1 || r.right > width + 1
        || (clips && (el.scrollWidth > el.clientWidth + 1
                      || el.scrollHeight > el.clientHeight + 1)))
      out.push(`${el.tagName}#${el.id}.${el.className}: ${el.textContent.trim().slice(0, 40)}`);
  }
  return out;
}"""
# Pairs of text boxes (leaves) that overlap one another.
OVERLAPS = """() => {
  const leaves = 'h1,h2,p,a,button,label,span,strong,td,th,li,canvas,input';
  const boxes = [...document.body.querySelectorAll(leaves)]
    .filter((el) => el.getClientRects().length && !el.closest('.visually-hidden')
            && !el.querySelector(leaves))
    .map((el) => [el, el.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, p] = boxes[i], [b, q] = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (x > 2 && y > 2) out.push(`${a.tagName}#${a.id} / ${b.tagName}#${b.id}`);
  }
  return out;
}"""


def serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page, as ``id: targets``."""
    violations = AXE.run(page).response["violations"]
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in violations
            if v["impact"] in ("serious", "critical")]


def shown_text(page) -> str:
    return page.evaluate("() => document.body.innerText")


def latin_words(page, allowed: set[str]) -> list[str]:
    text = shown_text(page)
    for sentence in sorted(allowed, key=len, reverse=True):
        text = text.replace(sentence, " ")
    return [w for w in LATIN.findall(text) if len(w) > 1 and w not in ("English", "UTC")
            and not ID.match(w)]


def policy_sentences(page) -> set[str]:
    """The Why table's sentences: the policy's texts, not this page's words."""
    return set(page.locator("#why tbody td:first-child").all_inner_texts())


def check_200_percent(page, path: str) -> None:
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    page.wait_for_timeout(50)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], path
    assert page.evaluate(CUT) == [], path
    assert page.evaluate(OVERLAPS) == [], path
    # A number in the points column is never broken: each cell is one line.
    heights = page.locator(".why td.points").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(c).lineHeight))")
    assert all(h < 2.2 for h in heights), heights  # one line and the cell's padding
    page.evaluate("() => { document.documentElement.style.fontSize = ''; }")


@pytest.fixture
def zh_phone(phone):
    return phone("a11y-zh", locale="zh-CN",
                 extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}).new_page()


def test_a_chinese_reader_enrols_reads_and_declares(zh_phone, issuer, trust):
    base, service = issuer
    page = zh_phone
    person = service.create_person(actor="test", name="Qian Ba", id_number="330106195505056780",
                                   phone="+86 135 0000 0005", organisation="Gongshu Market")
    page.goto(f"{base}/enrol/{service.store.create_enrolment(person, actor='test')}")
    page.wait_for_url(f"{base}/me", timeout=20_000)

    # My code: the colour, the score labelled, the times with their offset, the code's image
    # and its spoken description, and no English.
    wait_for_code(page, "green")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#colour-word").inner_text() == "绿码"
    assert page.locator("#score").inner_text() == "健康分 80"
    qr = page.locator("#qr")
    assert qr.get_attribute("role") == "img"
    label = qr.get_attribute("aria-label")
    assert re.fullmatch(r"健康码，绿码，健康分 80，有效期至 \d{4}年\d{1,2}月\d{1,2}日 "
                        r"\d\d:\d\d \(UTC\+08:00\)", label), label
    assert re.fullmatch(r"有效期至 .+ \(UTC\+08:00\)（还剩 .+）",
                        page.locator("#expiry").inner_text())
    assert page.locator("#status").inner_text() == "已是最新"
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    assert latin_words(page, set()) == []
    png = keep(page, "holder-a11y-zh-code.png")
    assert verify(presentation_in(png), trust).colour == "green"
    assert serious(page) == []
    check_200_percent(page, "/me")

    # Large text: pressed, remembered, bigger words, and the code still whole and scannable.
    before = page.locator("#colour-word").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    page.click("#large-text")
    assert page.locator("#large-text").get_attribute("aria-pressed") == "true"
    after = page.locator("#colour-word").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert after >= 1.4 * before
    page.reload()
    wait_for_code(page, "green")
    assert page.locator("#large-text").get_attribute("aria-pressed") == "true"
    box = qr.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    png = keep(page, "holder-a11y-zh-large.png")
    assert verify(presentation_in(png), trust).colour == "green"
    check_200_percent(page, "/me large")
    assert serious(page) == []
    page.click("#large-text")
    assert page.locator("#large-text").get_attribute("aria-pressed") == "false"

    # Why: the page's words in Chinese (the policy's sentences are its own texts).
    page.goto(f"{base}/me/why")
    assert page.locator("h1").inner_text() == "为什么是绿码？"
    assert latin_words(page, policy_sentences(page)) == []
    keep(page, "holder-a11y-zh-why.png")
    assert serious(page) == []
    check_200_percent(page, "/me/why")

    # Declare: labels, effects and the preview in Chinese, before anything is sent.
    page.goto(f"{base}/me/declare")
    page.check("input[name=symptoms]")
    page.wait_for_selector("#preview[data-colour=yellow]", timeout=10_000)
    assert page.locator("#preview").inner_text() == \
        "如果提交，您的健康码会变为黄码，健康分 59（现在是绿码，健康分 80）。"
    assert latin_words(page, set()) == []
    keep(page, "holder-a11y-zh-declare.png")
    assert serious(page) == []
    check_200_percent(page, "/me/declare")
    page.fill("#f-travel", "Wuhan!")
    page.click("button[type=submit]")
    assert "：请用字母和数字，各部分之间用短横线连接，例如 HUBEI-WUHAN" in \
        page.locator(".problem").inner_text()
    assert serious(page) == []

    # The same pages in English, through the switch: no Chinese but the switch's name.
    page.goto(f"{base}/me/why")
    page.click('nav.languages a[lang="en"]')
    page.wait_for_url(f"{base}/me/why")
    assert page.locator("html").get_attribute("lang") == "en"
    for path in PAGES:
        page.goto(f"{base}{path}")
        if path == "/me":
            wait_for_code(page)
            assert page.locator("#qr").get_attribute("aria-label").startswith(
                "Health code, green, score 80, valid until ")
            assert page.locator("#colour-word").inner_text() == "GREEN"
        assert HAN.findall(shown_text(page).replace("中文", "")) == [], path
        keep(page, f"holder-a11y-en-{path.strip('/').replace('/', '-')}.png")
        assert serious(page) == [], path
        check_200_percent(page, path)


def test_signed_out_pages_pass_axe_in_both_languages(phone, issuer):
    base, service = issuer
    for language in ("zh-CN", "en"):
        page = phone(f"a11y-out-{language}", locale=language,
                     extra_http_headers={"Accept-Language": language}).new_page()
        for path in ("/signin", "/enrol/not-a-link"):
            page.goto(f"{base}{path}")
            assert page.locator("html").get_attribute("lang") == language
            assert serious(page) == [], (language, path)
            check_200_percent(page, path)
        # The checks see a cut: a line of text wider than the screen.
        page.evaluate("""() => { const p = document.createElement('p'); p.id = 'wide';
            p.style.width = '600px'; p.textContent = 'x'; document.body.append(p); }""")
        assert [c for c in page.evaluate(CUT) if c.startswith("P#wide")]
        page.evaluate("() => document.getElementById('wide').remove()")
        # The language switch: visible, and big enough to tap.
        for link in page.locator("nav.languages a").all():
            box = link.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44
        page.goto(f"{base}/signin")
        page.fill("#phone", "+86 135 0000 0009")
        page.click("button[type=submit]")
        page.wait_for_selector("#code")
        assert serious(page) == [], (language, "code step")
        keep(page, f"holder-a11y-{language}-signin-code.png")
