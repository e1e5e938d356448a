"""My data (/me/data) as a person reads it: a summary first, folded sections, a label for every
kind, value, source, action and reason the code writes, numbers rounded for people, both
languages with no word of the other; and in Chromium at 390×844: folded height, nothing wider
than the screen, no number or time split over two lines, axe-core clean. Screenshots in
tests/artifacts/mydata-*.png."""

from __future__ import annotations

import ast
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.policy import DEFAULT_POLICY
from issuer.policy.observations import Kind
from issuer.service import appeals, corrections
from issuer.web import create_app, mydata
from verifier.keys import b64url

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
HTTPS = "https://localhost"
PHONE = {"width": 390, "height": 844}
#: The page's height at 390×844 with this history before it was rewritten (measured on the
#: old template: 13,487 px in Chinese, 13,462 in English).
HEIGHT_BEFORE = 13_462
PERSON = {"name": "Wang Wu", "id_number": "330106198803034567", "phone": "+86 137 0000 0003",
          "organisation": "Gongshu Market"}
STAFF = "t-staff01"
STAFF_REASON = "issued in error"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: Latin words a Chinese page may show: the offset of a time, the download's format.
LATIN_ALLOWED = {"UTC", "JSON"}


def _jwk() -> dict[str, str]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def build_history(service, now: int) -> tuple[str, str]:
    """Two weeks of one person's life: daily lifestyle data, a test, declarations, codes of
    every purpose (one revoked by staff), two phones one after the other. Returns ``(person
    id, a live session id)``."""
    person = service.create_person(actor=STAFF, now=now - 16 * DAY, **PERSON)
    for day in range(14, 0, -1):
        at = now - day * DAY
        for kind, value in (("steps", 5000 + 137 * day), ("sleep_hours", 6.5 + (day % 3) / 2),
                            ("alcohol_ml", 400 if day % 4 == 0 else 0),
                            ("cigarettes", 5 if day % 5 == 0 else 0)):
            service.add_observation(person, actor=STAFF, kind=kind, value=value,
                                    observed_at=at, source="demo wearable", now=at + 60)
    service.add_observation(person, actor=STAFF, kind="test_result", value="negative",
                            observed_at=now - 12 * DAY, source="demo lab", now=now - 12 * DAY)
    service.declare(person, [("symptoms", True)], now=now - 10 * DAY)
    service.declare(person, [("travel", "ZHEJIANG-HANGZHOU"), ("contact", False)],
                    now=now - 9 * DAY)
    service.issue(person, actor=STAFF, now=now - 15 * DAY)
    service.issue(person, actor=STAFF, now=now - 6 * DAY, ttl=3 * DAY, purpose="card")
    wrong = service.issue(person, actor=STAFF, now=now - 5 * DAY)
    service.store.revoke(wrong["cti"], actor=STAFF, reason=STAFF_REASON, now=now - 5 * DAY + 600)
    session = ""
    for bound_at, renewals in ((now - 4 * DAY, (4, 3, 2, 1)), (now - DAY + 500, ())):
        token = service.store.create_enrolment(person, actor=STAFF, now=bound_at - 300)
        _, device_id, session = service.store.redeem_enrolment(token, _jwk(), now=bound_at)
        device = service.store.device(person, device_id)
        for day in renewals:
            service.live_credential(person, device, now=now - day * DAY + 400)
    service.live_credential(person, device, now=now - 3600)
    # A record voided by staff; an appeal rejected in writing, another waiting (the holder's
    # words and the reviewer's are theirs: shown verbatim, never translated).
    steps = next(o for o in service.store.observations(person) if o["kind"] == "steps")
    corrections.void(service, person, steps["id"], actor=STAFF, reason="entered twice",
                     now=now - 2 * DAY)
    test = next(o for o in service.store.observations(person) if o["kind"] == "test_result")
    sent = appeals.open_appeal(service, person, observation_id=test["id"],
                               reason="我没有做过这次检测", now=now - 3 * DAY)
    appeals.decide(service, sent["id"], upheld=False, reason="检测机构确认是您本人",
                   actor=STAFF, now=now - 2 * DAY)
    appeals.open_appeal(service, person, observation_id=None, reason="颜色不对",
                        now=now - DAY)
    return person, session


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    """The issuer app with one person's history, on the real clock (the page reads it)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("mydata")
    init_home(Home(root))
    app = create_app({"HOME": str(root), "PUBLIC_URL": HTTPS})
    person, session = build_history(app.extensions["healthcode"], int(time.time()))
    yield app, person, session
    app.extensions["healthcode"].close()
    mp.undo()


def _client(app, session: str, language: str):
    client = app.test_client()
    with client.session_transaction(base_url=HTTPS) as cookie:
        cookie["sid"], cookie.permanent = session, True
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


class _Shown(HTMLParser):
    """The text of <main>, without what is marked ``translate="no"`` (the person's own data:
    names, numbers, ids, what staff typed)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[bool, bool]] = []  # (inside main, verbatim) per open element
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        inside, verbatim = self.stack[-1] if self.stack else (False, False)
        if tag not in self.VOID:
            self.stack.append((inside or tag == "main",
                               verbatim or dict(attrs).get("translate") == "no"))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == (True, False):
            self.text.append(data)


