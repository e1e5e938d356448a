"""The holder's pages in both languages (test client): every page in Chinese without an English
word, in English without a Chinese one, the switch keeping the page, problems and JSON messages
in the reader's words, the manifest, the scripts' catalog. In a browser: test_holder_a11y.py."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

import pytest
from conftest import TEST_PASSPHRASE
from test_holder import HTTPS, PERSON, Outbox, browser, csrf_of, enrol, page_csrf

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app
from issuer.web.holder_text import explanation

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
LATIN = re.compile(r"[A-Za-z]{2,}")
HAN = re.compile(r"[\u3400-\u9fff]")
#: Shown in either language: the switch's names, region codes (ids people type), policy ids.
NAMES = {"English", "中文"}
ID = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$|^[a-z]+-\d{4}(-v\d+)?$")


class _Shown(HTMLParser):
    """The text a page shows or reads out: text outside scripts and styles, and the
    attributes people read or hear."""

    READ = {"alt", "title", "placeholder", "aria-label", "label"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [value for name, value in attrs if name in self.READ and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def shown(html: str, allowed: set[str] = frozenset()) -> str:
    """The page's shown text, the ``allowed`` strings (names, others' sentences) taken out."""
    parser = _Shown()
    parser.feed(html)
    text = "\n".join(parser.texts)
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def english_words(html: str, allowed: set[str] = frozenset()) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9\-]*", shown(html, allowed | NAMES))
    return [w for w in words if LATIN.search(w) and not ID.match(w)]


def chinese(html: str, allowed: set[str] = frozenset()) -> list[str]:
    return HAN.findall(shown(html, allowed | NAMES))


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/i.db",
                      "CODE_SENDER": "test_holder:Outbox", "PUBLIC_URL": HTTPS})
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def service(app):
    return app.extensions["healthcode"]


@pytest.fixture
def person(service) -> str:
    person = service.create_person(actor="test", **PERSON)
    service.add_observation(person, actor="lab", kind="steps", value=16_000,
                            observed_at=int(time.time()) - 3600, source="pedometer")
    return person


def _pages(app, service, person, headers) -> dict[str, tuple[str, set[str]]]:
    """Every holder page (but My data) in the language of ``headers``: path -> (html,
    strings that are not the page's own words)."""
    client, _ = enrol(app, service, person)
    client.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v
                                for k, v in headers.items()})
    get = lambda path: client.get(path, base_url=HTTPS).get_data(as_text=True)  # noqa: E731
    # The explanation's sentences are the policy's own texts (and its translations).
    policy_texts = {line["text"] for line in explanation(service.assess(person))["lines"]}
    regions = {str(m) for rule in service.policy.rules for m in rule.matches}
    pages = {p: (get(p), set()) for p in ("/me", "/me/declare", "/me/declare?done=1")}
    pages["/me/why"] = (get("/me/why"), policy_texts)
    csrf = page_csrf(client, "/me/declare")
    for form in ({"steps": "lots"}, {"travel": "Wuhan!"}, {}):
        sent = client.post("/me/declare", data={**form, "csrf_token": csrf}, base_url=HTTPS)
        assert sent.status_code == 422
        pages[f"declare {form}"] = (sent.get_data(as_text=True), regions)
    pages["/me/declare"] = (pages["/me/declare"][0], regions)
    out = browser(app)
    out.environ_base.update(client.environ_base)
    pages["/signin"] = (out.get("/signin", base_url=HTTPS).get_data(as_text=True), set())
    csrf = csrf_of(out.get("/signin", base_url=HTTPS).data)
    asked = out.post("/signin", data={"phone": PERSON["phone"], "csrf_token": csrf},
                     base_url=HTTPS)
    pages["signin code"] = (asked.get_data(as_text=True), set())
    wrong = out.post("/signin/code", data={"phone": PERSON["phone"], "code": "000000",
                                           "csrf_token": csrf}, base_url=HTTPS)
    pages["signin wrong"] = (wrong.get_data(as_text=True), set())
    bad = out.post("/signin", data={"phone": "abc", "csrf_token": csrf}, base_url=HTTPS)
    pages["signin bad"] = (bad.get_data(as_text=True), set())
    token = service.store.create_enrolment(person, actor="test")
    pages["/enrol"] = (out.get(f"/enrol/{token}", base_url=HTTPS).get_data(as_text=True),
                       set())
    pages["/enrol unknown"] = (out.get("/enrol/nope", base_url=HTTPS).get_data(as_text=True),
                               set())
    forged = out.post("/me/declare", data={"steps": "1"}, base_url=HTTPS)
    pages["csrf"] = (forged.get_data(as_text=True), set())
    return pages


