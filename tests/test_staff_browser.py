"""The staff page and the landing page in a real headless Chromium at phone size (390×844,
and 360 px wide for the landing page), in Chinese and in English, against the issuer service
on 127.0.0.1: find the two people sharing a phone, make a new enrolment link (its QR code
shown as an image), print a card; axe-core finds no serious or critical violation; nothing is
wider than the screen. Screenshots in tests/artifacts/staff-*.png and landing-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from test_holder_browser import _serve

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
LANGUAGES = {"zh-CN": {"find": "查找", "found": "找到 2 人", "link": "新的登记链接已生成",
                       "card": "健康码卡已生成", "title": "健康码服务"},
             "en": {"find": "Find", "found": "2 people found", "link": "New enrolment link ready",
                    "card": "Card ready", "title": "Health code service"}}
FAMILY = [{"name": "王伟", "id_number": "330106199001011234", "phone": "137 0000 0003",
           "organisation": "西湖小学"},
          {"name": "Li Fang", "id_number": "33010619601111567X", "phone": "+8613700000003",
           "organisation": "Retired"}]


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[tuple[str, object, str]]:
    """The issuer service on a free port of 127.0.0.1 (SQLite), with a family sharing a
    phone and a write token."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("issuer")
    init_home(Home(root))
    app = create_app({"HOME": str(root)})
    service = app.extensions["healthcode"]
    for days_ago, person in zip((2, 1), FAMILY, strict=True):  # listed oldest first
        service.create_person(actor="test", now=int(time.time()) - days_ago * 86_400, **person)
    _, token = service.create_token("write", "staff browser test", 0)
    base, server, thread = _serve(app)
    yield base, service, token
    server.shutdown()
    server.server_close()
    thread.join(5)
    service.close()
    mp.undo()


@pytest.fixture
def browse(playwright, tmp_path):
    """``browse(language, **options)`` -> a page in a fresh phone-sized profile."""
    opened = []

    def open_page(language: str, **options):
        options = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
                   "has_touch": True, "locale": language, **options}
        context = webcam.browser(playwright, None, tmp_path / f"p{len(opened)}", **options)
        opened.append(context)
        return context.__enter__().new_page()

    yield open_page
    for context in opened:
        context.__exit__(None, None, None)


def serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in violations
            if v["impact"] in ("serious", "critical")]


def fits(page) -> bool:
    """Nothing is wider than the screen (a phone's layout viewport grows to fit wide content,
    so compare with the width asked for)."""
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def keep(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_find_a_family_make_a_link_and_print_a_card(issuer, browse, language):
    base, service, token = issuer
    words = LANGUAGES[language]
    page = browse(language)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/staff")
    assert page.get_attribute("html", "lang") == language
    assert page.inner_text("#search") == words["find"]
    assert serious(page) == [] and fits(page)
    keep(page, f"staff-{language}-empty.png")

    page.fill("#token", token)
    page.select_option("#by", "phone")
    page.fill("#query", "137-0000-0003")
    page.click("#search")
    page.locator("#status[data-kind=done]").wait_for()
    assert words["found"] in page.inner_text("#status")
    cards = page.locator(".person")
    assert cards.count() == 2
    assert cards.nth(0).locator(".name").inner_text() == "王*"
    assert "1234" in cards.nth(0).locator(".tail").inner_text()
    assert "Wang" not in page.content() and "王伟" not in page.content()
    assert serious(page) == [] and fits(page)
    keep(page, f"staff-{language}-found.png")

    page.evaluate("document.getElementById('status').dataset.kind = ''")
    cards.nth(1).locator(".new-link").click()
    page.locator("#status[data-kind=done]").wait_for()
    assert words["link"] in page.inner_text("#status")
    assert page.locator("#link").is_visible()
    assert re.match(r"http://127\.0\.0\.1:\d+/enrol/", page.inner_text("#link-url"))
    page.wait_for_function("document.getElementById('link-qr').naturalWidth > 0")
    assert page.get_attribute("#link-qr", "src").startswith("blob:")
    assert serious(page) == [] and fits(page)
    keep(page, f"staff-{language}-link.png")

    page.evaluate("document.getElementById('status').dataset.kind = ''")
    with page.expect_popup() as popup:
        cards.nth(0).locator(".print-card").click()
        page.locator("#status[data-kind=done]").wait_for()
    assert words["card"] in page.inner_text("#status")
    assert popup.value.url.startswith("blob:")
    assert problems == []


def test_staff_search_problems_are_said(issuer, browse):
    base, _, token = issuer
    page = browse("zh-CN")
    page.goto(f"{base}/staff")
    page.fill("#token", token)
    page.select_option("#by", "phone")
    page.fill("#query", "137abc")
    page.click("#search")
    page.locator("#status[data-kind=error]").wait_for()
    assert "手机号码只能有数字" in page.inner_text("#status")
    assert serious(page) == []
    keep(page, "staff-zh-CN-refused.png")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", [360, 390])
def test_the_landing_page(issuer, browse, language, width):
    base = issuer[0]
    page = browse(language, viewport={"width": width, "height": 800})
    page.goto(f"{base}/")
    assert page.get_attribute("html", "lang") == language
    assert page.inner_text("h1") == LANGUAGES[language]["title"]
    assert serious(page) == [] and fits(page)
    for href in ("/signin", "/me", "/staff", "/api/docs", "/policy", "/trust/trust-list.json"):
        assert page.locator(f'a[href="{href}"]').count() >= 1, href
    keep(page, f"landing-{language}-{width}.png")
    other = "en" if language == "zh-CN" else "zh-CN"
    page.click(f'.languages a[lang="{other}"]')
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == other
    assert page.inner_text("h1") == LANGUAGES[other]["title"]


def test_the_staff_page_at_200_percent_text(issuer, browse):
    """Text scaled to 200 %: nothing is cut off or wider than the screen."""
    page = browse("zh-CN")
    page.goto(f"{issuer[0]}/staff")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert fits(page)
    keep(page, "staff-zh-CN-200.png")
