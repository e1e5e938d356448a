"""Issue 19 at the checkpoint kiosk: a picture from each foreign corpus (the EU certificate's
own PNG, the NZ pass's PNG, the SMART card drawn in Chromium from its SVG, as
tests/test_check_foreign.py does) posted to a real kiosk on 127.0.0.1, with the keys stored
beside its trust list by ``healthcode-verifier trust add-dcc/add-shc/add-nzcp``: admitted
under ``dcc:any,shc:any,nzcp:any`` with the holder's name and date of birth in the verdict,
refused by the default rule, an expired pass refused as expired; keys added while the kiosk
runs are picked up; the holder's name and birth date never reach a log, the counters or the
disk; the page (in Chromium) shows the format, the country, what the code certifies and the
name and date of birth to check, in Chinese and English. The rule's foreign terms too.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import file_tree
from shccards import draw_svg_qr
from werkzeug.serving import make_server

from verifier.cli import main as verifier_cli
from verifier.formats import ForeignCode, Holder
from verifier.kiosk import Rule, RuleError, create_app
from verifier.timefmt import parse_instant

INTEROP = Path(__file__).parent / "interop"
SHC = INTEROP / "shc" / "examples"
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"
NZCP = INTEROP / "nzcp" / "examples"
DCC = INTEROP / "dcc"
ALL = "dcc:any,shc:any,nzcp:any"


class Clock:
    """The kiosk's clock, set by each test to its corpus's validation time."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _dcc_case() -> dict:
    """The first EU case with a picture, its certificate, and a signature expected to verify
    (the one tests/test_check_foreign.py reads through ``check``)."""
    for path in sorted(DCC.rglob("*.json")):
        case = json.loads(path.read_text())
        if case.get("2DCODE") and case.get("EXPECTEDRESULTS", {}).get("EXPECTEDVERIFY") \
                and case.get("TESTCTX", {}).get("CERTIFICATE"):
            return case
    raise AssertionError("no pictured EU case")


def _pem(case: dict) -> bytes:
    body = case["TESTCTX"]["CERTIFICATE"]
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines)
            + "\n-----END CERTIFICATE-----\n").encode()


@pytest.fixture(scope="module")
def corpus(playwright, tmp_path_factory) -> dict[str, dict]:
    """Per format: the picture, the clock it verifies at, who it names, and its key file."""
    folder = tmp_path_factory.mktemp("corpus")
    case = _dcc_case()
    (folder / "dsc.pem").write_bytes(_pem(case))
    names = case["JSON"]["nam"]
    return {
        "dcc": {"png": base64.b64decode(case["2DCODE"]),
                "at": parse_instant(case["TESTCTX"]["VALIDATIONCLOCK"]),
                "name": f"{names['gn']} {names['fn']}", "birth_date": case["JSON"]["dob"],
                "add": ["add-dcc", str(folder / "dsc.pem")]},
        "shc": {"png": draw_svg_qr(playwright, (SHC / "example-00-g-qr-code-0.svg").read_text()),
                "at": parse_instant("2023-06-24T00:00:00Z"), "name": "John B. Anyperson",
                "birth_date": "1951-01-20",
                "add": ["add-shc", SHC_ISS, str(SHC / "issuer" / ".well-known" / "jwks.json")]},
        "nzcp": {"png": (NZCP / "valid" / "nzcp.png").read_bytes(),
                 "at": parse_instant("2021-11-10T00:00:00Z"), "name": "Jack Sparrow",
                 "birth_date": "1960-04-16",
                 "add": ["add-nzcp", str(NZCP / "valid" / "did.json")]},
    }


def _add_keys(trust_list: Path, corpus: dict[str, dict], names=("dcc", "shc", "nzcp")) -> None:
    for name in names:
        run = CliRunner().invoke(verifier_cli, ["trust", *corpus[name]["add"],
                                                "--trust", str(trust_list)])
        assert run.exit_code == 0, run.output


