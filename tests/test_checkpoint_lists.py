"""The checkpoint app's lists when things go wrong, in a real headless Chromium on 127.0.0.1:

- a download cut off mid-body (a Content-Length larger than the body, then the connection
  closed) of the trust list or the revocation list: the sync reports ``incomplete_download``,
  as `healthcode-verifier sync` does for the same server, and the lists in use are kept;
- a revocation list older than ``maxRevocationAge`` and an expired one: the page's warning,
  in both languages (the page's clock moved with Playwright's clock API, the network off so
  that no sync can confirm the list).
"""

from __future__ import annotations

import http.client
import http.server
import re
import shutil
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from conftest import TEST_PASSPHRASE
from test_checkpoint_app import hook, installed, issuer, open_app, until  # noqa: F401
from test_checkpoint_offline import PHONE, PROBE
from test_holder_browser import _serve

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_config
from issuer.web import create_app as create_issuer
from verifier.sync import sync as python_sync

webcam = pytest.importorskip("webcam")
HOP = {"connection", "transfer-encoding", "content-length", "date", "server", "keep-alive"}


class CuttingProxy(http.server.ThreadingHTTPServer):
    """A proxy on 127.0.0.1 in front of ``upstream``; a GET of a path in ``cut`` is answered
    with the upstream's full answer's headers, a Content-Length 1000 bytes larger than its
    body, half the body, and a closed connection."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.cut: set[str] = set()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: CuttingProxy

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        cut = self.path.split("?")[0] in self.server.cut
        # The Host header is passed on, as a reverse proxy does.
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive")
                   and not (cut and k.lower() == "if-none-match")}  # a full answer to cut
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=10)
        upstream.request("GET", self.path, headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        upstream.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) + (1000 if cut else 0)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if cut else body)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def proxied(playwright, tmp_path, monkeypatch) -> Iterator[tuple[Home, CuttingProxy, str, object]]:
    """An issuer behind a CuttingProxy, and a phone with the app opened through the proxy."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "issuer")
    init_home(home)
    app = create_issuer({"HOME": str(home.root), "DEFAULT_LOCALE": "en",
                         "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    upstream, server, thread = _serve(app)
    proxy = CuttingProxy(upstream)
    proxy_thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    proxy_thread.start()
    base = f"http://127.0.0.1:{proxy.server_port}"
    try:
        with webcam.browser(playwright, None, tmp_path / "phone", viewport=PHONE) as context:
            context.set_default_timeout(20_000)
            requests: list[str] = []
            context.on("request", lambda request: requests.append(request.url))
            page = context.new_page()
            page.goto(f"{base}/checkpoint/")
            yield home, proxy, base, page
            assert requests and all(u.startswith(base + "/") for u in requests)
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.shutdown()
        thread.join(5)
        app.extensions["healthcode"].close()


def probe(page) -> dict:
    return page.evaluate(PROBE, {"config": None, "db": "cut-test", "base": None, "sync": True,
                                 "ctis": []})


@pytest.mark.parametrize("path", ["/trust/trust-list.json", "/trust/revocations"])
def test_a_download_cut_off_mid_body_is_reported_and_the_lists_kept(proxied, tmp_path, path):
    home, proxy, base, page = proxied
    iss = load_config(home).iss
    folder = tmp_path / "python-verifier"  # `healthcode-verifier sync` against the same server
    folder.mkdir()
    shutil.copy(home.trust_list, folder / "trust-list.json")
    shutil.copy(home.anchor_public, folder / "anchor.pub.pem")
    first = probe(page)
    assert first["report"]["ok"], first["report"]
    assert python_sync([base], folder / "trust-list.json").ok
    proxy.cut.add(path)
    cut = probe(page)
    python = python_sync([base], folder / "trust-list.json")
    url = base + path
    if path.endswith(".json"):
        assert cut["report"]["trustList"] == python.trust_list == "incomplete_download"
    else:
        assert cut["report"]["revocations"] == python.revocations == {url: "incomplete_download"}
    assert [e["reason"] for e in cut["report"]["errors"]] == \
        [e.reason for e in python.errors] == ["incomplete_download"]
    assert cut["seq"] == first["seq"] is not None
    assert cut["revocations"] == first["revocations"] and iss in cut["revocations"]
    assert "sync_failed" in cut["warnings"]
    proxy.cut.clear()
    again = probe(page)
    assert again["report"]["ok"] and "sync_failed" not in again["warnings"]


HOUR = 3600
#: The words on screen, per warning and language (the limit is maxRevocationAge, 1 hour).
STALE = {"en": r"The revocation list of .+ is 2h \d+m old \(the limit is 1h 0m\): codes revoked "
               r"since then still pass here",
         "zh-CN": r".+ 的撤销列表已有 2小时\d+分钟 没有更新（上限为 1小时0分钟）："
                  r"此后被撤销的健康码在这里仍会通过"}
EXPIRED = {"en": r"The revocation list of .+ expired 1d \d+h ago: codes revoked since then "
                 r"still pass here\. Sync\.",
           "zh-CN": r".+ 的撤销列表已过期 1天\d+小时：此后被撤销的健康码在这里仍会通过。请同步。"}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("case", ["stale", "expired"])
def test_an_old_or_expired_revocation_list_is_warned_about_on_screen(
        open_app, tmp_path, lang, case):  # noqa: F811
    page, _ = open_app(lang=lang)  # synced once online, then offline: nothing confirms it now
    assert page.locator("html").get_attribute("lang") == lang
    assert hook(page, "warnings") == ["sync_failed"]  # offline now
    expires = page.evaluate("""async () => {
        const { openState } = await import("/checkpoint/static/state.js");
        const config = JSON.parse(document.getElementById("checkpoint-config").textContent);
        const state = await openState(config);
        return { trust: state.trust.expiresAt, revocations: state.revocations[0].expiresAt }; }""")
    now = int(time.time())
    # Stale: two hours on (the list is valid for days); expired: a day past the list's end.
    moved = now + 2 * HOUR if case == "stale" else expires["revocations"] + 24 * HOUR + 60
    assert moved < expires["trust"] or case == "expired"
    page.clock.set_fixed_time(moved)
    page.reload()
    until(page, lambda: hook(page, "ready"), "app ready offline")
    code = {"stale": "revocation_list_stale", "expired": "revocation_list_expired"}[case]
    until(page, lambda: code in (hook(page, "warnings") or []), code)
    text = page.locator("#warnings").inner_text()
    assert page.locator("#warnings").is_visible()
    assert re.search((STALE if case == "stale" else EXPIRED)[lang], text), text
