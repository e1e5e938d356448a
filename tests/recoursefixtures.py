"""Fixtures of the recourse tests (a pytest plugin, loaded by conftest.py): an issuer under
policy version 3 (undo window, review deadline), its holder pages, and its API behind a real
HTTP server on 127.0.0.1 with a token of each scope. On every database of ``db_url``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service import IssuerService
from issuer.web import create_app

V3 = "hangzhou-2020-v3"
HTTPS = "https://localhost"
SCOPES = ("read", "write", "review", "admin")


def _service(folder, db_url: str, policy_id: str, monkeypatch) -> Iterator[IssuerService]:
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(folder)
    init_home(home, now=NOW - DAY)
    opened = IssuerService.open(home, database_url=db_url, policy_id=policy_id)
    yield opened
    opened.close()


@pytest.fixture
def v3_service(tmp_path, db_url, monkeypatch) -> Iterator[IssuerService]:
    """An issuer service scoring under policy version 3."""
    yield from _service(tmp_path / "home", db_url, V3, monkeypatch)


@pytest.fixture
def v2_service(tmp_path, db_url, monkeypatch) -> Iterator[IssuerService]:
    """An issuer service under policy version 2 (no undo window, no retention)."""
    yield from _service(tmp_path / "v2", db_url, "hangzhou-2020-v2", monkeypatch)


@pytest.fixture
def v3_app(tmp_path, db_url, monkeypatch) -> Iterator[Any]:
    """The issuer's app under policy version 3, read in English (holders' pages)."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path / "app"))
    app = create_app({"HOME": str(tmp_path / "app"), "DATABASE_URL": db_url, "POLICY": V3,
                      "CODE_SENDER": "test_holder:Outbox", "PUBLIC_URL": HTTPS,
                      "DEFAULT_LOCALE": "en"})
    yield app
    app.extensions["healthcode"].close()


@dataclass(frozen=True)
class Api:
    """The API of a running issuer: its base URL, a token per scope, the app."""

    base: str
    tokens: dict[str, str]
    app: Any

    @property
    def service(self) -> IssuerService:
        return self.app.extensions["healthcode"]


@pytest.fixture
def api(v3_app) -> Iterator[Api]:
    """``v3_app`` behind a real HTTP server on a free port of 127.0.0.1."""
    service = v3_app.extensions["healthcode"]
    tokens = {scope: service.create_token(scope, f"test {scope}", 0)[1] for scope in SCOPES}
    httpd = make_server("127.0.0.1", 0, v3_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Api(f"http://127.0.0.1:{httpd.server_port}", tokens, v3_app)
    httpd.shutdown()
    thread.join(5)