@pytest.fixture
def trust_list(trust_copy) -> Path:
    """A copy of the shared home's trust list and anchor, with no foreign keys yet."""
    return trust_copy


@pytest.fixture
def serve(trust_list) -> Iterator:
    """``serve(rule)`` -> (url, clock, checkpoint) of a real kiosk on 127.0.0.1 on
    ``trust_list`` (stopped after the test)."""
    servers = []

    def start(rule: str | None = ALL, **config):
        clock = Clock()
        app = create_app({"TRUST": trust_list, "RULE": rule, "CLOCK": clock,
                          "DEFAULT_LOCALE": "en", **config})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}", clock, app.extensions["checkpoint"]

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(5)


def post(url: str, path: str, data: bytes, kind: str = "image/png") -> dict:
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": kind})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def get(url: str, path: str, accept: str = "application/json") -> str:
    request = urllib.request.Request(url + path, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


# ---- the acceptance point: a PNG of each corpus through the kiosk ----------------------------

@pytest.mark.parametrize("name", ["dcc", "shc", "nzcp"])
def test_a_png_from_each_corpus_is_admitted_with_whom_it_names(name, corpus, trust_list,
                                                               serve):
    _add_keys(trust_list, corpus)
    url, clock, _ = serve(ALL)
    clock.now = corpus[name]["at"]
    verdict = post(url, "/api/upload", corpus[name]["png"])
    assert (verdict["state"], verdict["format"]) == ("admit", name), verdict
    assert (verdict["name"], verdict["birth_date"]) == (corpus[name]["name"],
                                                        corpus[name]["birth_date"])
    assert verdict["kind"] and verdict["issuer"] and isinstance(verdict["shows"], dict)
    assert verdict["country"] == {"nzcp": "NZ", "shc": None}.get(name, verdict["issuer"])
    assert verdict["colour"] is None and verdict["message"] == "ADMIT"
    # The same picture through `healthcode-verifier check IMAGE`, with the same stored keys.
    picture = trust_list.parent / f"{name}.png"
    picture.write_bytes(corpus[name]["png"])
    run = CliRunner().invoke(verifier_cli, ["check", str(picture), "--trust", str(trust_list),
                                            "--at", str(corpus[name]["at"]), "--json"])
    assert run.exit_code == 0 and json.loads(run.output)["format"] == name, run.output


@pytest.mark.parametrize(("name", "refusal"), [
    ("dcc", "this checkpoint does not accept EU certificates"),
    ("shc", "this checkpoint does not accept SMART Health Cards"),
    ("nzcp", "this checkpoint does not accept NZ COVID Passes")])
def test_the_default_rule_refuses_every_foreign_code_saying_why(name, refusal, corpus,
                                                                 trust_list, serve):
    _add_keys(trust_list, corpus)
    url, clock, _ = serve(None)  # the default rule: green codes of ours only
    clock.now = corpus[name]["at"]
    verdict = post(url, "/api/upload", corpus[name]["png"])
    assert (verdict["state"], verdict["format"], verdict["message"]) == ("deny", name, refusal)


def test_a_smart_card_printed_in_three_qr_codes_is_admitted(corpus, trust_list, serve,
                                                            tmp_path):
    from test_check_foreign import _chunks_picture
    _add_keys(trust_list, corpus, ["shc"])
    url, clock, _ = serve(ALL)
    clock.now = corpus["shc"]["at"]
    chunks = [(SHC / f"example-02-f-qr-code-numeric-value-{i}.txt").read_text().strip()
              for i in (1, 2, 0)]
    verdict = post(url, "/api/upload", _chunks_picture(tmp_path / "c.png", chunks).read_bytes())
    assert (verdict["state"], verdict["format"]) == ("admit", "shc"), verdict


def test_an_expired_nz_pass_is_refused_as_expired(corpus, trust_list, serve):
    _add_keys(trust_list, corpus, ["nzcp"])
    url, clock, _ = serve(ALL)
    clock.now = corpus["nzcp"]["at"]
    verdict = post(url, "/api/upload",
                   (NZCP / "invalid" / "nzcp-expired-payload.png").read_bytes())
    assert (verdict["state"], verdict["reason"], verdict["format"]) == \
        ("invalid", "expired", "nzcp")
    assert verdict["message"] == "Code expired" and verdict["detail"].startswith("expired ")
    assert "name" not in verdict  # a refused code names no one


def test_a_camera_frame_of_a_foreign_code_is_read(corpus, trust_list, serve):
    """The page's camera path: a JPEG frame (as kiosk.js sends) of the NZ pass's picture."""
    import io

    from PIL import Image

    _add_keys(trust_list, corpus, ["nzcp"])
    url, clock, _ = serve("green,nzcp:pass")
    clock.now = corpus["nzcp"]["at"]
    frame = Image.new("L", (1280, 720), 255)
    frame.paste(Image.open(io.BytesIO(corpus["nzcp"]["png"])).convert("L"), (400, 100))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=85)
    verdict = post(url, "/api/frame", buffer.getvalue(), "image/jpeg")
    assert (verdict["state"], verdict["format"], verdict["kind"]) == ("admit", "nzcp", "pass")


