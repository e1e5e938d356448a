"""Phone numbers as people type them (issuer/store/phones.py): one E.164 form for every way of
writing a number, refusals with a reason, the region setting; the store, the API and the
sign-in page reach the same person whichever way the number is written, on SQLite and
PostgreSQL; and a database made before numbers were kept in E.164 keeps everyone."""

from __future__ import annotations

import logging
import re

import pytest
from alembic.script import ScriptDirectory
from conftest import NOW, TEST_PASSPHRASE
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from test_holder import HTTPS, Outbox, browser, csrf_of

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.store import HolderError, Store
from issuer.store.db import OneTimeCode, Person
from issuer.store.engine import make_engine
from issuer.store.holders import code_hash
from issuer.store.migrations import alembic_config, current, upgrade
from issuer.store.people import COLUMNS, backfill_phone_macs, organisation_id
from issuer.store.phones import (
    PhoneError,
    PhoneProblem,
    legacy_form,
    normalise,
    region,
    stored_form,
)
from issuer.web import create_app

E164 = "+8613700000003"
#: Every way people write that number.
WRITTEN = ["13700000003", "137 0000 0003", "137-0000-0003", "+86 137 0000 0003",
           "+8613700000003", "0086 137 0000 0003", "0086-137-0000-0003", "86 137 0000 0003",
           "(+86) 137.0000.0003", "１３７ ００００ ０００３", "＋８６１３７０００００００３",
           "\t 137 0000 0003 \n"]
#: Numbers that cannot be valid, read in CN, and why.
REFUSED = [
    ("", PhoneProblem.EMPTY),
    ("   ", PhoneProblem.EMPTY),
    ("1370000", PhoneProblem.INVALID),  # 7 digits: a possible local number, in use nowhere
    ("12", PhoneProblem.TOO_SHORT),
    ("+86", PhoneProblem.NOT_A_NUMBER),
    ("137000000031234", PhoneProblem.TOO_LONG),
    ("1" * 41, PhoneProblem.TOO_LONG),
    ("137abc00003", PhoneProblem.NOT_A_NUMBER),  # libphonenumber would read abc as 222
    ("1-800-FLOWERS", PhoneProblem.NOT_A_NUMBER),
    ("137 0000 0003 ext 12", PhoneProblem.NOT_A_NUMBER),
    ("phone", PhoneProblem.NOT_A_NUMBER),
    ("137\x000000003", PhoneProblem.NOT_A_NUMBER),
    ("+999 1234 5678", PhoneProblem.UNKNOWN_COUNTRY),
    ("+86 100 0000 0001", PhoneProblem.INVALID),  # no such range in China
    ("+1 137 0000 0003", PhoneProblem.INVALID),  # a Chinese mobile under the wrong country
]

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.mark.parametrize("written", WRITTEN)
def test_every_way_of_writing_a_number_gives_one_e164(written):
    assert normalise(written, "CN") == E164


@pytest.mark.parametrize(("written", "reason"), REFUSED)
def test_numbers_that_cannot_be_valid_are_refused_with_a_reason(written, reason):
    with pytest.raises(PhoneError) as refused:
        normalise(written, "CN")
    assert refused.value.reason is reason
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(("written", "where", "expected"), [
    ("020 7946 0958", "GB", "+442079460958"),  # London, written as Londoners do
    ("+86 137 0000 0003", "GB", E164),  # with a country code the region does not matter
    ("(202) 555-0143", "US", "+12025550143"),
])
def test_numbers_without_a_country_code_are_read_in_the_region(written, where, expected):
    assert normalise(written, where) == expected


@pytest.mark.parametrize(("written", "where"), [
    ("138 0013 8000", "US"),  # a Chinese mobile written nationally, read in the US
    ("13700000003", "GB"),
])
def test_a_national_number_of_another_region_is_refused(written, where):
    with pytest.raises(PhoneError) as refused:
        normalise(written, where)
    assert refused.value.reason in (PhoneProblem.INVALID, PhoneProblem.TOO_LONG)
    assert refused.value.region == where


def test_the_region_comes_from_the_setting_then_the_environment(monkeypatch):
    monkeypatch.delenv("HEALTHCODE_PHONE_REGION", raising=False)
    assert region() == "CN"
    monkeypatch.setenv("HEALTHCODE_PHONE_REGION", "gb")
    assert region() == "GB"
    assert region("US") == "US"
    with pytest.raises(ValueError, match="HEALTHCODE_PHONE_REGION"):
        region("XX")


