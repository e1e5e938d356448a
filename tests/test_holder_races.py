"""Races between two real ``healthcode-issuer serve`` processes (waitress on 127.0.0.1) on one
database: concurrent guesses at one sign-in code, redemptions of one enrolment link, and code
requests for one number. Threads wait on a barrier and are released together, alternating
between the two servers. PostgreSQL is the case that matters (it lets writers run at once);
SQLite, which lets one writer in at a time, must stay right too."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service import IssuerService
from issuer.store.db import OneTimeCode
from verifier.keys import b64url

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
PHONE = "+86 139 0000 0002"
#: The throttles per client address would stop these bursts (all from 127.0.0.1) before they
#: reach what is under test here: the per-number and per-code limits in the database.
UNTHROTTLED = {f"HEALTHCODE_{name}": "100000 per minute" for name in (
    "SIGNIN_CODE_LIMIT", "SIGNIN_GUESS_LIMIT", "SIGNIN_TOTAL_LIMIT")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url + "/signin", timeout=5):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def servers(request, tmp_path_factory) -> Iterator[tuple[list[str], IssuerService]]:
    """Two serve processes on one database, and this process's service on it too."""
    root = tmp_path_factory.mktemp("races")
    if request.param == "postgresql":
        from sqlalchemy.engine import make_url

        database = request.getfixturevalue("postgres_database")
        # A database of its own (module-scoped, so not db_url's per-test schema).
        url = make_url(database).render_as_string(hide_password=False)
        from sqlalchemy import create_engine, text

        schema = f"races_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = (make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
                  .render_as_string(hide_password=False))
    else:
        admin, schema, db_url = None, None, f"sqlite:///{root / 'issuer.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(root / "home")
    init_home(home)
    service = IssuerService.open(home=home, database_url=db_url)  # migrates; makes data keys
    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE, "HEALTHCODE_DATABASE_URL": db_url,
           **UNTHROTTLED}
    processes, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            processes.append(subprocess.Popen(
                [CLI, "serve", "--home", str(home.root), "--port", str(port), "--threads", "16"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_until_up(url, process)
        yield urls, service
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
            process.stderr.close()
        service.close()
        patch.undo()
        if admin is not None:
            from sqlalchemy import text

            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


class Browser:
    """One phone's browser against one server: keeps the session cookie (by hand: it is
    Secure, and these servers speak plain http on 127.0.0.1) and the page's CSRF token."""

    def __init__(self, base: str) -> None:
        self.base, self.cookie, self.csrf = base, "", ""

    def call(self, path: str, *, form: dict | None = None, body: dict | None = None
             ) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode({**form, "csrf_token": self.csrf}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers |= {"Content-Type": "application/json", "X-CSRFToken": self.csrf}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                status, text, cookies = response.status, response.read().decode(), \
                    response.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as exc:
            status, text, cookies = exc.code, exc.read().decode(), \
                exc.headers.get_all("Set-Cookie") or []
            exc.close()
        for header in cookies:
            morsel = SimpleCookie(header).get("hc_session")
            if morsel is not None:
                self.cookie = f"hc_session={morsel.value}"
        if found := re.search(r'name="csrf-token" content="([^"]+)"', text):
            self.csrf = found.group(1)
        return status, text


def together(count: int, urls: list[str], prepare, act) -> list[int]:
    """Run ``act(browser, i)`` in ``count`` threads released together by a barrier, thread
    ``i`` against server ``i % 2``, each after ``prepare(browser, i)``; return the statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int | BaseException] = [0] * count

    def run(i: int) -> None:
        browser = Browser(urls[i % 2])
        try:
            prepare(browser, i)
            barrier.wait(60)
            statuses[i] = act(browser, i)
        except BaseException as exc:  # noqa: BLE001 (reported below, in the test's thread)
            barrier.abort()
            statuses[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for status in statuses:
        if isinstance(status, BaseException):
            raise status
    return statuses


def _person(service: IssuerService, phone: str) -> str:
    number = f"{time.time_ns() % 10**12:012d}"
    return service.create_person(actor="test", name="Li Si", id_number=f"330106{number}",
                                 phone=phone, organisation="Binjiang Library")


def _codes(service: IssuerService, phone: str) -> list[OneTimeCode]:
    with service.store.reading() as session:
        return list(session.scalars(select(OneTimeCode).where(
            OneTimeCode.phone_mac == service.store.data_keys.phone_mac(phone))))


@pytest.mark.parametrize("burst", range(3))  # a race shows in most bursts, not in every one
def test_concurrent_wrong_guesses_never_get_more_than_five(servers, burst):
    urls, service = servers
    phone = f"+86 139 0000 120{burst}"
    _person(service, phone)
    code = service.store.send_code(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = together(12, urls, lambda b, i: b.call("/signin"),
                        lambda b, i: b.call("/signin/code",
                                            form={"phone": phone, "code": wrong})[0])
    assert statuses == [422] * 12
    [row] = _codes(service, phone)
    assert row.attempts == 5 and row.used_at is None
    browser = Browser(urls[0])
    browser.call("/signin")
    status, _ = browser.call("/signin/code", form={"phone": phone, "code": code})
    assert status == 422  # the right code, after five wrong guesses: refused
    assert browser.call("/me/credential.json")[0] == 401  # not signed in


def test_one_enrolment_link_binds_exactly_one_phone(servers):
    urls, service = servers
    person = _person(service, "+86 139 0000 1210")
    token = service.store.create_enrolment(person, actor="test")

    def redeem(browser: Browser, i: int) -> int:
        numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
               "y": b64url(numbers.y.to_bytes(32, "big"))}
        return browser.call(f"/enrol/{token}", body={"jwk": jwk})[0]

    statuses = together(10, urls, lambda b, i: b.call(f"/enrol/{token}"), redeem)
    assert Counter(statuses) == Counter({200: 1, 410: 9})
    assert len(service.store.devices(person)) == 1
    binds = [e for e in service.store.audit_entries(person) if e["action"] == "device.bind"]
    assert len(binds) == 1


def test_concurrent_code_requests_send_at_most_five(servers):
    urls, service = servers
    phone = "+86 139 0000 1211"
    _person(service, phone)
    statuses = together(20, urls, lambda b, i: b.call("/signin"),
                        lambda b, i: b.call("/signin", form={"phone": phone})[0])
    assert Counter(statuses) == Counter({200: 5, 429: 15})
    assert len(_codes(service, phone)) == 5


@pytest.mark.parametrize("burst", range(3))  # a race shows in most bursts, not in every one
def test_one_phone_asking_at_once_gets_one_live_code(servers, burst):
    """A phone's page and its service worker (or two tabs) asking for the live code at once,
    through two processes: one code is issued and every answer shows it. Each issuing its
    own left the phone with two unrevoked codes (PostgreSQL), or showing one already revoked
    as superseded (SQLite)."""
    urls, service = servers
    person = _person(service, f"+86 139 0000 122{burst}")
    token = service.store.create_enrolment(person, actor="test")
    phone = Browser(urls[0])
    phone.call(f"/enrol/{token}")
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}
    assert phone.call(f"/enrol/{token}", body={"jwk": jwk})[0] == 200
    answers: list[str] = [""] * 12

    def ask(browser: Browser, i: int) -> int:
        status, text = browser.call("/me/credential.json")
        answers[i] = text
        return status

    statuses = together(12, urls, lambda b, i: setattr(b, "cookie", phone.cookie), ask)
    assert statuses == [200] * 12
    shown = {json.loads(text)["text"] for text in answers}
    [code] = [c for c in service.store.credentials(person) if c["purpose"] == "live"]
    assert shown == {code["text"]} and code["revoked_at"] is None
