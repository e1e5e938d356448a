"""Holders' sessions kept server-side: the cookie holds only a session id, the database a hash
of it; signing out, a new phone and an operator end a session for good, even a copy of the
cookie replayed later."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from conftest import TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from test_holder import (
    HTTPS,
    PERSON,
    Outbox,
    _ask_code,
    _give_code,
    browser,
    enrol,
    jwk_of,
    page_csrf,
)

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                      "CODE_SENDER": "test_holder:Outbox"})
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def service(app):
    return app.extensions["healthcode"]


@pytest.fixture
def person(service) -> str:
    return service.create_person(actor="test", **PERSON)


def _signed_in(client) -> bool:
    return client.get("/me/credential.json", base_url=HTTPS).status_code != 401 \
        and client.get("/me/data", base_url=HTTPS).status_code == 200


def _cookie(client) -> str:
    return client.get_cookie("hc_session", domain="localhost").value


def _replay(app, cookie: str):
    """Another browser (an attacker's) presenting a copied cookie."""
    other = browser(app)
    other.set_cookie("hc_session", cookie, domain="localhost")
    return other


def _sign_in_by_code(app) -> object:
    client = browser(app)
    Outbox.sent.clear()
    _ask_code(client, PERSON["phone"])
    [(_, code)] = Outbox.sent
    assert _give_code(client, PERSON["phone"], code).status_code == 302
    return client


def test_the_cookie_holds_a_session_id_and_the_database_only_its_hash(app, service, person):
    client, _ = enrol(app, service, person)
    from issuer.store.sessions import HolderSession

    data = app.session_interface.get_signing_serializer(app).loads(_cookie(client))
    assert set(data) <= {"sid", "csrf_token", "_permanent"} and person not in str(data)
    with service.store.reading() as session:
        [row] = session.scalars(select(HolderSession)).all()
    assert row.id_hash == hashlib.sha256(data["sid"].encode()).hexdigest() != data["sid"]
    assert (row.person_id, row.ended_at) == (person, None) and row.device_id is not None


def test_a_cookie_replayed_after_sign_out_reads_nothing(app, service, person):
    client, _ = enrol(app, service, person)
    copied = _cookie(client)
    assert _signed_in(_replay(app, copied))
    signed_out = client.post("/signout", data={"csrf_token": page_csrf(client)},
                             base_url=HTTPS)
    assert signed_out.status_code == 302
    replayed = _replay(app, copied)
    page = replayed.get("/me/data", base_url=HTTPS)
    assert page.status_code == 302 and page.location.endswith("/signin")
    assert replayed.get("/me/data.json", base_url=HTTPS).status_code == 302
    assert replayed.get("/me/credential.json", base_url=HTTPS).status_code == 401
    assert service.store.live_sessions(person) == 0


def test_a_code_only_session_ends_when_the_victim_enrols_a_new_phone(app, service, person):
    attacker = _sign_in_by_code(app)  # a code phished from the victim
    assert _signed_in(attacker)
    csrf, copied = page_csrf(attacker), _cookie(attacker)
    victim, _ = enrol(app, service, person)  # the letter's link, on the victim's new phone
    assert not _signed_in(attacker)
    # The attacker keeps presenting the cookie (and its CSRF token) from before.
    bound = _replay(app, copied).post("/me/device", json={"jwk": jwk_of(
        ec.generate_private_key(ec.SECP256R1()))}, base_url=HTTPS, headers={"X-CSRFToken": csrf})
    assert (bound.status_code, bound.json["problem"]) == (401, "signed_out")
    assert [d["revoked_at"] for d in service.store.devices(person)] == [None]
    assert _signed_in(victim)
    [bind] = [e for e in service.store.audit_entries(person) if e["action"] == "device.bind"]
    assert bind["details"]["sessions_ended"] == 1


def test_binding_a_phone_after_a_code_ends_every_other_session(app, service, person):
    attacker = _sign_in_by_code(app)
    victim = _sign_in_by_code(app)
    key = ec.generate_private_key(ec.SECP256R1())
    bound = victim.post("/me/device", json={"jwk": jwk_of(key)}, base_url=HTTPS,
                        headers={"X-CSRFToken": page_csrf(victim)})
    assert bound.status_code == 200
    assert _signed_in(victim) and not _signed_in(attacker)
    assert service.store.live_sessions(person) == 1


def test_an_operator_ends_every_session_of_a_person(app, service, person, monkeypatch):
    phone, _ = enrol(app, service, person)
    by_code = _sign_in_by_code(app)
    monkeypatch.setenv("HEALTHCODE_DATABASE_URL", app.config["DATABASE_URL"])
    result = CliRunner().invoke(issuer_cli, ["sessions", "revoke", "--person", person,
                                             "--home", app.config["HOME"],
                                             "--reason", "phone stolen"])
    assert result.exit_code == 0, result.output
    assert f"{person}: 2 sessions ended" in result.output
    assert not _signed_in(phone) and not _signed_in(by_code)
    [entry] = [e for e in service.store.audit_entries(person)
               if e["action"] == "session.revoke_all"]
    assert (entry["actor"], entry["reason"], entry["details"]) == (
        "cli:sessions", "phone stolen", {"sessions_ended": 2})
    unknown = CliRunner().invoke(issuer_cli, ["sessions", "revoke", "--person", "p-nobody",
                                              "--home", app.config["HOME"]])
    assert unknown.exit_code == 1 and "no person" in unknown.output


def test_purge_deletes_what_has_run_out(app, service, person):
    client, _ = enrol(app, service, person)
    client.post("/signout", data={"csrf_token": page_csrf(client)}, base_url=HTTPS)
    _sign_in_by_code(app)
    purged = service.store.purge_holder_state(now=2**40)  # long after everything expired
    assert purged["sessions"] == 2 and purged["codes"] == 1 and purged["rate_counters"] >= 1