def shown_text(html: str) -> str:
    parser = _Shown()
    parser.feed(html)
    return " ".join(" ".join(parser.text).split())


# Labels -------------------------------------------------------------------------------------

def _written_actions() -> tuple[set[str], list[str]]:
    """Every audit action the issuer's code writes (the action argument of ``audit.append``
    and ``audit.Pending``, a literal or a module constant), and the call sites whose action
    is not one (``file:line``)."""
    constants: dict[str, str] = {}
    trees = {path: ast.parse(path.read_text()) for path in (ROOT / "issuer").rglob("*.py")}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value
    actions, unresolved = set(), []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            owner = getattr(node.func, "value", None)
            if name == "append" and getattr(owner, "id", "") == "audit":
                position = 2
            elif name == "Pending":
                position = 1
            else:
                continue
            argument = node.args[position] if len(node.args) > position else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                actions.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id in constants:
                actions.add(constants[argument.id])
            else:
                unresolved.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # colour_change_entry returns its action for the caller to append.
    source = (ROOT / "issuer/service/issuance.py").read_text()
    actions.update(re.findall(r'return \("([a-z_]+\.[a-z_]+)"', source))
    return actions, unresolved


def test_every_action_the_code_writes_has_a_label(issuer):
    actions, unresolved = _written_actions()
    assert {"person.create", "observation.add", "colour.change", "credential.issue",
            "credential.revoke", "device.bind"} <= actions  # the scan finds them
    # The one place an action arrives in a variable: a consequence's entry (colour.change).
    assert [place.split(":")[0] for place in unresolved] == ["issuer/store/observation_store.py"]
    line = int(unresolved[0].split(":")[1])
    source = (Path(__file__).parent.parent / "issuer/store/observation_store.py").read_text()
    assert "audit.append(session, actor, action, why" in source.splitlines()[line - 1]
    with issuer[0].test_request_context(headers={"Accept-Language": "zh-CN"}):
        labels = mydata.action_labels()
    assert sorted(actions - labels.keys()) == []
    assert all(CJK.search(label) for label in labels.values())


def test_an_unknown_action_gets_a_generic_label_and_shows_its_code(issuer):
    entry = {"seq": 9, "at": NOW, "actor": "t-x", "action": "ledger.rotate",
             "reason": "typed by staff", "details": {}}
    for language, generic in (("en", "Other change"), ("zh-CN", "其他变更")):
        with issuer[0].test_request_context(headers={"Accept-Language": language}):
            row = mydata.audit_row(entry)
        assert (row["label"], row["known"], row["action"]) == (generic, False, "ledger.rotate")
        assert row["parts"] == [{"text": "typed by staff", "verbatim": True}]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_kind_source_and_purpose_has_a_label(issuer, language):
    with issuer[0].test_request_context(headers={"Accept-Language": language}):
        kinds = mydata.kind_labels()
        sources = mydata.source_labels()
        purposes = [mydata.purpose_label(p) for p in ("live", "card", None)]
    assert set(kinds) == set(Kind)
    for label in [*kinds.values(), *sources.values(), *purposes]:
        assert bool(CJK.search(label)) == (language == "zh-CN"), label
    assert len(set(kinds.values())) == len(Kind)