def test_keys_stored_while_the_kiosk_runs_are_picked_up(corpus, trust_list, serve):
    url, clock, checkpoint = serve(ALL)
    clock.now = corpus["nzcp"]["at"]
    text = (NZCP / "valid" / "nzcp.txt").read_text().strip()
    assert post(url, "/api/text", text.encode(), "text/plain")["reason"] == "unknown_key"
    _add_keys(trust_list, corpus, ["nzcp"])
    assert post(url, "/api/text", text.encode(), "text/plain")["state"] == "admit"
    assert json.loads(get(url, "/api/status"))["foreign"] == {"formats": ["nzcp"],
                                                              "warning": None}
    # A stored file broken by hand: no foreign keys at all (fail closed), and the status says so.
    [stored] = (trust_list.parent / "foreign" / "nzcp").glob("*.json")
    stored.write_text("{not json")
    assert post(url, "/api/text", text.encode(), "text/plain")["reason"] == "unknown_key"
    status = json.loads(get(url, "/api/status"))["foreign"]
    assert status["formats"] == [] and stored.name in status["warning"]


def test_foreign_codes_need_none_of_our_trust_list(corpus, trust_list, serve):
    _add_keys(trust_list, corpus, ["nzcp"])
    trust_list.unlink()
    url, clock, _ = serve(ALL)
    clock.now = corpus["nzcp"]["at"]
    assert post(url, "/api/upload", corpus["nzcp"]["png"])["state"] == "admit"
    ours = post(url, "/api/text", b"HCC1:whatever", "text/plain")
    assert (ours["state"], ours["reason"]) == ("invalid", "trust_list_malformed")


# ---- privacy: the holder's name and date of birth are shown, never kept ----------------------

