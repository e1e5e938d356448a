"""Operating the issuer service: `healthcode-issuer serve` as a real process (idle sockets,
its public URL), enrolment links that ignore the Host header, API tokens that expire, and
/api/docs served from this origin only."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from test_service import PERSON, app, call, server, tokens  # noqa: F401 (fixtures)

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home

CLI = Path(sys.executable).parent / "healthcode-issuer"


# Enrolment links and tokens over HTTP ---------------------------------------------------------

def _post_person(base: str, token: str, host: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/api/people", data=json.dumps(PERSON).encode(),
                                     method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    if host:
        request.add_header("Host", host)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status, json.loads(response.read())


def test_the_enrolment_link_ignores_the_host_header(server, tokens):  # noqa: F811
    status, person = _post_person(server, tokens["write"], host="evil.example")
    assert status == 201
    url = person["enrolment"]["url"]
    assert url.startswith("http://127.0.0.1:8080/enrol/"), url  # create_app's default
    assert "evil.example" not in url and "evil.example" not in person["enrolment"]["qr_svg"]
    status, again = call(server, "POST", f"/api/people/{person['id']}/enrolment",
                         tokens["write"])
    assert status == 201 and again["url"].startswith("http://127.0.0.1:8080/enrol/")


@pytest.mark.parametrize("bad", ["ftp://health.example", "https://", "health.example",
                                 "https://health.example/path", "https://h.example/?q=1"])
def test_a_public_url_must_be_an_http_origin(tmp_path, monkeypatch, bad):
    from issuer.web import create_app

    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        create_app({"HOME": str(tmp_path), "PUBLIC_URL": bad})


def test_an_expired_token_is_refused_and_audited(server, app):  # noqa: F811
    service = app.extensions["healthcode"]
    now = int(time.time())
    token_id, secret = service.create_token("admin", "old script", now - 100, now - 10)
    assert call(server, "GET", "/api/organisations/ranking", secret)[0] == 401
    assert call(server, "GET", "/api/organisations/ranking", secret)[0] == 401
    _, fresh = service.create_token("read", "new script", now, now + 3600)
    assert call(server, "GET", "/api/organisations/ranking", fresh)[0] == 200
    with service.store.reading() as session:
        from sqlalchemy import select

        from issuer.store.db import AuditEntry
        expired = session.scalars(select(AuditEntry.details_json)
                                  .where(AuditEntry.action == "token.expire")).all()
    assert len(expired) == 1 and token_id in expired[0]


# /api/docs -----------------------------------------------------------------------------------

def test_the_docs_page_loads_nothing_from_elsewhere(app):  # noqa: F811
    client = app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 4 and all(a.startswith("/static/vendor/swagger-ui-dist/")
                                    for a in assets), assets
    for asset in assets:
        with client.get(asset) as response:
            assert response.status_code == 200 and len(response.data) > 500, asset
    assert "//" not in " ".join(re.findall(r"<(?:script|link)[^>]*>", html))
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp
    assert "http" not in csp and "*" not in csp and "unsafe-eval" not in csp


def test_swagger_ui_runs_under_its_policy_in_chromium(server, playwright, tmp_path):  # noqa: F811
    """The vendored Swagger UI renders every route with the CSP in force: no violation, and no
    request leaves this origin."""
    import webcam

    requested: list[str] = []
    problems: list[str] = []
    with webcam.browser(playwright, None, tmp_path / "profile") as ctx:
        page = ctx.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{server}/api/docs")
        page.locator(".opblock").first.wait_for(timeout=30_000)
        routes = page.locator(".opblock").count()
    assert routes >= 12, routes
    assert all(url.startswith(server) or url.startswith("data:") for url in requested), \
        requested
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems


# `healthcode-issuer serve` as a process ------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def serve_home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve-home")
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(root))
    mp.undo()
    return root


@contextmanager
def serving(home: Path, *args: str) -> Iterator[str]:
    """`healthcode-issuer serve` in a process of its own; yields its base URL once it answers."""
    port = _free_port()
    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE}
    env.pop("HEALTHCODE_PUBLIC_URL", None)
    process = subprocess.Popen([str(CLI), "serve", "--home", str(home), "--port", str(port),
                                *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"serve exited: {process.stdout.read().decode()}")
            try:
                with urllib.request.urlopen(f"{base}/policy", timeout=5):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def _idle_sockets(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    """``count`` connections that send half a request line and then nothing."""
    opened = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        sock.sendall(b"GET /pol")
        opened.append(sock)
    return opened


def test_a_flood_of_idle_sockets_does_not_block_a_normal_request(serve_home):
    """110 half-open sockets stopped the issuer (waitress's default limit is 100 connections,
    idle ones dropped after 120 s); with the defaults of `serve` a normal request still gets
    its answer."""
    with serving(serve_home) as base, ExitStack() as stack:
        _idle_sockets(int(base.rsplit(":", 1)[1]), 150, stack)
        with urllib.request.urlopen(f"{base}/policy", timeout=20) as response:  # noqa: S310
            assert response.status == 200


def test_serve_closes_idle_connections_after_the_channel_timeout(serve_home):
    with serving(serve_home, "--channel-timeout", "1") as base, ExitStack() as stack:
        (sock,) = _idle_sockets(int(base.rsplit(":", 1)[1]), 1, stack)
        sock.settimeout(30)
        assert sock.recv(1024) == b""  # closed by the server, not by our timeout


def test_serve_makes_enrolment_links_from_its_public_url(serve_home):
    from issuer.service import IssuerService

    os.environ[PASSPHRASE_ENV] = TEST_PASSPHRASE
    try:
        service = IssuerService.open(serve_home)
        _, secret = service.create_token("write", "serve test", int(time.time()))
        service.close()
    finally:
        os.environ.pop(PASSPHRASE_ENV)
    with serving(serve_home) as base:
        link = _post_person(base, secret, host="evil.example")[1]["enrolment"]["url"]
        assert link.startswith(f"{base}/enrol/"), link  # the serve address by default
    with serving(serve_home, "--public-url", "https://health.example") as base:
        body = {**PERSON, "id_number": "330106199001019999"}
        link = call(base, "POST", "/api/people", secret, body)[1]["enrolment"]["url"]
        assert link.startswith("https://health.example/enrol/"), link


def test_serve_refuses_a_bad_public_url(serve_home):
    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE}
    result = subprocess.run([str(CLI), "serve", "--home", str(serve_home), "--public-url",
                             "javascript:alert(1)"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "--public-url" in result.stderr
    assert "Traceback" not in result.stderr
