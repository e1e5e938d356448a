"""A code never says more than the truth: an observation that lowers a person's colour or score
revokes, in the same transaction, every unexpired credential of theirs that shows more (a card,
a static code, a phone's live code), audited as ``superseded``; checkpoints that sync refuse it.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest
from click.testing import CliRunner
from conftest import DAY, NOW, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from procs import free_port, running, script
from test_card import render_png
from test_holder import jwk_of
from test_service import call

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service import IssuerService
from issuer.service.cards import print_card
from issuer.store import audit
from issuer.web import create_app
from verifier.cli import main as verifier_cli

PERSON = {"name": "Li Si", "id_number": "330106198502021234", "phone": "+86 139 0000 0002",
          "organisation": "Binjiang Software Park"}


@pytest.fixture
def service(tmp_path, db_url, monkeypatch) -> Iterator[IssuerService]:
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "home")
    init_home(home, now=NOW - DAY)
    service = IssuerService.open(home, db_url)
    yield service
    service.close()


def observe(service: IssuerService, person: str, kind: str, value, at: int) -> dict:
    return service.add_observation(person, actor="lab", kind=kind, value=value, observed_at=at,
                                   source="test", now=at)


def phone(service: IssuerService, person: str, at: int) -> dict:
    """Bind a phone to ``person`` (its key made here) and return the store's device record."""
    token = service.store.create_enrolment(person, actor="staff", now=at)
    key = ec.generate_private_key(ec.SECP256R1())
    _, device_id, _ = service.store.redeem_enrolment(token, jwk_of(key), now=at)
    return service.store.device(person, device_id)


def revoked(service: IssuerService, person: str) -> dict[str, str | None]:
    return {c["cti"]: c["revocation_reason"] for c in service.store.credentials(person)}


def test_a_positive_test_revokes_the_card_the_static_code_and_the_live_code(service):
    person = service.create_person(actor="staff", now=NOW - DAY, **PERSON)
    observe(service, person, "contact", True, NOW - 600)
    assert service.assess(person, NOW - 500).colour.value == "yellow"
    card, _ = print_card(service, person, actor="staff", now=NOW - 500)
    static = service.issue(person, actor="staff", now=NOW - 400)
    live = service.live_credential(person, phone(service, person, NOW - 300), NOW - 300)
    shown = {card["cti"], static["cti"], live["cti"]}

    after = observe(service, person, "test_result", "positive", NOW - 100)

    assert after["assessment"]["colour"] == "red"
    assert revoked(service, person) == dict.fromkeys(shown, "superseded")
    assert shown <= set(service.store.revoked_unexpired(NOW))
    entries = service.store.audit_entries(person)
    colour_change = next(e for e in entries if e["action"] == "colour.change")
    superseded = [e for e in entries if e["reason"] == "superseded"]
    assert len(superseded) == 1 and superseded[0]["seq"] > colour_change["seq"]
    assert set(superseded[0]["details"]["ctis"]) == shown
    assert superseded[0]["details"]["observation"] == after["id"]
    assert service.store.verify_audit()[1] is None  # the log accounts for every revocation
    # The new truth is issued as usual, and stands.
    fresh = service.issue(person, actor="staff", now=NOW)
    assert (fresh["colour"], revoked(service, person)[fresh["cti"]]) == ("red", None)


def test_a_lower_score_in_the_same_colour_revokes_the_higher_one(service):
    person = service.create_person(actor="staff", now=NOW - DAY, **PERSON)
    observe(service, person, "steps", 16000, NOW - 900)
    high = service.issue(person, actor="staff", now=NOW - 800)
    after = observe(service, person, "cigarettes", 20, NOW - 700)
    assert after["assessment"]["colour"] == high["colour"] == "green"
    assert after["assessment"]["score"] < high["score"]
    assert revoked(service, person) == {high["cti"]: "superseded"}


def test_a_better_score_or_an_unchanged_one_revokes_nothing(service):
    person = service.create_person(actor="staff", now=NOW - DAY, **PERSON)
    observe(service, person, "steps", 3000, NOW - 900)
    low = service.issue(person, actor="staff", now=NOW - 800)
    better = observe(service, person, "sleep_hours", 8, NOW - 700)
    assert better["assessment"]["score"] > low["score"]
    same = observe(service, person, "travel", "NONE-RISK", NOW - 600)
    assert same["assessment"]["score"] == better["assessment"]["score"]
    assert revoked(service, person) == {low["cti"]: None}
    assert not [e for e in service.store.audit_entries(person) if e["reason"] == "superseded"]


def test_an_expired_credential_is_not_revoked_again(service):
    person = service.create_person(actor="staff", now=NOW - 3 * DAY, **PERSON)
    old = service.issue(person, actor="staff", ttl=3600, now=NOW - 2 * DAY)
    observe(service, person, "test_result", "positive", NOW)
    assert revoked(service, person) == {old["cti"]: None}


