"""Printed cards (issuer/service/cards.py, issuer/render/card.py, pen.py): the PDF, rendered at 150
dpi, verifies from the picture as a static credential; the CLI, the API endpoint, the staff
page, and the kiosk's verdict on it.

The rendered card is kept at tests/artifacts/card.png to look at.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from click.testing import CliRunner
from conftest import DAY, NOW, TEST_PASSPHRASE
from test_service import server  # noqa: F401 (a fixture: the app on a real HTTP port)

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import MAX_CREDENTIAL_TTL, init_home
from issuer.policy import advice
from issuer.render.card import CHECK_ID, Fonts, render_card
from issuer.service.cards import CARD_PURPOSE, CARD_TTL, card_for, issuer_name, print_card
from issuer.service.issuance import IssuerService
from issuer.store.db import NotFound
from issuer.web import create_app
from issuer.web.staff import staff
from verifier import CREDENTIAL_PREFIX, IdCheck, TrustList, decode_unverified, verify_image
from verifier.base45 import b45decode
from verifier.cli import main as verifier_cli
from verifier.cose import decode_sign1
from verifier.kiosk import Checkpoint, Rule
from verifier.timefmt import iso

SHANGHAI = ZoneInfo("Asia/Shanghai")

ARTIFACTS = Path(__file__).parent / "artifacts"
#: The card must scan from a rendering at this resolution (a cheap scanner, a phone photo).
DPI = 150
PERSON = {"name": "Zhāng Sān-Øster", "id_number": "3301 0619 9001 0112 34",
          "phone": "+86 138 0000 0001", "organisation": "West Lake Primary School"}
OBSERVATIONS = [("steps", 16000), ("sleep_hours", 8)]


@pytest.fixture(scope="module")
def card_home(tmp_path_factory) -> Iterator[Home]:
    """A home of its own (keys from NOW - 1 day; the database in it, as the CLI opens it)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path_factory.mktemp("card-home"))
    init_home(home, now=NOW - DAY)
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def service(card_home) -> Iterator[IssuerService]:
    service = IssuerService.open(card_home)
    yield service
    service.close()


@pytest.fixture(scope="module")
def person(service) -> str:
    """A person whose steps and sleep lift the score above the base."""
    pid = service.create_person(actor="test", now=NOW - 3 * DAY, **PERSON)
    for kind, value in OBSERVATIONS:
        service.add_observation(pid, actor="test", kind=kind, value=value,
                                observed_at=NOW - DAY, source="phone", now=NOW - DAY)
    return pid


@pytest.fixture(scope="module")
def printed(service, person) -> tuple[dict, bytes]:
    return print_card(service, person, actor="test", ttl=CARD_TTL, now=NOW)


@pytest.fixture(scope="module")
def trust(card_home) -> TrustList:
    return TrustList.load(card_home.trust_list, now=NOW)