def test_no_name_or_birth_date_in_logs_stats_or_files(corpus, trust_list, serve, scratch_dirs,
                                                      caplog):
    _add_keys(trust_list, corpus)
    scratch, cwd = scratch_dirs
    before = file_tree(trust_list.parent)
    caplog.set_level(logging.DEBUG)
    url, clock, checkpoint = serve(ALL)
    for logger in ("werkzeug", "verifier.kiosk"):  # the server's and the app's records
        logging.getLogger(logger).warning("probe %s", logger)  # do reach caplog
        assert any(r.getMessage() == f"probe {logger}" for r in caplog.records)
    states = []
    for name in ("dcc", "shc", "nzcp"):
        clock.now = corpus[name]["at"]
        states.append(post(url, "/api/upload", corpus[name]["png"])["state"])
        states.append(post(url, "/api/upload", corpus[name]["png"])["state"])  # seen again
    clock.now = corpus["nzcp"]["at"] + 3600
    expired = post(url, "/api/upload", (NZCP / "invalid" / "nzcp-expired-payload.png")
                   .read_bytes())
    assert states == ["admit"] * 6 and expired["reason"] == "expired"
    stats = json.loads(get(url, "/stats"))
    assert (stats["admitted"], stats["invalid_by_reason"]) == (3, {"expired": 1})
    kept = [get(url, "/stats"), get(url, "/stats", "text/html"), get(url, "/api/status"),
            get(url, "/", "text/html")]
    kept += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    kept.append(repr(checkpoint.__dict__))  # what the checkpoint holds in memory
    secrets = [value for c in corpus.values() for value in (c["name"], c["birth_date"])]
    secrets += [c["name"].split()[-1] for c in corpus.values()]  # a family name alone too
    for text in kept:
        assert not any(secret in text for secret in secrets), text[:300]
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []
    assert file_tree(trust_list.parent) == before


# ---- the rule's foreign terms ------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical", "described"), [
    (ALL, "green,dcc:any,shc:any,nzcp:any",
     "Admits green codes; EU certificates of any kind; SMART Health Cards of any kind; "
     "NZ COVID Passes of any kind"),
    ("green,yellow,dcc:vaccination,recovery", "green,yellow,dcc:vaccination,recovery",
     "Admits green or yellow codes; EU certificates for vaccination or recovery"),
    ("dcc:recovery, Vaccination ,score>=60", "score>=60,dcc:vaccination,recovery",
     "Admits codes of any colour, score at least 60; EU certificates for vaccination or "
     "recovery"),
    ("nzcp:pass,dcc:test,any", "green,dcc:any,nzcp:pass",
     "Admits green codes; EU certificates of any kind; NZ COVID Passes for pass"),
    ("shc:immunization,red", "red,shc:immunization",
     "Admits red codes; SMART Health Cards for immunization"),
])
def test_foreign_terms_parse_to_canonical_text(text, canonical, described):
    rule = Rule.parse(text)
    assert (rule.text, rule.describe()) == (canonical, described)
    assert Rule.parse(rule.text) == rule


@pytest.mark.parametrize(("text", "named"), [
    ("dcc:boosters", "'dcc:boosters': the kinds of dcc are vaccination, test, recovery"),
    ("dcc:vaccination,pass", "'pass': the kinds of dcc"),
    ("eu:any", "'eu' is not a format"),
    ("dcc:", "'dcc:'"),
    ("green,dcc", "'dcc' is neither a colour"),
])
def test_bad_foreign_terms_are_refused_naming_the_term(text, named):
    with pytest.raises(RuleError, match=named):
        Rule.parse(text)


def _code(name: str, kind: str) -> ForeignCode:
    return ForeignCode(format=name, issuer="X", country=None, kind=kind,
                       holder=Holder("A B", "2000"), issued_at=None, not_before=None,
                       expires_at=None, kid="k", alg="ES256")


@pytest.mark.parametrize(("rule", "name", "kind", "refusal"), [
    ("green", "dcc", "vaccination", "this checkpoint does not accept EU certificates"),
    ("green,shc:any", "nzcp", "pass", "this checkpoint does not accept NZ COVID Passes"),
    ("dcc:vaccination,recovery", "dcc", "recovery", None),
    ("dcc:vaccination,recovery", "dcc", "test",
     "EU certificates of this kind (test) are not accepted here"),
    ("shc:immunization", "shc", "laboratory",
     "SMART Health Cards of this kind (laboratory result) are not accepted here"),
    ("shc:any", "shc", "condition", None),
    ("nzcp:pass", "nzcp", "pass", None),
])
def test_the_rule_decides_foreign_codes_by_format_and_kind(rule, name, kind, refusal):
    assert Rule.parse(rule).decide(_code(name, kind)) == refusal