def test_the_observation_and_the_revocations_are_stored_together_or_not_at_all(service,
                                                                              monkeypatch):
    person = service.create_person(actor="staff", now=NOW - DAY, **PERSON)
    static = service.issue(person, actor="staff", now=NOW - 500)
    entries = len(service.store.audit_entries(person))
    append = audit.append

    def fail_on_revocation(session, actor, action, *args):
        if action == "credential.revoke_all":  # after the rows were marked revoked
            raise RuntimeError("the database went away")
        return append(session, actor, action, *args)

    monkeypatch.setattr(audit, "append", fail_on_revocation)
    with pytest.raises(RuntimeError):
        observe(service, person, "test_result", "positive", NOW - 100)
    monkeypatch.undo()
    assert service.store.observations(person) == []
    assert revoked(service, person) == {static["cti"]: None}
    assert len(service.store.audit_entries(person)) == entries


# The whole flow, as a checkpoint sees it ------------------------------------------------------

@pytest.fixture
def issuer(tmp_path, monkeypatch) -> Iterator[tuple[str, dict[str, str], Home]]:
    """A real issuer server on 127.0.0.1 (SQLite) with a write token."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "issuer")
    init_home(home)
    app = create_app({"HOME": str(home.root), "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    service = app.extensions["healthcode"]
    token = service.create_token("write", "lab", 0)[1]
    httpd = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", token, home
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
    service.close()


def verifier(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(verifier_cli, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_yellow_card_is_refused_as_revoked_once_the_holder_tests_positive(issuer, tmp_path):
    url, token, home = issuer
    status, person = call(url, "POST", "/api/people", token, PERSON)
    assert status == 201
    pid = person["id"]
    assert call(url, "POST", f"/api/people/{pid}/observations", token,
                {"kind": "contact", "value": True, "source": "contact tracing",
                 "observed_at": "2026-12-01T08:00:00+08:00"})[0] == 201
    status, pdf = call(url, "POST", f"/api/people/{pid}/card", token, {"days": 14})
    assert status == 200
    card = tmp_path / "card.png"
    card.write_bytes(render_png(pdf))
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    shutil.copy(home.anchor_public, checkpoint / "anchor.pub.pem")
    trust = str(checkpoint / "trust-list.json")
    assert CliRunner().invoke(verifier_cli, ["sync", url, "--trust", trust]).exit_code == 0
    code, verdict = verifier("check", str(card), "--trust", trust)
    assert (code, verdict["valid"], verdict["colour"]) == (0, True, "yellow")

    status, body = call(url, "POST", f"/api/people/{pid}/observations", token,
                        {"kind": "test_result", "value": "positive", "source": "city lab",
                         "observed_at": "2026-12-01T09:00:00+08:00"})
    assert (status, body["assessment"]["colour"]) == (201, "red")
    assert CliRunner().invoke(verifier_cli, ["sync", url, "--trust", trust]).exit_code == 0
    code, verdict = verifier("check", str(card), "--trust", trust)
    assert (code, verdict["valid"], verdict["reason"]) == (1, False, "revoked")


def test_a_kiosk_that_syncs_by_itself_refuses_the_card_once_the_holder_tests_positive(
        issuer, tmp_path):
    """The same flow at a running kiosk process with ``--sync``: nobody runs ``sync``."""
    url, token, home = issuer
    pid = call(url, "POST", "/api/people", token, PERSON)[1]["id"]
    call(url, "POST", f"/api/people/{pid}/observations", token,
         {"kind": "contact", "value": True, "source": "contact tracing",
          "observed_at": "2026-12-01T08:00:00+08:00"})
    card = render_png(call(url, "POST", f"/api/people/{pid}/card", token, {"days": 14})[1])
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    shutil.copy(home.anchor_public, checkpoint / "anchor.pub.pem")
    kiosk = f"http://127.0.0.1:{free_port()}"
    command = [script("healthcode-verifier"), "kiosk", "--trust",
               str(checkpoint / "trust-list.json"), "--port", kiosk.rsplit(":", 1)[1],
               "--rule", "green,yellow", "--sync", url, "--every", "1s"]

    def upload() -> dict:
        request = urllib.request.Request(f"{kiosk}/api/upload", data=card,
                                         headers={"Content-Type": "image/png", "Origin": kiosk})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    with running(command, f"{kiosk}/api/status", log=tmp_path / "kiosk.log"):
        verdict = until(upload, lambda v: v["state"] == "admit", "the first background sync")
        assert (verdict["colour"], verdict["id_check"]["id_tail"]) == ("yellow", "1234")
        assert call(url, "POST", f"/api/people/{pid}/observations", token,
                    {"kind": "test_result", "value": "positive", "source": "city lab",
                     "observed_at": "2026-12-01T09:00:00+08:00"})[0] == 201
        verdict = until(upload, lambda v: v["state"] != "admit", "the revocation")
        assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")


def until(probe, done, what: str, patience: float = 30.0):
    """Call ``probe()`` until ``done(result)``; fail after ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while not done(result := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {result!r}")
        time.sleep(0.2)
    return result