def render_png(pdf: bytes, dpi: int = DPI, grey: bool = False) -> bytes:
    """The first page of ``pdf`` as PNG bytes at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72, grayscale=grey).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


@pytest.fixture(scope="module")
def card_png(printed) -> bytes:
    png = render_png(printed[1])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "card.png").write_bytes(png)
    return png


# The card ---------------------------------------------------------------------------------

def test_card_verifies_from_a_150_dpi_rendering(service, person, printed, card_png, trust):
    record, pdf = printed
    assert pdf.startswith(b"%PDF-")
    assessment = service.assess(person, NOW)
    credential = verify_image(card_png, trust, NOW + 60)
    assert credential.static is True and credential.presented_at is None
    assert credential.cnf is None  # not bound to a phone: a printed code
    assert (credential.colour, credential.score) == (assessment.colour, assessment.score)
    assert assessment.score > 80  # the factors count: the card is not just the base score
    assert credential.cti.hex() == record["cti"]
    assert credential.exp == NOW + CARD_TTL == record["expires_at"]


def test_card_scans_when_printed_in_black_and_white(printed, trust):
    credential = verify_image(render_png(printed[1], grey=True), trust, NOW + 60)
    assert credential.cti.hex() == printed[0]["cti"]


def test_card_says_everything_in_words(service, person, printed):
    record, pdf = printed
    text = " ".join(pdf_text(pdf).split())
    assessment = service.assess(person, NOW)
    assert assessment.colour.value == "green"
    assert "绿码 GREEN" in text  # the colour in words, Chinese first, not only as a colour
    assert f"健康分 Score {assessment.score}" in text
    # NOW + 14 days, in the deployment's zone (Shanghai), its offset written out.
    assert "有效期至 2026年12月8日 14:00 (UTC+08:00)" in text
    assert "Valid until Dec 8, 2026 14:00 (UTC+08:00)" in text
    assert PERSON["name"] in text
    assert "身份证号末四位 1234 · ID number ending in 1234" in text
    assert CHECK_ID in text and "纸质健康码：检查点须核验持卡人身份证件" in text
    assert service.config.name in text
    factor = next(c for c in assessment.contributions if c.kind.value == "factor")
    assert factor.line("en") in text and factor.line("zh_CN") in text
    assert "为什么是这个颜色：" in text and "Why this colour:" in text
    assert "该怎么做 What to do · 绿码 GREEN" in text  # the back panel
    assert "沿此线对折 Fold here" in text
    assert f"卡号 {record['cti'][:8]}，签发于" in text and f"Card {record['cti'][:8]}" in text
    assert "评分规则 hangzhou-2020-v3 · Scoring policy hangzhou-2020-v3" in text
    for secret in ("3301 0619", "33010619", PERSON["phone"], PERSON["organisation"]):
        assert secret not in text


def test_the_code_carries_only_the_check_id_fields(printed):
    """The masked name and the id number's last 4 characters, signed; nothing else personal."""
    record, _ = printed
    claims = decode_unverified(record["text"])
    assert claims.cnf is None
    assert set(claims._asdict()) - {"presented_at"} == {
        "iss", "iat", "exp", "cti", "colour", "score", "policy", "cnf", "kid", "alg",
        "id_check", "family"}
    assert claims.family is False  # a card is never a family code (the mark needs a phone)
    assert claims.id_check == IdCheck("Z*", "1234")
    # The signed claims, without the random bytes (cti) in which two letters turn up by
    # chance (the key id and the signature, outside the claims, are random too).
    sign1 = decode_sign1(b45decode(record["text"][len(CREDENTIAL_PREFIX):]))
    payload = sign1.payload.replace(claims.cti, b"")
    for secret in (PERSON["name"], PERSON["name"][:2], PERSON["id_number"][:-4],
                   PERSON["phone"], PERSON["organisation"]):
        assert secret.encode() not in payload


def test_card_is_recorded_with_purpose_card(service, printed):
    row = service.store.credential(printed[0]["cti"])
    assert row["purpose"] == CARD_PURPOSE
    assert (row["iat"], row["exp"]) == (NOW, NOW + CARD_TTL)
    assert row["device_id"] is None


def test_same_card_same_bytes(service, person, printed):
    record, pdf = printed
    seen = service.outlook(person, NOW)
    said = {locale: advice(service.policy, seen, locale, SHANGHAI) for locale in ("zh_CN", "en")}
    card = card_for(record, service.store.get_person(person), service.assess(person, NOW),
                    issuer=issuer_name(service.config), zone=SHANGHAI, guidance=said,
                    policy=service.policy.id)
    assert render_card(card) == pdf


@pytest.mark.parametrize("ttl", [0, -DAY, MAX_CREDENTIAL_TTL + 1])
def test_card_lifetime_is_bounded(service, person, ttl):
    with pytest.raises(ValueError, match="at most 30 days"):
        print_card(service, person, actor="test", ttl=ttl, now=NOW)


def test_unknown_person_signs_nothing(service):
    before = service.verify_audit()[0]
    with pytest.raises(NotFound):
        print_card(service, "p-nobody", actor="test", now=NOW)
    assert service.verify_audit()[0] == before


def _card(service, person, printed, **changes):
    record, _ = printed
    card = card_for(record, service.store.get_person(person), service.assess(person, NOW),
                    issuer=service.config.name, zone=SHANGHAI)
    return replace(card, **changes)