@pytest.mark.parametrize(("kind", "value", "english", "chinese"), [
    ("steps", 5666.66, "5,667 steps", "5,667 步"),
    ("steps", 1, "1 step", "1 步"),
    ("sleep_hours", 7.46, "7.5 h", "7.5 小时"),
    ("sleep_hours", 8.0, "8 h", "8 小时"),
    ("alcohol_ml", 399.6, "400 ml", "400 毫升"),
    ("cigarettes", 4.16, "4 cigarettes", "4 支"),
    ("test_result", "positive", "Positive", "阳性"),
    ("test_result", "negative", "Negative", "阴性"),
    ("contact", True, "Yes", "是"),
    ("symptoms", False, "No", "否"),
])
def test_values_are_said_as_people_say_them(issuer, kind, value, english, chinese):
    for language, expected in (("en", english), ("zh-CN", chinese)):
        with issuer[0].test_request_context(headers={"Accept-Language": language}):
            shown = mydata.value_text(kind, value)
        assert (shown["text"], shown["verbatim"]) == (expected, False)


def test_a_region_and_what_staff_typed_are_shown_verbatim(issuer):
    with issuer[0].test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert mydata.value_text("travel", "HUBEI-WUHAN") == {
            "text": "HUBEI-WUHAN", "verbatim": True, "number": False}
        assert mydata.labelled(STAFF_REASON, mydata.reason_labels())["verbatim"] is True
        assert mydata.labelled("superseded", mydata.reason_labels()) == {
            "text": "被更新的健康码取代", "verbatim": False}


# The page --------------------------------------------------------------------------------------

def test_the_summary_says_colour_what_is_held_and_how_long(issuer):
    app, person, session = issuer
    html = _client(app, session, "zh-CN").get("/me/data", base_url=HTTPS).data.decode()
    summary = shown_text(html.split('id="summary"', 1)[1].split("</details>", 1)[0]
                         .join(["<main><details ", "</details></main>"]))
    assert "绿码" in summary and "健康分 79" in summary
    for said in ("健康和生活习惯记录 60 条", "已签发 8 个健康码，其中 1 个现在有效",
                 "手机 2 部，其中 1 部正在使用", "超过保存期限的内容每天自动删除",
                 "不再计入健康码后 30 天", "作出决定后 365 天", "10 年", "最多 14 天",
                 "您可以要求签发机构删除您的全部数据"):
        assert said in summary, said
    rows = re.findall(r'<tr data-kind="(\w+)"><th scope="row">([^<]+)</th>'
                      r'<td class="n"><span class="nw num">(\d+)</span></td>\s*'
                      r'<td class="n"><span class="nw num">(\d+) 天', html)
    assert {k: (int(n), int(d)) for k, _, n, d in rows} == {
        "test_result": (1, 14), "contact": (1, 14), "symptoms": (1, 7), "travel": (1, 14),
        "steps": (14, 7), "sleep_hours": (14, 7), "alcohol_ml": (14, 7), "cigarettes": (14, 7)}
    # Only the summary is open; the lists are newest first, older records folded apart.
    assert re.findall(r"<details[^>]*\bopen\b[^>]*>", html) == [
        '<details class="section" id="summary" open>']
    assert html.index('id="observations"') < html.index('id="older-observations"')
    times = [int(t) for t in re.findall(r'data-at="(\d+)"', html.split('id="audit"')[1])]
    assert times == sorted(times, reverse=True) and len(times) > 20


def test_the_chinese_page_has_no_english_and_the_english_page_no_chinese(issuer):
    app, person, session = issuer
    zh = _client(app, session, "zh-CN").get("/me/data", base_url=HTTPS).data.decode()
    en = _client(app, session, "en").get("/me/data", base_url=HTTPS).data.decode()
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert set(re.findall(r"[A-Za-z]{2,}", shown_text(zh))) <= LATIN_ALLOWED
    assert not CJK.search(shown_text(en))
    for html in (zh, en):  # the person's own data is there, untranslated
        for value in (PERSON["name"], PERSON["id_number"], STAFF_REASON, "ZHEJIANG-HANGZHOU"):
            assert value in html
        for machine_name in ("sleep_hours", "alcohol_ml", "credential.issue", "superseded"):
            assert machine_name not in shown_text(html)
    assert "7.5 小时" in zh and "5,137 步" in zh and "400 毫升" in zh
    assert "健康码颜色变化</strong>：绿码 → 黄码，<span class=\"nw\">健康分 79 → 59</span>" in zh
    assert "7.5 h" in en and "5,137 steps" in en and "400 ml" in en


