"""Languages: which one a reader gets, the switch, the catalogs, and times as people read them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from verifier import i18n

EPOCH = int(datetime(2026, 12, 5, 0, 30, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(("text", "locale"), [
    ("zh-CN", "zh_CN"), ("zh", "zh_CN"), ("zh_Hans_CN", "zh_CN"), ("zh-Hans", "zh_CN"),
    ("en", "en"), ("en-GB", "en"), ("EN-us", "en"), ("zh-TW", None), ("fr", None),
    ("", None), (None, None), ("x" * 40, None), ("zh-\u0000", None)])
def test_parse_tag(text, locale):
    assert i18n.parse_tag(text) == locale


def test_negotiate_prefers_the_choice_then_the_browser_then_the_default():
    assert i18n.negotiate("en", ["zh-CN"], "zh-CN") == "en"
    assert i18n.negotiate(None, ["fr", "zh-CN", "en"], "en") == "zh_CN"
    assert i18n.negotiate("klingon", ["fr"], "en") == "en"
    assert i18n.negotiate(None, [], "nonsense") == "zh_CN"


def test_times_carry_their_offset_in_either_language():
    shanghai = i18n.zone("Asia/Shanghai")
    assert i18n.format_time(EPOCH, "zh_CN", shanghai) == "2026年12月5日 08:30 (UTC+08:00)"
    assert i18n.format_time(EPOCH, "en", shanghai) == "Dec 5, 2026 08:30 (UTC+08:00)"
    assert i18n.format_time(EPOCH, "en", i18n.zone("UTC")) == "Dec 5, 2026 00:30 (UTC+00:00)"
    assert i18n.format_date(EPOCH, "zh_CN", shanghai) == "2026年12月5日"
    with pytest.raises(ValueError, match="time zone"):
        i18n.zone("Mars/Olympus")


def test_numbers_are_rounded_and_grouped():
    assert i18n.format_decimal(5666.66, "en") == "5,667"
    assert i18n.format_decimal(4.16, "zh_CN", 1) == "4.2"
    assert i18n.format_decimal(7.0, "en", 1) == "7"


def test_compile_writes_only_stale_catalogs(tmp_path):
    folder = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Ready"\nmsgstr "就绪"\n', encoding="utf-8")
    assert i18n.compile_catalogs(tmp_path) == 1
    assert i18n.compile_catalogs(tmp_path) == 0
    translated = i18n.translations("zh_CN", tmp_path)
    assert translated.gettext("Ready") == "就绪"


@pytest.fixture
def app(tmp_path, monkeypatch):
    from conftest import TEST_PASSPHRASE

    from issuer.keys.home import PASSPHRASE_ENV, Home
    from issuer.keys.keystore import init_home
    from issuer.web import create_app
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/i.db"})
    yield app
    app.extensions["healthcode"].close()


def test_language_follows_the_switch_then_the_browser_then_the_default(app):
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page  # the deployment default
    page = client.get("/signin", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(
        as_text=True)
    assert '<html lang="en">' in page
    switched = client.get("/lang/zh-CN?next=/signin", headers={"Accept-Language": "en"})
    assert switched.status_code == 303 and switched.headers["Location"] == "/signin"
    assert "hc_lang=zh-CN" in switched.headers["Set-Cookie"]
    page = client.get("/signin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and 'aria-label="语言"' in page


def test_pages_and_messages_vary_by_language(app):
    client = app.test_client()
    for path in ("/", "/signin", "/me/credential.json"):
        vary = client.get(path).headers.get("Vary", "")
        assert "Accept-Language" in vary and "Cookie" in vary, path
    script = client.get("/shared/i18n.js")
    script.close()
    assert "Accept-Language" not in script.headers.get("Vary", "")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil",
                                    "javascript:alert(1)", ""])
def test_language_switch_goes_back_only_to_this_site(app, target):
    response = app.test_client().get("/lang/en", query_string={"next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_pages_carry_the_script_catalog_for_their_language(app):
    page = app.test_client().get("/signin", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page).group(1)
    data = json.loads(block)
    assert data["locale"] == "zh-CN" and data["zone"] == "Asia/Shanghai"
    assert isinstance(data["messages"], dict)
    assert "<" not in block


def _catalogs():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "scripts" / "catalogs.py"
    spec = importlib.util.spec_from_file_location("catalogs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("package", ["issuer", "verifier"])
def test_every_marked_string_is_translated(package):
    """Every string marked in the code is in the Chinese catalog, translated, not fuzzy,
    with the same placeholders (run `make catalogs`, then translate)."""
    assert _catalogs().problems(package) == []


@pytest.mark.parametrize("package", ["issuer", "verifier"])
def test_no_word_on_a_page_or_in_a_script_is_left_unmarked(package):
    assert _catalogs().unmarked(package) == []


def test_the_checks_find_what_they_look_for(tmp_path, monkeypatch):
    catalogs = _catalogs()
    words = catalogs._template_words(
        '<p>{{ _("Fine") }}</p><p title="Hover text">Bare words</p>'
        '{% trans %}Marked block{% endtrans %}<script>var a = "not shown";</script>'
        '<input type="submit" value="Send it">')
    assert words == ["Hover text", "Bare words", "Send it"]
    strings = catalogs._script_strings(
        'const a = _("Marked"); el.textContent = `Shown ${x} here`; '
        'const re = /"?([A-Za-z]+)"?/; // "a comment"\nfetch("/api/x");')
    assert [(text, marked) for _line, text, marked in strings] == [
        ("Marked", True), ("Shown   here", False), ("/api/x", False)]
    assert catalogs._placeholders("%(when)s and {left}") == {"when", "left"}


def test_the_demo_tells_times_by_the_one_rule(tmp_path, monkeypatch, capsys):
    """make run's first part (keys, a code, verified) prints times in the deployment zone
    with their offset, as the command lines do."""
    from conftest import TEST_PASSPHRASE

    from issuer.demo.__main__ import main
    from issuer.keys.home import PASSPHRASE_ENV
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    monkeypatch.setenv("HEALTHCODE_HOME", str(tmp_path))
    monkeypatch.setenv("HEALTHCODE_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("HEALTHCODE_DEFAULT_LOCALE", raising=False)
    assert main(out_dir=str(tmp_path / "out"), serve=False) == 0
    printed = capsys.readouterr().out
    expiries = re.findall(r"expires (.*?\(UTC\+08:00\))", printed)
    assert len(expiries) == 2 and "Z" not in "".join(expiries), printed