@pytest.mark.parametrize("name", ["张三", "Ärzte-Ωmega Łukasz", "N" * 200])
def test_any_name_renders_without_missing_glyphs(service, person, printed, trust, name):
    fonts = Fonts.installed()
    card = _card(service, person, printed, holder=name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fpdf2 warns about glyphs its fonts lack
        pdf = render_card(card, fonts)
    text = pdf_text(pdf)
    if name == "张三":
        assert ("张三" if fonts.cjk else "??") in text  # CJK font (fonts-wqy-microhei) or ?
    elif len(name) > 100:
        assert "N" * 20 + "\u2026" in text  # too long: shrunk, then cut with an ellipsis
    else:
        assert name in text
    assert verify_image(render_png(pdf), trust, NOW + 60).cti == bytes.fromhex(card.cti)


@pytest.mark.parametrize("length", [200, 2000])
def test_a_long_name_of_wide_ligatures_costs_bounded_work(service, person, printed, trust,
                                                          monkeypatch, length):
    """A name of 200 U+FDFA (one of the widest letters there are, drawn by a fallback font)
    took 18 s to print: the line was measured again for every letter cut. Now the text is
    bounded to what its box can hold and cut by bisection: the letters measured for the
    whole card stay a few thousand, whatever the name's length."""
    from fpdf import FPDF

    measured = {"calls": 0, "letters": 0}
    original = FPDF.get_string_width

    def counting(pdf, text, *args, **kwargs):
        measured["calls"] += 1
        measured["letters"] += len(text)
        return original(pdf, text, *args, **kwargs)

    monkeypatch.setattr(FPDF, "get_string_width", counting)
    render_card(_card(service, person, printed, holder="Li Si"), Fonts.installed())
    usual = dict(measured)  # the rest of the card: the same whatever the name
    measured.update(calls=0, letters=0)
    card = _card(service, person, printed, holder="\ufdfa" * length)
    pdf = render_card(card, Fonts.installed())
    extra = {key: measured[key] - usual[key] for key in measured}
    assert extra["letters"] < 10_000 and extra["calls"] < 100, (extra, usual)  # was 6.5 M
    assert usual["letters"] < 10_000 and usual["calls"] < 400, usual
    text = pdf_text(pdf)
    assert "\u2026" in text or "..." in text  # cut with an ellipsis (right to left here)
    assert verify_image(render_png(pdf), trust, NOW + 60).cti == bytes.fromhex(card.cti)


def test_core_font_fallback_transliterates(service, person, printed, trust):
    """Without the DejaVu files, Helvetica (Latin-1): other letters become their base letter,
    or ?, and the card still scans."""
    card = _card(service, person, printed, holder="Zhāng Sān 张三 Łukasz")
    pdf = render_card(card, Fonts(None, None))
    assert "Zhang San ?? Lukasz" in pdf_text(pdf)
    assert verify_image(render_png(pdf), trust, NOW + 60).cti == bytes.fromhex(card.cti)


# The kiosk's verdict on a card ---------------------------------------------------------------

@pytest.mark.parametrize(("accept_static", "state"), [(True, "admit"), (False, "deny")])
def test_kiosk_checks_a_card_as_a_static_code(card_home, card_png, accept_static, state):
    checkpoint = Checkpoint(card_home.trust_list, Rule.parse("green"),
                            accept_static=accept_static, clock=lambda: NOW + 60)
    verdict = checkpoint.upload(card_png)
    assert verdict["state"] == state
    assert verdict["static"] is True
    assert verdict["colour"] == "green"
    assert verdict["id_check"] == {"name": "Z*", "id_tail": "1234"}
    if not accept_static:
        assert "static" in verdict["message"]


def test_check_says_what_to_compare_with_the_id(card_home, card_png, tmp_path):
    png = tmp_path / "card.png"
    png.write_bytes(card_png)
    result = CliRunner().invoke(verifier_cli, ["check", str(png), "--trust",
                                               str(card_home.trust_list), "--at", iso(NOW + 60)])
    assert result.exit_code == 0, result.output
    assert "static code (check ID: name Z*, ID number ending 1234)" in result.output


# The command line ------------------------------------------------------------------------------

def run_cli(*args: str):
    return CliRunner().invoke(issuer_cli, list(args), env={PASSPHRASE_ENV: TEST_PASSPHRASE})


def test_cli_prints_a_card(card_home, service, person, tmp_path, trust):
    out = tmp_path / "card.pdf"
    result = run_cli("print", person, "--out", str(out), "--days", "3", "--home",
                     str(card_home.root))
    assert result.exit_code == 0, result.output
    cti = re.search(r"card ([0-9a-f]{24})", result.output)[1]
    row = service.store.credential(cti)
    assert row["purpose"] == CARD_PURPOSE and row["exp"] - row["iat"] == 3 * DAY
    assert "expires " in result.output and "(UTC" in result.output  # zone and offset shown
    credential = verify_image(render_png(out.read_bytes()), trust, row["iat"] + 60)
    assert credential.cti.hex() == cti


@pytest.mark.parametrize(("args", "code", "message"), [
    (["p-nobody"], 1, "no person p-nobody"),
    (["PERSON", "--days", "0"], 2, "--days"),
    (["PERSON", "--days", "31"], 2, "--days"),
    (["PERSON"], 1, "Error:"),  # a home without keys
])
def test_cli_refuses_cleanly(card_home, person, tmp_path, args, code, message):
    out = tmp_path / "card.pdf"
    home = str(card_home.root) if message != "Error:" else str(tmp_path / "empty")
    args = [person if a == "PERSON" else a for a in args]
    result = run_cli("print", *args, "--out", str(out), "--home", home)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_reports_an_unwritable_output(card_home, person, tmp_path):
    out = tmp_path / "no-such-folder" / "card.pdf"
    result = run_cli("print", person, "--out", str(out), "--home", str(card_home.root))
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and "No such file or directory" in result.output


# The API and the staff page ------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(card_home, service, person):
    app = create_app({"HOME": str(card_home.root), "RANKING_MIN_MEMBERS": 3})
    if "staff" not in app.blueprints:
        app.register_blueprint(staff)
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, str]:
    service = app.extensions["healthcode"]
    return {scope: service.create_token(scope, f"card test {scope}", 0)[1]
            for scope in ("read", "write")}


