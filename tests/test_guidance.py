"""My code's guidance: the credential JSON carries what to do and when the colour changes, in
the reader's language (so the page shows it offline); in Chromium the section reads in both
languages, passes axe, and is kept with the saved credential when the phone goes offline."""

from __future__ import annotations

import time

import pytest
from conftest import TEST_PASSPHRASE
from test_holder import HTTPS, Outbox, enrol
from test_holder_browser import ARTIFACTS, PHONE, _serve, wait_for_code

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app
from issuer.web.holder_text import credential_view

DAY = 86_400
PERSON = {"name": "Li Si", "id_number": "330106198502023456", "phone": "+86 139 0000 0002",
          "organisation": "Xihu Clinic"}


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                      "CODE_SENDER": "test_holder:Outbox", "PUBLIC_URL": "https://localhost"})
    yield app
    app.extensions["healthcode"].close()


def _positive(service, person, age: int) -> int:
    at = int(time.time()) - age
    service.add_observation(person, actor="test", kind="test_result", value="positive",
                            observed_at=at, source="lab")
    return at


def test_a_red_code_says_what_to_do_and_when_it_turns_green(app):
    service = app.extensions["healthcode"]
    person = service.create_person(actor="test", **PERSON)
    client, _ = enrol(app, service, person)
    tested = _positive(service, person, 2 * DAY)
    chinese = client.get("/me/credential.json", base_url=HTTPS,
                         headers={"Accept-Language": "zh-CN"}).json
    assert chinese["colour"] == "red"
    said = chinese["guidance"]
    assert said["colour"] == "red" and "居家" in said["do"] and "12345" in said["contact"]
    assert said["change"]["at"] == tested + 14 * DAY and said["change"]["colour"] == "green"
    assert said["change"]["text"].startswith("如无新结果，绿码将于")
    assert "(UTC+08:00)" in said["change"]["text"]
    english = client.get("/me/credential.json", base_url=HTTPS,
                         headers={"Accept-Language": "en"}).json["guidance"]
    assert english["change"]["text"].startswith("Green again on ")
    assert english["do"].startswith("Stay at home")


def test_a_green_code_has_a_short_line_and_no_change(app):
    service = app.extensions["healthcode"]
    person = service.create_person(actor="test", **PERSON)
    client, _ = enrol(app, service, person)
    said = client.get("/me/credential.json", base_url=HTTPS,
                      headers={"Accept-Language": "en"}).json["guidance"]
    assert (said["colour"], said["change"], said["contact"]) == ("green", None, None)
    assert said["do"]


def test_credential_view_without_guidance_stays_as_it_was():
    record = {"text": "HC1:X", "colour": "green", "score": 80, "issued_at": 1, "expires_at": 2}
    view = credential_view(record, "Issuer", 1, b"\x04" + bytes(64))
    assert view["guidance"] is None and view["colour"] == "green"


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "CODE_SENDER": "test_holder:Outbox"})
    base, server, thread = _serve(app)
    yield base, app.extensions["healthcode"]
    server.shutdown()
    server.server_close()
    thread.join(5)
    app.extensions["healthcode"].close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_section_on_my_code(playwright, served, tmp_path, language):
    from axe_playwright_python.sync_playwright import Axe
    from webcam import browser

    base, service = served
    person = service.create_person(actor="test", **PERSON)
    token = service.store.create_enrolment(person, actor="test")
    with browser(playwright, None, tmp_path / "phone", viewport=PHONE, device_scale_factor=2,
                 is_mobile=True, has_touch=True, locale=language,
                 extra_http_headers={"Accept-Language": language}) as context:
        page = context.new_page()
        page.goto(f"{base}/enrol/{token}")
        page.wait_for_url(f"{base}/me", timeout=20_000)
        wait_for_code(page, "green")
        # The service worker keeps the page and its scripts for offline use (below).
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        assert page.locator("#guidance").is_visible()  # green: one short line
        assert not page.locator("#guidance-change").is_visible()
        _positive(service, person, 2 * DAY)
        page.reload()
        wait_for_code(page, "red")
        section = page.locator("#guidance")
        assert section.get_attribute("aria-labelledby") == "guidance-title"
        text = section.inner_text()
        if language == "zh-CN":
            assert "该怎么做" in text and "如无新结果，绿码将于" in text and "联系：" in text
        else:
            assert "What to do" in text and "Green again on" in text and "Contact:" in text
        ARTIFACTS.mkdir(exist_ok=True)
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"guidance-{language}.png"), full_page=True)
        results = Axe().run(page, context="#guidance")
        assert [v["id"] for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")] == []
        assert page.evaluate("document.getElementById('guidance').scrollWidth") <= 390
        # Offline, the saved credential still carries the words.
        page.wait_for_function("() => navigator.serviceWorker.controller !== null",
                               timeout=30_000)
        context.set_offline(True)
        page.reload()
        wait_for_code(page, "red")
        assert page.locator("#guidance-change").inner_text() \
            == section.locator("#guidance-change").inner_text()
        assert page.locator("#guidance-do").is_visible()


def test_why_says_the_sentences_in_the_readers_language(app):
    service = app.extensions["healthcode"]
    person = service.create_person(actor="test", **PERSON)
    client, _ = enrol(app, service, person)
    _positive(service, person, 2 * DAY)
    for kind, value in (("steps", 5000), ("steps", 6000), ("steps", 6000)):
        service.add_observation(person, actor="test", kind=kind, value=value,
                                observed_at=int(time.time()) - DAY, source="phone")
    chinese = client.get("/me/why", base_url=HTTPS, headers={"Accept-Language": "zh-CN"}
                         ).get_data(as_text=True)
    assert "检测结果为阳性" in chinese and "平均每天走 5,667 步，不到 15,000 步" in chinese
    english = client.get("/me/why", base_url=HTTPS, headers={"Accept-Language": "en"}
                         ).get_data(as_text=True)
    assert "Positive test on" in english and "5,667 steps a day, under 15,000" in english