@pytest.mark.parametrize(("stored", "form", "valid"), [
    ("137 0000 0003", E164, True),
    ("+86 100 0000 0001", "+8610000000001", False),  # kept, though nobody can type it
    ("1", "1", False),  # what the old checks let through is still found by its digits
    ("---", "---", False),
])
def test_stored_numbers_are_read_leniently(stored, form, valid):
    assert stored_form(stored, "CN") == (form, valid)


# The store, on SQLite and PostgreSQL --------------------------------------------------------

PERSON = {"name": "Wang Wei", "id_number": "330106199001011234", "organisation": "Xihu"}


@pytest.mark.parametrize("written", ["137 0000 0003", "0086-137-0000-0003"])
def test_the_store_keeps_e164_and_finds_the_person_however_it_is_typed(store, written):
    person = store.create_person(phone=written, actor="test", now=NOW, **PERSON)
    assert store.get_person(person)["phone"] == E164
    for hour, typed in enumerate(WRITTEN):  # an hour apart: 5 codes an hour per number
        code = store.send_code(typed, now=NOW + hour * 3600)
        assert code is not None, typed
        assert store.check_code(typed, code, now=NOW + hour * 3600) == person


def test_the_store_refuses_a_number_that_cannot_be_valid(store):
    with pytest.raises(PhoneError) as refused:
        store.create_person(phone="+86 100", actor="test", now=NOW, **PERSON)
    assert refused.value.reason is PhoneProblem.TOO_SHORT
    assert store.person_ids() == []


def test_the_store_reads_numbers_in_its_region(db_url, store_home, data_keys):
    with Store.open(store_home, url=db_url, data_keys=data_keys, phone_region="GB") as store:
        person = store.create_person(phone="020 7946 0958", actor="t", now=NOW, **PERSON)
        assert store.get_person(person)["phone"] == "+442079460958"
        assert store.send_code("+44 20 7946 0958", now=NOW) is not None


# A database made before numbers were kept in E.164 -------------------------------------------

#: (as typed at enrolment, as signed in with after the change)
BEFORE = [("137 0000 0003", "13700000003"), ("+86 139-0000-0002", "0086 139 0000 0002"),
          ("+8613800000001", "138 0000 0001"), ("+86 100 0000 0001", None)]


def _enrol_the_old_way(session: Session, keys, person_id: str, phone: str, n: int) -> None:
    """A person as the code before this change stored them: the phone as typed, its lookup
    key made from its digits (and a leading +). Only the columns of that schema (0005): the
    model has more."""
    org = organisation_id(session, "Old Org", NOW - 100)
    session.execute(insert(Person).values(
        id=person_id, organisation_id=org, created_at=NOW - 100,
        name_enc=keys.encrypt(COLUMNS["name"], person_id, f"Old {n}"),
        id_number_enc=keys.encrypt(COLUMNS["id_number"], person_id, f"OLD{n:06d}"),
        phone_enc=keys.encrypt(COLUMNS["phone"], person_id, phone),
        id_number_mac=keys.id_number_mac(f"OLD{n:06d}"),
        phone_mac=keys.phone_form_mac(legacy_form(phone))))


def _old_code(session: Session, keys, phone: str, code: str, at: int) -> None:
    mac = keys.phone_form_mac(legacy_form(phone))
    session.add(OneTimeCode(phone_mac=mac, code_hash=code_hash(mac, code), created_at=at,
                            expires_at=at + 600, attempts=0))