def test_the_download_keeps_its_shape_and_says_how_long_things_count(issuer):
    app, person, session = issuer
    data = _client(app, session, "zh-CN").get("/me/data.json", base_url=HTTPS).json
    assert {"exported_at", "issuer", "person", "observations", "assessment", "credentials",
            "phones", "audit"} <= data.keys()
    assert data["retention"] == {
        "deleted_automatically": True, "policy_id": DEFAULT_POLICY, "lookback_days": 14,
        "counted_days": {"test_result": 14, "contact": 14, "symptoms": 7, "travel": 14,
                         "steps": 7, "sleep_hours": 7, "alcohol_ml": 7, "cigarettes": 7},
        "kept_days": {"observation": 30, "credential": 30, "appeal": 365, "audit": 3650}}
    assert {o["kind"] for o in data["observations"]} == set(Kind)


def test_the_catalog_translates_every_string_of_my_data():
    sys.path.insert(0, str(ROOT / "scripts"))
    import catalogs

    problems = catalogs.problems("issuer")  # raised TypeError on plural ids before
    mine = [m for m in catalogs.extract("issuer")
            if any("mydata" in f or "holder/data.html" in f for f, _ in m.locations)]
    assert len(mine) > 100
    ids = {repr(m.id if isinstance(m.id, str) else m.id[0]) for m in mine}
    assert [p for p in problems if any(i in p for i in ids)] == []


# In Chromium ------------------------------------------------------------------------------------

_OVERFLOW = """() => [...document.querySelectorAll('main *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > window.innerWidth + 0.5;
  }).map(e => e.outerHTML.slice(0, 80))"""
#: Every number and time piece (and every value with a unit) must sit on one line.
_SPLIT = """() => [...document.querySelectorAll('main .nw, main time .nw, main .num')]
    .filter(e => e.getClientRects().length !== 1).map(e => e.textContent)"""


@pytest.fixture(scope="module")
def served(issuer):
    app, person, session = issuer
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"sid": session, "_permanent": True})
    yield f"http://127.0.0.1:{server.server_port}", cookie
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_in_chromium_at_phone_size(playwright, served, language):
    from axe_playwright_python.sync_playwright import Axe
    from webcam import CHROMIUM

    base, cookie = served
    browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                         args=["--no-sandbox", "--disable-gpu"])
    try:
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale=language)
        # The test server is plain http: the session cookie goes without its Secure flag.
        context.add_cookies([{"name": "hc_session", "value": cookie, "url": base}])
        page = context.new_page()
        page.goto(f"{base}/me/data")
        assert page.evaluate("document.documentElement.lang") == language
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"mydata-{language}.png", full_page=True)
        folded = page.evaluate("document.documentElement.scrollHeight")
        # Folded, the page is a summary and five headings: a fifth of what it was.
        assert folded < HEIGHT_BEFORE // 5, folded
        assert page.locator("#summary[open] #kinds").is_visible()
        assert not page.locator("#observations").is_visible()

        page.locator("#records > summary").click()  # a section opens with a tap
        assert page.locator("#observations").is_visible()
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        opened = page.evaluate("document.documentElement.scrollHeight")
        assert opened > 5 * folded, (folded, opened)
        for width in (390, 360, 320):
            page.set_viewport_size({"width": width, "height": PHONE["height"]})
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate(_OVERFLOW) == [], width
            assert page.evaluate(_SPLIT) == [], width
            assert page.locator("main .nw").count() > 300
        page.set_viewport_size(PHONE)
        page.screenshot(path=ARTIFACTS / f"mydata-{language}-open.png", full_page=True)
        results = Axe().run(page).response
        assert len(results["passes"]) > 10  # axe-core ran on the page
        violations = results["violations"]
        serious = [(v["id"], v["impact"], len(v["nodes"])) for v in violations
                   if v["impact"] in ("serious", "critical")]
        assert serious == []
        print(f"{language}: folded {folded} px, open {opened} px (before {HEIGHT_BEFORE} px); "
              f"axe: {len(violations)} violations, none serious or critical")
    finally:
        browser.close()
