"""Sign-in that tells no one who is enrolled, throttles per client address and overall (429
with Retry-After, counters shared through the database), declarations limited per person, and
scoring that reads only what the policy can still count."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DAY, TEST_PASSPHRASE
from sqlalchemy import func, insert, select
from test_holder import (
    HTTPS,
    PERSON,
    Outbox,
    _ask_code,
    _give_code,
    _page_text,
    browser,
    enrol,
    page_csrf,
)

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.store.db import Observation, OneTimeCode
from issuer.web import create_app

UNKNOWN = "+1 555 0100"


@pytest.fixture
def make_app(tmp_path, db_url, monkeypatch):
    """``make_app(**config)``: the issuer app on this test's database, with ``config`` over
    the defaults. Several apps share the database (as several processes would)."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    apps = []

    def make(**config):
        app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                          "CODE_SENDER": "test_holder:Outbox", "DEFAULT_LOCALE": "en",
                          **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["healthcode"].close()


def _from(app, address: str):
    client = browser(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _codes(service) -> int:
    with service.store.reading() as session:
        return session.scalar(select(func.count()).select_from(OneTimeCode))


# The same answer for every number ------------------------------------------------------------

def test_an_unknown_number_reaches_its_quota_like_an_enrolled_one(make_app):
    app = make_app(SIGNIN_CODE_LIMIT="1000 per minute")
    service = app.extensions["healthcode"]
    service.create_person(actor="test", **PERSON)
    answers = {}
    for phone in (PERSON["phone"], UNKNOWN):
        client = browser(app)
        answers[phone] = [_ask_code(client, phone) for _ in range(6)]
    known, unknown = answers[PERSON["phone"]], answers[UNKNOWN]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [200] * 5 + [429]
    for a, b in zip(known, unknown, strict=True):
        assert _page_text(a.data, PERSON["phone"]) == _page_text(b.data, UNKNOWN)
    assert len(Outbox.sent) == 5  # texts go only to the enrolled number
    assert _codes(service) == 10  # but a code is made and counted for both


class FailingSender:
    def send(self, phone: str, code: str) -> None:
        from issuer.web.codesender import SendError
        raise SendError("gateway down")


def test_a_failed_send_answers_as_for_an_unknown_number(make_app):
    app = make_app(CODE_SENDER="test_holder_throttle:FailingSender")
    app.extensions["healthcode"].create_person(actor="test", **PERSON)
    known, unknown = _ask_code(browser(app), PERSON["phone"]), _ask_code(browser(app), UNKNOWN)
    assert known.status_code == unknown.status_code == 200
    assert _page_text(known.data, PERSON["phone"]) == _page_text(unknown.data, UNKNOWN)


# Throttles per client and overall ------------------------------------------------------------

def test_one_client_asking_codes_for_30_numbers_is_stopped(make_app):
    app = make_app()
    service = app.extensions["healthcode"]
    service.create_person(actor="test", **PERSON)
    client = _from(app, "203.0.113.7")
    responses = [_ask_code(client, f"+86 139 1000 {n:04d}") for n in range(30)]
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 5 + [429] * 25
    assert all(0 < int(r.headers["Retry-After"]) <= 60 for r in responses[5:])
    assert re.search(rb"Too many sign-in attempts from here. Try again in 1 minute\.",
                     responses[-1].data)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "请 1 分钟后再试" in _ask_code(client, PERSON["phone"]).get_data(as_text=True)
    assert _codes(service) == 5
    assert _ask_code(_from(app, "203.0.113.8"), PERSON["phone"]).status_code == 200


def test_one_client_making_150_guesses_is_stopped(make_app):
    app = make_app()
    service = app.extensions["healthcode"]
    service.create_person(actor="test", **PERSON)
    _ask_code(_from(app, "198.51.100.1"), PERSON["phone"])
    [(_, code)] = Outbox.sent
    client = _from(app, "203.0.113.7")
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 151)]
    responses = [_give_code(client, f"+86 139 1000 {n % 30:04d}" if n % 2 else PERSON["phone"],
                            guess) for n, guess in enumerate(wrong)]
    statuses = [r.status_code for r in responses]
    assert statuses == [422] * 10 + [429] * 140
    assert all(0 < int(r.headers["Retry-After"]) <= 60 for r in responses[10:])
    with service.store.reading() as session:
        attempts = session.scalar(select(func.sum(OneTimeCode.attempts)))
    assert attempts == 5  # the guesses that reached a code: every other one of the first ten
    right = _give_code(_from(app, "198.51.100.1"), PERSON["phone"], code)
    assert right.status_code == 422  # five wrong guesses used the code up


def test_the_overall_limit_holds_across_addresses_and_apps(make_app):
    first = make_app(SIGNIN_TOTAL_LIMIT="4 per minute")
    second = make_app(SIGNIN_TOTAL_LIMIT="4 per minute")  # another process, one database
    statuses = [_ask_code(_from(app, f"192.0.2.{n}"), f"+86 139 2000 {n:04d}").status_code
                for n, app in enumerate([first, second] * 3)]
    assert statuses == [200] * 4 + [429] * 2


def test_the_limits_are_configurable_and_checked(make_app):
    with pytest.raises(ValueError):
        make_app(SIGNIN_GUESS_LIMIT="lots")


# Declarations ---------------------------------------------------------------------------------

def test_declarations_are_limited_per_person(make_app):
    app = make_app(DECLARE_LIMIT="2 per day")
    service = app.extensions["healthcode"]
    person = service.create_person(actor="test", **PERSON)
    client, _ = enrol(app, service, person)
    csrf = page_csrf(client, "/me/declare")
    statuses = [client.post("/me/declare", data={"steps": "16000", "csrf_token": csrf},
                            base_url=HTTPS) for _ in range(3)]
    assert [r.status_code for r in statuses] == [302, 302, 429]
    refused = statuses[-1]
    assert 0 < int(refused.headers["Retry-After"]) <= DAY
    assert re.search(rb'class="problem"[^>]*>You have sent many declarations today. Nothing was '
                     rb'recorded: try again in 2[34] hours,', refused.data)
    assert len(service.store.observations(person)) == 2


# Scoring reads only the policy's look-back window ----------------------------------------------

def test_scoring_never_reads_observations_older_than_the_policy_window(make_app):
    app = make_app()
    service = app.extensions["healthcode"]
    person = service.create_person(actor="test", **PERSON)
    now, window = service_now(), 14 * DAY  # the policy's longest rule or factor window
    service.add_observation(person, actor="lab", kind="steps", value=16000,
                            observed_at=now - DAY, source="test")
    expected = service.assess(person, now)
    # Rows no scoring could read (an unknown kind): had the whole history been loaded, every
    # assessment below would fail on them.
    with service.store.writing() as session:
        session.execute(insert(Observation), [
            {"person_id": person, "kind": "bogus", "value_json": json.dumps("x"),
             "observed_at": now - window - age, "source": "old",
             "recorded_at": now, "recorded_by": "test"} for age in (0, DAY, 400 * DAY)])
    assert service.assess(person, now) == expected
    assert service.preview(person, [("steps", 16000)], now).score == expected.score
    recorded = service.add_observation(person, actor="lab", kind="steps", value=16000,
                                       observed_at=now, source="test", now=now)
    assert recorded["assessment"]["score"] == expected.score
    client, _ = enrol(app, service, person)
    assert client.get("/me/why", base_url=HTTPS).status_code == 200
    assert service.policy.lookback == window


def service_now() -> int:
    import time
    return int(time.time())