def test_a_database_from_before_keeps_everyone(db_url, store_home, data_keys, caplog):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005")
        with Session(engine) as session, session.begin():
            for n, (typed, _) in enumerate(BEFORE):
                _enrol_the_old_way(session, data_keys, f"p-old{n}", typed, n)
            _old_code(session, data_keys, "137 0000 0003", "111111", NOW - 60)
            _old_code(session, data_keys, "+8613800000001", "222222", NOW - 60)
    finally:
        engine.dispose()
    with caplog.at_level(logging.WARNING, "healthcode.store"), \
            Store.open(store_home, url=db_url, data_keys=data_keys) as store:
        assert current(store.engine) == HEAD  # 0006 and everything after it
        # One stored number is not valid: said in the log, and its person still has a key.
        assert any("1 people" in r.getMessage() for r in caplog.records)
        with store.reading() as session:
            keys = dict(session.execute(select(Person.id, Person.phone_mac)).all())
            codes = session.execute(select(OneTimeCode.phone_mac, OneTimeCode.used_at)
                                    .order_by(OneTimeCode.id)).all()
        assert None not in keys.values()
        # The code asked under an old digits-only key moved to the new key, spent: it counts
        # against the hour's quota and cannot be used; one whose key did not change still can.
        assert codes[0].phone_mac == keys["p-old0"] and codes[0].used_at is not None
        assert codes[1].phone_mac == keys["p-old2"] and codes[1].used_at is None
        assert store.check_code("138 0000 0001", "222222", now=NOW) == "p-old2"
        with pytest.raises(HolderError):
            store.check_code("13700000003", "111111", now=NOW)
        for n, (_, later) in enumerate(BEFORE):
            if later is None:
                continue
            code = store.send_code(later, now=NOW)
            assert code is not None, later
            assert store.check_code(later, code, now=NOW) == f"p-old{n}"
        # Done once: a second start finds nothing to do and changes no key.
        with store.writing() as session:
            assert backfill_phone_macs(session, data_keys, "CN", NOW) == (0, 0)
    with Store.open(store_home, url=db_url, data_keys=data_keys) as again, \
            again.reading() as session:
        assert dict(session.execute(select(Person.id, Person.phone_mac)).all()) == keys


# The API and the sign-in page, in both languages ---------------------------------------------

@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                      "CODE_SENDER": "test_holder:Outbox", "PUBLIC_URL": HTTPS})
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def writer(app) -> dict[str, str]:
    _, token = app.extensions["healthcode"].create_token("write", "phones test", 0)
    return {"Authorization": f"Bearer {token}"}


def _enrol(app, writer, phone: str, language: str = "en", id_number: str = "330106199001011234"):
    return app.test_client().post("/api/people", headers={**writer, "Accept-Language": language},
                                  json={**PERSON, "id_number": id_number, "phone": phone})


@pytest.mark.parametrize("written", ["13700000003", "137 0000 0003", "0086 137 0000 0003",
                                     "１３７０００００００３"])
def test_the_api_enrols_a_number_as_typed_in_e164(app, writer, written):
    response = _enrol(app, writer, written)
    assert response.status_code == 201, response.json
    assert app.extensions["healthcode"].store.get_person(response.json["id"])["phone"] == E164


@pytest.mark.parametrize(("written", "reason"), [
    ("1370000", "invalid"), ("12", "too_short"), ("137abc00003", "not_a_number"),
    ("+999 1234 5678", "unknown_country"), ("137000000031234", "too_long"),
    ("+1 137 0000 0003", "invalid"),
])
def test_the_api_refuses_a_number_that_cannot_be_valid(app, writer, written, reason):
    response = _enrol(app, writer, written)
    assert response.status_code == 422
    assert response.json["reason"] == reason
    assert response.json["detail"]["json"]["phone"] == [response.json["message"]]
    assert app.extensions["healthcode"].store.person_ids() == []


@pytest.mark.parametrize(("language", "words"), [
    ("en", "too short"), ("zh-CN", "位数不够")])
def test_the_refusal_is_in_the_readers_language(app, writer, language, words):
    message = _enrol(app, writer, "12", language).json["message"]
    assert words in message and "131 2345 6789" in message  # with an example


def _ask(client, phone: str, language: str = "en"):
    page = client.get("/signin", base_url=HTTPS, headers={"Accept-Language": language})
    return client.post("/signin", base_url=HTTPS, headers={"Accept-Language": language},
                       data={"phone": phone, "csrf_token": csrf_of(page.data)})


@pytest.mark.parametrize("written", WRITTEN[:-1])
def test_sign_in_sends_a_code_however_the_number_is_typed(app, writer, written):
    assert _enrol(app, writer, "+86 137 0000 0003").status_code == 201
    response = _ask(browser(app), written)
    assert response.status_code == 200
    assert [phone for phone, _ in Outbox.sent] == [E164]


@pytest.mark.parametrize(("language", "words"), [
    ("en", "only digits"), ("zh-CN", "只能有数字")])
def test_sign_in_with_letters_reshows_the_form_with_why(app, writer, language, words):
    response = _ask(browser(app), "137abc00003", language)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words in html and 'name="phone"' in html and 'value="137abc00003"' in html
    assert re.search(r'role="alert"', html)
    assert Outbox.sent == []


@pytest.mark.parametrize("written", ["1370000", "12", "+1 137 0000 0003", ""])
def test_sign_in_refuses_numbers_that_cannot_be_valid(app, written):
    response = _ask(browser(app), written)
    assert response.status_code == 422
    assert Outbox.sent == []