def test_every_page_in_chinese_has_no_english_word(app, service, person):
    for name, (html, allowed) in _pages(app, service, person, ZH).items():
        assert '<html lang="zh-CN">' in html, name
        assert english_words(html, allowed) == [], name
    html = _pages(app, service, person, ZH)["/me/declare"][0]
    assert "达到 15,000 步或以上得 +5 分" in html
    assert "您的健康码在 7 天内至少为黄码，健康分最高 59 分。" in html


def test_every_page_in_english_has_no_chinese(app, service, person):
    for name, (html, allowed) in _pages(app, service, person, EN).items():
        assert '<html lang="en">' in html, name
        assert chinese(html, allowed) == [], name


def test_the_switch_keeps_the_page(app, service, person):
    client, _ = enrol(app, service, person)
    page = client.get("/me/declare", base_url=HTTPS, headers=ZH).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" lang="en"', page).group(1).replace("&amp;", "&")
    switched = client.get(link, base_url=HTTPS, headers=ZH)
    assert switched.status_code == 303 and switched.location.endswith("/me/declare")
    after = client.get("/me/declare", base_url=HTTPS, headers=ZH).get_data(as_text=True)
    assert '<html lang="en">' in after and "Each field says what it does" in after
    assert re.search(r'lang="en"[^>]* aria-current="true"', after)


def test_the_manifest_is_in_the_readers_language(app):
    client = browser(app)
    zh = client.get("/me/manifest.webmanifest", base_url=HTTPS, headers=ZH).json
    en = client.get("/me/manifest.webmanifest", base_url=HTTPS, headers=EN).json
    assert (zh["name"], zh["short_name"], zh["lang"]) == ("我的健康码", "健康码", "zh-CN")
    assert (en["name"], en["lang"]) == ("My health code", "en")
    assert "没有网络" in zh["description"] and "offline" in en["description"]


def test_problems_and_json_messages_are_in_the_readers_language(app, service, person):
    client, _ = enrol(app, service, person)
    csrf = page_csrf(client, "/me/declare")
    preview = client.post("/me/declare/preview", data={"steps": "-5"}, base_url=HTTPS,
                          headers={"X-CSRFToken": csrf, **ZH})
    assert preview.json == {"problem": "steps",
                            "message": "昨天走了多少步：请填写 0 到 200,000 之间的整数。"}
    token = service.store.create_enrolment(person, actor="test", now=1_000_000)
    expired = browser(app).get(f"/enrol/{token}", base_url=HTTPS, headers=ZH)
    assert expired.status_code == 410 and "这个登记链接已过期" in expired.get_data(as_text=True)
    anyone = browser(app)
    assert anyone.get("/me/credential.json", base_url=HTTPS, headers=ZH).json == {
        "problem": "signed_out", "message": "您已退出登录，请重新登录。"}
    forged = client.post("/me/declare/preview", data={"steps": "1"}, base_url=HTTPS,
                         headers={"Accept": "application/json", **EN})
    assert forged.json["problem"] == "csrf" and forged.json["message"].startswith(
        "This form was out of date")


def test_the_scripts_get_their_words_in_the_readers_language(app, service, person):
    client, _ = enrol(app, service, person)
    page = client.get("/me", base_url=HTTPS, headers=ZH).get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>',
                                page, re.S).group(1))
    assert data["locale"] == "zh-CN" and data["zone"] == "Asia/Shanghai"
    messages = data["messages"]
    assert messages["Health code, {colour}, score {score}, valid until {until}"] == \
        "健康码，{colour}，健康分 {score}，有效期至 {until}"
    assert (messages["GREEN"], messages["green"], messages["Score {score}"]) == \
        ("绿码", "绿码", "健康分 {score}")
    assert 'role="img"' in page and 'aria-pressed="false"' in page