def post_card(app, person_id: str, token: str | None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post(f"/api/people/{person_id}/card", headers=headers, **kwargs)


def test_api_returns_the_card_pdf(app, tokens, person, service):
    response = post_card(app, person, tokens["write"], json={"days": 5})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert re.fullmatch(r'attachment; filename="card-[0-9a-f]{8}\.pdf"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    row = card_row(service, person, response)
    assert row["purpose"] == CARD_PURPOSE and row["exp"] - row["iat"] == 5 * DAY


def test_api_card_tells_times_in_the_deployment_zone(card_home, service, person):
    """The app's TIMEZONE setting reaches the card printed through the API."""
    app = create_app({"HOME": str(card_home.root), "TIMEZONE": "America/New_York"})
    try:
        token = app.extensions["healthcode"].create_token("write", "zone test", 0)[1]
        response = post_card(app, person, token, json={"days": 2})
        assert response.status_code == 200
        text = " ".join(pdf_text(response.data).split())
        assert "UTC-05:00" in text and "UTC+08:00" not in text
    finally:
        app.extensions["healthcode"].close()


def test_card_names_the_issuer_in_both_languages(printed):
    text = " ".join(pdf_text(printed[1]).split())
    assert "杭州健康码（演示签发机构）" in text and "Hangzhou health code (demo issuer)" in text


def card_row(service, person: str, response) -> dict:
    """The stored credential of the card in ``response`` (named by its file name)."""
    prefix = re.search(r"card-([0-9a-f]{8})\.pdf", response.headers["Content-Disposition"])[1]
    return next(r for r in service.store.credentials(person) if r["cti"].startswith(prefix))


@pytest.mark.parametrize("body", [{"json": {}}, {}])  # an empty JSON object, or no body
def test_api_days_default_to_the_card_lifetime(app, tokens, person, service, body):
    response = post_card(app, person, tokens["write"], **body)
    assert response.status_code == 200
    row = card_row(service, person, response)
    assert row["exp"] - row["iat"] == CARD_TTL


@pytest.mark.parametrize(("who", "path_person", "body", "status"), [
    (None, "PERSON", {}, 401),
    ("bogus", "PERSON", {}, 401),
    ("read", "PERSON", {}, 403),
    ("write", "p-nobody", {}, 404),
    ("write", "PERSON", {"days": 0}, 422),
    ("write", "PERSON", {"days": 31}, 422),
    ("write", "PERSON", {"days": "many"}, 422),
])
def test_api_refusals(app, tokens, person, who, path_person, body, status):
    token = tokens.get(who, who)
    response = post_card(app, person if path_person == "PERSON" else path_person, token,
                         json=body)
    assert response.status_code == status
    assert response.mimetype == "application/json"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inputs: list[dict[str, str | None]] = []
        self.form: dict[str, str | None] = {}
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag == "script":
            self._in_script = True
            # The translations are a data block (type application/json), never run.
            self.inline_scripts += "src" not in attrs and attrs.get("type") != "application/json"
        self.inline_scripts += any(k.startswith("on") for k in attrs)  # onclick=...
        if tag == "input":
            self.inputs.append(attrs)
        if tag == "form":
            self.form = attrs

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"


def test_staff_page_has_a_csp_and_no_external_assets(app):
    client = app.test_client()
    response = client.get("/staff")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    page = _Assets()
    page.feed(response.get_data(as_text=True))
    assert page.inline_scripts == 0
    assert page.urls and all(u.startswith(("/staff/static/", "/static/", "/lang/"))
                             for u in page.urls if u != "")
    assert page.form["data-card-url"] == "/api/people/__PERSON__/card"
    assert "action" not in page.form
    # No input has a name: if the script failed, a submitted form would carry no token.
    assert all("name" not in i for i in page.inputs)
    assert next(i for i in page.inputs if i["id"] == "token")["type"] == "password"
    for url in (u for u in page.urls if not u.startswith("/lang/")):
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"http://" not in asset.data and b"https://" not in asset.data
        asset.close()
    script = client.get("/staff/static/staff.js")
    body = script.get_data(as_text=True)
    script.close()
    assert "sessionStorage" in body and "localStorage" not in body
    assert "document.cookie" not in body


# The staff page in a real browser ------------------------------------------------------------

def test_staff_page_prints_a_card_in_chromium(server, tokens, person, tmp_path,  # noqa: F811
                                               playwright):
    """The button posts with the bearer token, opens the PDF from a blob: URL, and explains
    401, 403 and 404; the token goes nowhere but the Authorization header."""
    import webcam  # its browser(): Chromium as the kiosk tests run it
    sent: list[tuple[str, str | None]] = []
    problems: list[str] = []
    answers: list[tuple[int, str]] = []
    phone = {"viewport": {"width": 390, "height": 760},  # the page is used on phones too
             "locale": "en-US"}
    with webcam.browser(playwright, None, tmp_path / "profile", **phone) as ctx:
        page = ctx.new_page()
        page.on("request", lambda r: sent.append((r.url, r.headers.get("authorization"))))
        page.on("response", lambda r: answers.append((r.status, r.headers["content-type"]))
                if r.url.endswith("/card") else None)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{server}/staff")
        page.click("details.by-id summary")  # printing by person id is folded away

        def attempt(token: str, person_id: str) -> str:
            page.evaluate("document.getElementById('status').dataset.kind = ''")
            page.fill("#token", token)
            page.fill("#person", person_id)
            page.click("#print")
            page.locator("#status[data-kind=error], #status[data-kind=done]").wait_for()
            return page.inner_text("#status")

        assert "(401)" in attempt("not-a-token", person)
        page.screenshot(path=ARTIFACTS / "staff-401.png")
        assert "(403)" in attempt(tokens["read"], person)
        assert "No person" in attempt(tokens["write"], "p-nobody")
        with page.expect_popup() as popup:
            assert "Card ready" in attempt(tokens["write"], person)
        assert popup.value.url.startswith("blob:")
        page.screenshot(path=ARTIFACTS / "staff-printed.png")
        assert page.get_attribute("#open", "href") == popup.value.url
        assert re.fullmatch(r"card-[0-9a-f]{8}\.pdf", page.get_attribute("#save", "download"))
        assert answers[-1] == (200, "application/pdf")
        assert page.evaluate("sessionStorage.getItem('healthcode.staff.token')") \
            == tokens["write"]
        assert page.evaluate("document.cookie + localStorage.length") == "0"
    problems = [p for p in problems if "status of 40" not in p]  # the refusals asked for
    assert not problems, problems
    for token in tokens.values():
        assert all(token not in url for url, _ in sent)
    card_posts = [auth for url, auth in sent if url.endswith(f"/api/people/{person}/card")]
    assert f"Bearer {tokens['write']}" in card_posts


# The back panel: what to do, whom to contact, when the colour changes ------------------------

def test_a_red_card_says_what_to_do_and_when_it_turns_green(card_home, service, trust):
    pid = service.create_person(actor="test", now=NOW - 3 * DAY, name="王芳",
                                id_number="330106199202025678", phone="+86 135 0000 0005",
                                organisation="Xihu Clinic")
    service.add_observation(pid, actor="test", kind="test_result", value="positive",
                            observed_at=NOW - 2 * DAY, source="lab", now=NOW - DAY)
    record, pdf = print_card(service, pid, actor="test", now=NOW, zone=SHANGHAI)
    assert record["colour"] == "red"
    text = " ".join(pdf_text(pdf).split())
    packed = "".join(text.split())  # Chinese wraps anywhere: compare without the breaks
    assert "红码 RED" in text and "王芳" in text
    # Positive on NOW - 2 days: red until NOW + 12 days, 2026-12-06 14:00 in Shanghai.
    assert "如无新结果，绿码将于2026年12月6日14:00(UTC+08:00)恢复" in packed
    assert "呼吸困难，请拨打120。" in packed and "紧急情况请拨打120。" in packed
    assert "Green again on Dec 6, 2026 14:00 (UTC+08:00) if no new result" in text
    assert "请立即居家" in text and "Stay at home now" in text and "\u2026" not in text
    assert "联系：" in text and "12345" in text and "Contact:" in text
    assert "检测结果为阳性" in text and "Positive test on" in text
    png = render_png(pdf)
    (ARTIFACTS / "card-red.png").write_bytes(png)
    for picture in (png, render_png(pdf, grey=True)):
        credential = verify_image(picture, trust, NOW + 60)
        assert (credential.colour, credential.cti.hex()) == ("red", record["cti"])


@pytest.mark.parametrize("bold", [False, True])
def test_latin_after_a_line_of_chinese_keeps_its_font(bold):
    """fpdf2 left the Chinese font set after a line of Chinese: the next line's "120" was
    drawn with it (and read back as "Gre")."""
    from issuer.render.pen import Pen

    fonts = Fonts.installed()
    if fonts.cjk is None:
        pytest.skip("no CJK font installed")
    pen = Pen(fonts, NOW, ("请",))
    pen.line("Green", 10, 10, 90, 5, size=8.5, bold=True)
    pen.line("请拨打", 10, 20, 90, 5, size=8.5, bold=bold)
    pen.line("120。", 10, 30, 90, 5, size=8.5, bold=bold)
    assert pdf_text(bytes(pen.pdf.output())).split() == ["Green", "请拨打", "120。"]


def test_chinese_wraps_between_characters_and_never_before_a_closing_mark():
    from issuer.render.pen import Pen

    fonts = Fonts.installed()
    if fonts.cjk is None:
        pytest.skip("no CJK font installed")
    pen = Pen(fonts, NOW, ("请",))
    text = ("请立即居家，不要外出，不要乘坐公共交通。请等待社区工作人员联系您，"
            "安排核酸检测和隔离；如有发烧、咳嗽或呼吸困难，请拨打 120。")
    pen.paragraph(text, 10, 10, 93, lines=6, size=8.5)
    rows = pdf_text(bytes(pen.pdf.output())).split("\r\n")
    assert len(rows) == 3 and "".join("".join(rows).split()) == "".join(text.split())
    assert not any(row[0] in "，。；：" for row in rows)
