"""The checkpoint app's routes (verifier/browser) as the issuer and the kiosk serve them: the
page and its config block (the serving origin's anchor pin), headers, the service worker and
the manifest."""

from __future__ import annotations

import json
import re

import pytest
from conftest import TEST_PASSPHRASE

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, rotate_anchor
from issuer.web import create_app
from verifier import webui
from verifier.browser import CONTENT_SECURITY_POLICY
from verifier.keys import b64url
from verifier.kiosk import CONTENT_SECURITY_POLICY as KIOSK_POLICY
from verifier.kiosk import create_app as create_kiosk
from verifier.trust import load_anchor


@pytest.fixture
def issuer(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DEFAULT_LOCALE": "en"})
    yield app
    app.extensions["healthcode"].close()


def data_block(html: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>',
                      html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_the_policy_is_the_kiosk_s_plus_webassembly_only():
    assert CONTENT_SECURITY_POLICY == webui.allow_wasm(KIOSK_POLICY)
    assert CONTENT_SECURITY_POLICY.replace(" 'wasm-unsafe-eval'", "") == KIOSK_POLICY


def test_the_issuer_serves_the_page_with_its_own_anchor_pin(issuer, tmp_path):
    client = issuer.test_client()
    assert client.get("/checkpoint").status_code == 308  # the page lives at /checkpoint/
    response = client.get("/checkpoint/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["Permissions-Policy"] == "camera=(self), microphone=()"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert {"Cookie", "Accept-Language"} <= set(response.vary)
    html = response.get_data(as_text=True)
    config = data_block(html, "checkpoint-config")
    assert config == {"anchor": b64url(load_anchor(Home(tmp_path).anchor_public)),
                      "sync": "http://localhost", "rule": "green", "acceptStatic": True,
                      "window": 60, "maxRevocationAge": 3600, "server": None}
    messages = data_block(html, "i18n")["messages"]
    assert messages["Code revoked by the issuer"] == "Code revoked by the issuer"
    assert '<html lang="en">' in html


def test_the_page_s_words_come_in_the_reader_s_language(issuer):
    response = issuer.test_client().get("/checkpoint/", headers={"Accept-Language": "zh-CN"})
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "健康码检查点" in html
    i18n = data_block(html, "i18n")
    assert i18n["locale"] == "zh-CN"
    assert i18n["messages"]["Code revoked by the issuer"] == "健康码已被签发机构撤销"
    assert i18n["messages"]["expired %(age)s ago (%(when)s)"] == "已过期 %(age)s（%(when)s）"


def test_an_anchor_roll_over_changes_the_pin_the_page_gives(issuer, tmp_path):
    client = issuer.test_client()
    before = data_block(client.get("/checkpoint/").get_data(as_text=True),
                        "checkpoint-config")["anchor"]
    rotate_anchor(Home(tmp_path))
    after = data_block(client.get("/checkpoint/").get_data(as_text=True),
                       "checkpoint-config")["anchor"]
    assert before != after == b64url(load_anchor(Home(tmp_path).anchor_public))


def test_service_worker_manifest_and_scripts(issuer):
    client = issuer.test_client()
    with client.get("/checkpoint/sw.js") as worker:
        assert worker.status_code == 200 and worker.mimetype == "text/javascript"
        assert worker.headers["Cache-Control"] == "no-cache"
    with client.get("/checkpoint/manifest.webmanifest") as manifest:
        assert manifest.mimetype == "application/manifest+json"
        assert json.loads(manifest.get_data())["start_url"] == "/checkpoint/"
    for path in ("/checkpoint/static/app.js", "/checkpoint/static/judge.js",
                 "/checkpoint/static/camera.js", "/checkpoint/static/checkpoint.css",
                 "/shared/checkpoint/view.js", "/shared/checkpoint/words.js",
                 "/shared/checkpoint/sound.js"):
        with client.get(path) as response:
            assert response.status_code == 200, path


def test_the_kiosk_serves_the_app_pinned_to_its_anchor(home):
    app = create_kiosk({"TRUST": home.trust_list, "RULE": "green,yellow",
                        "ACCEPT_STATIC": False, "DEFAULT_LOCALE": "en"})
    client = app.test_client()
    response = client.get("/checkpoint/")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    config = data_block(response.get_data(as_text=True), "checkpoint-config")
    assert config["anchor"] == b64url(load_anchor(home.trust_list.with_name("anchor.pub.pem")))
    assert (config["rule"], config["acceptStatic"], config["server"]) == (
        "green,yellow", False, "/api/")
    # The kiosk's own page keeps its policy (no WebAssembly: it decodes on the server) and
    # links to the app.
    page = client.get("/")
    assert page.headers["Content-Security-Policy"] == KIOSK_POLICY
    assert 'href="/checkpoint/"' in page.get_data(as_text=True)


def test_a_static_file_the_browser_has_is_not_left_open(home, monkeypatch):
    """A 304 for a static file: werkzeug opened the file and, the body not sent, never closed
    it (a ResourceWarning in whichever test collected it later)."""
    import gc
    import sys
    app = create_kiosk({"TRUST": home.trust_list, "DEFAULT_LOCALE": "en"})
    client = app.test_client()
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    for path in ("/checkpoint/static/app.js", "/shared/i18n.js"):
        with client.get(path) as first:
            etag = first.headers["ETag"]
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 304
        del response
        gc.collect()
    assert [str(u.exc_value) for u in unraisable] == []
