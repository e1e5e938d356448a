"""GET /policy/<id>: the policy as a page in the reader's language (and the exact document at
/policy/<id>.toml, and at the old address to clients that do not ask for HTML); in Chromium at
390 px wide in both languages: it fits, and axe-core finds nothing serious."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.policy import load_policy
from issuer.web import create_app

ARTIFACTS = Path(__file__).parent / "artifacts"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("issuer")
    init_home(Home(root))
    app = create_app({"HOME": str(root)})
    yield app
    app.extensions["healthcode"].close()
    mp.undo()


@pytest.fixture
def client(app):
    return app.test_client()


def _visible(html: str) -> str:
    """The words of a page, without tags, attributes, codes and the language switch."""
    html = re.sub(r"<nav class=\"languages\".*?</nav>", " ", html, flags=re.S)
    html = re.sub(r"<code[^>]*>.*?</code>|<title>.*?</title>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("policy_id", ["hangzhou-2020", "hangzhou-2020-v2"])
def test_the_document_is_served_exactly_at_its_toml_address(client, policy_id):
    published = load_policy(policy_id)
    response = client.get(f"/policy/{policy_id}.toml")
    assert response.status_code == 200 and response.mimetype == "application/toml"
    assert response.data == published.document
    assert hashlib.sha256(response.data).digest()[:8] == published.digest
    assert response.headers["X-Policy-Digest"] == response.get_etag()[0] == published.digest.hex()
    again = client.get(f"/policy/{policy_id}.toml",
                       headers={"If-None-Match": f'"{published.digest.hex()}"'})
    assert again.status_code == 304


@pytest.mark.parametrize("headers", [{}, {"Accept": "application/toml"}, {"Accept": "*/*"},
                                     {"Accept": "application/toml, text/html;q=0.5"}])
def test_clients_that_do_not_ask_for_html_still_get_the_document(client, headers):
    response = client.get("/policy/hangzhou-2020", headers=headers)
    assert response.mimetype == "application/toml"
    assert response.data == load_policy("hangzhou-2020").document
    assert "Accept" in response.vary


def test_the_page_in_chinese(client):
    response = client.get("/policy/hangzhou-2020-v2", headers={**HTML, "Accept-Language": "zh-CN"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    policy = load_policy("hangzhou-2020-v2")
    for text in (policy.title.zh_CN, policy.rules[0].name.zh_CN,
                 policy.guidance[next(iter(policy.guidance))].do.zh_CN, "14 天", "12345"):
        assert text in html
    assert policy.digest.hex() in html and load_policy("hangzhou-2020").digest.hex() in html
    words = _visible(html)
    english = [w for w in re.findall(r"[A-Za-z]{3,}", words) if w not in ("TOML", "WUHAN",
                                                                          "HUBEI", "SHA")]
    assert english == []


def test_the_page_in_english(client):
    html = client.get("/policy/hangzhou-2020-v2",
                      headers={**HTML, "Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    for text in ("Hard rules", "Lifestyle factors", "14 days", "+5 when the average is 15,000 "
                 "steps a day or more", "-1.5 for every 200 ml a day, in proportion",
                 "Stay at home now", "score 70 or more"):
        assert text in html
    assert not CJK.search(_visible(html))


def test_the_history_lists_every_version_of_the_family(client):
    html = client.get("/policy/hangzhou-2020", headers={**HTML, "Accept-Language": "en"}
                      ).get_data(as_text=True)
    assert 'href="/policy/hangzhou-2020-v2"' in html
    assert 'href="/policy/hangzhou-2020.toml"' in html
    assert 'aria-current="page">version 1' in html
    # The old document has no guidance and English texts only; the page still reads.
    assert "What to do" not in html and "Hangzhou health code, 2020 rules (demo)" in html


@pytest.mark.parametrize("path", ["/policy/nope", "/policy/nope.toml", "/policy/..%2Fetc",
                                  "/policy/HANGZHOU-2020"])
def test_unknown_policies_are_404(client, path):
    assert client.get(path, headers=HTML).status_code == 404


def test_the_list_stays_json(client):
    assert {"hangzhou-2020", "hangzhou-2020-v2"} <= set(client.get("/policy").json["policies"])


@pytest.fixture(scope="module")
def served(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_page_fits_a_phone_and_passes_axe(playwright, served, tmp_path, language):
    from axe_playwright_python.sync_playwright import Axe
    from webcam import browser

    with browser(playwright, None, tmp_path / "profile", viewport={"width": 390, "height": 844},
                 locale=language, extra_http_headers={"Accept-Language": language}) as context:
        page = context.new_page()
        page.goto(f"{served}/policy/hangzhou-2020-v2")
        assert page.locator("html").get_attribute("lang") == language
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"policy-{language}.png"), full_page=True)
        results = Axe().run(page)
        serious = [v["id"] for v in results.response["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert serious == []
        # 200 % text: nothing wider than the screen.
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "34px"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / f"policy-{language}-200.png"), full_page=True)


def test_a_broken_document_beside_it_is_left_out_of_the_history(client, tmp_path, monkeypatch):
    from issuer.policy import document

    for policy_id in ("hangzhou-2020", "hangzhou-2020-v2"):
        (tmp_path / f"{policy_id}.toml").write_bytes(load_policy(policy_id).document)
    (tmp_path / "hangzhou-2020-v3.toml").write_bytes(b"id = ")
    monkeypatch.setattr(document, "_folder", lambda: tmp_path)
    response = client.get("/policy/hangzhou-2020-v2", headers={**HTML, "Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/policy/hangzhou-2020"' in html and "hangzhou-2020-v3" not in html
    assert client.get("/policy/hangzhou-2020-v3", headers=HTML).status_code == 404