# ---- the page, in a real Chromium ---------------------------------------------------------------

#: What the page says of each corpus's code, in each language (the name and date of birth are
#: the holder's own, in translate="no" elements on the Chinese page too).
PAGE_WORDS = {
    "en": {"dcc": ("EU Digital COVID Certificate from ", "certifies: "),
           "shc": ("SMART Health Card from spec.smarthealth.cards", "certifies: immunization"),
           "nzcp": ("NZ COVID Pass from New Zealand", "certifies: pass")},
    "zh-CN": {"dcc": ("的欧盟数字新冠证书", "证明："),
              "shc": ("来自spec.smarthealth.cards的智能健康卡", "证明：免疫接种"),
              "nzcp": ("来自新西兰的新西兰新冠通行证", "证明：通行证")},
}
CHECK_ID = {"en": "Check ID: {name}, born {date}",
            "zh-CN": "请核对身份证件：{name}，出生日期 {date}"}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_page_shows_format_country_what_and_whom_to_check(lang, corpus, trust_list, serve,
                                                               playwright, tmp_path):
    from test_kiosk_browser import _foreign as latin_words
    from test_kiosk_browser import _no_camera_page, _read_texts, _serious, keep_screenshot

    _add_keys(trust_list, corpus)
    url, clock, _ = serve(ALL)
    context, page = _no_camera_page(playwright, url + "/", tmp_path / "profile", lang,
                                    {"width": 1280, "height": 720})
    try:
        for name in ("dcc", "shc", "nzcp"):
            clock.now = corpus[name]["at"]
            (tmp_path / f"{name}.png").write_bytes(corpus[name]["png"])
            before = page.evaluate("window.kiosk.verdicts.length")
            page.set_input_files("#upload", str(tmp_path / f"{name}.png"))
            page.wait_for_selector(f'#verdict[data-state="admit"][data-format="{name}"]',
                                   timeout=20_000)
            assert page.evaluate("window.kiosk.verdicts.length") > before
            holder = corpus[name]
            note = page.locator("#verdict-static")
            assert note.text_content() == CHECK_ID[lang].format(name=holder["name"],
                                                                date=holder["birth_date"])
            assert note.locator('[translate="no"]').text_content() == holder["name"]
            where, what = PAGE_WORDS[lang][name]
            assert where in page.locator("#verdict-line").text_content()
            assert page.locator("#verdict-detail").text_content().startswith(what)
            assert holder["name"] in page.locator("#verdict-announce").text_content()
            if lang == "zh-CN":
                texts = _read_texts(page, '.languages, script, [hidden], [translate="no"]')
                assert latin_words(texts, lang, issuer_name="") == [], name
            assert _serious(page) == [], name
            keep_screenshot(page, f"kiosk-foreign-{lang}-{name}.png")
    finally:
        context.close()


def test_the_page_says_why_the_default_rule_refuses_a_foreign_code(corpus, trust_list, serve,
                                                                   playwright, tmp_path):
    from test_kiosk_browser import _no_camera_page

    _add_keys(trust_list, corpus, ["nzcp"])
    url, clock, _ = serve(None)
    clock.now = corpus["nzcp"]["at"]
    context, page = _no_camera_page(playwright, url + "/", tmp_path / "profile", "zh-CN",
                                    {"width": 1280, "height": 720})
    try:
        page.set_input_files("#upload", str(NZCP / "valid" / "nzcp.png"))
        page.wait_for_selector('#verdict[data-state="deny"]', timeout=20_000)
        assert "本检查点不接受新西兰新冠通行证" in page.locator("#verdict-line").text_content()
        assert page.locator("#verdict-static").is_hidden()  # no one to check: not admitted
        assert page.locator("#verdict-announce").text_content() == \
            "不通过，新西兰新冠通行证：本检查点不接受新西兰新冠通行证"
    finally:
        context.close()
