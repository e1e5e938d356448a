"""Staff find people (GET /api/people): by ID number or phone number, an exact match through
the keyed lookups, every person sharing a phone, what staff may see of each (masked name, ID
tail, organisation, enrolment date, a bound phone), each search audited without the value
searched; refusals with a reason. A real SQLite and PostgreSQL store behind the real app. And
the landing page (/)."""

from __future__ import annotations

import json

import pytest
from conftest import NOW, TEST_PASSPHRASE
from sqlalchemy import select
from test_holder import HTTPS, enrol

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.store.db import AuditEntry
from issuer.web import create_app

WANG = {"name": "王伟", "id_number": "330106199001011234", "phone": "137 0000 0003",
        "organisation": "西湖小学"}
# Wang's mother shares his phone.
LI = {"name": "Li Fang", "id_number": "33010619601111567X", "phone": "+86 137-0000-0003",
      "organisation": "Retired"}
ZHAO = {"name": "Zhao Liu", "id_number": "330106197704045678", "phone": "13600000004",
        "organisation": "Gongshu Market"}


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url, "PUBLIC_URL": HTTPS,
                      "DEFAULT_LOCALE": "en"})
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def people(app) -> dict[str, str]:
    service = app.extensions["healthcode"]
    return {who: service.create_person(actor="test", now=NOW - i * 86_400, **data)
            for i, (who, data) in enumerate((("li", LI), ("wang", WANG), ("zhao", ZHAO)))}


@pytest.fixture
def tokens(app) -> dict[str, str]:
    service = app.extensions["healthcode"]
    return {scope: service.create_token(scope, f"staff {scope}", 0)[1]
            for scope in ("read", "write")}


def find(app, token: str | None, language: str = "en", **query):
    headers = {"Accept-Language": language}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().get("/api/people", query_string=query, headers=headers)


@pytest.mark.parametrize("written", ["330106199001011234", "3301 0619 9001 0112 34",
                                     "３３０１０６１９９００１０１１２３４"])
def test_find_by_id_number(app, people, tokens, written):
    response = find(app, tokens["read"], id_number=written)
    assert response.status_code == 200, response.json
    [wang] = response.json["people"]
    assert wang == {"id": people["wang"], "name": "王*", "id_tail": "1234",
                    "organisation": "西湖小学", "enrolled_at": NOW - 86_400,
                    "phone_bound": False}


def test_an_id_number_with_a_letter_is_found_in_either_case(app, people, tokens):
    [li] = find(app, tokens["read"], id_number="33010619601111567x").json["people"]
    assert li["id"] == people["li"] and li["id_tail"] == "567X" and li["name"] == "L*"


@pytest.mark.parametrize("written", ["13700000003", "137 0000 0003", "+86 137 0000 0003",
                                     "0086 137 0000 0003"])
def test_a_shared_phone_finds_everyone_enrolled_with_it(app, people, tokens, written):
    found = find(app, tokens["read"], phone=written).json["people"]
    assert [p["id"] for p in found] == [people["wang"], people["li"]]  # oldest enrolment first


def test_a_bound_phone_is_shown(app, people, tokens):
    service = app.extensions["healthcode"]
    enrol(app, service, people["zhao"])
    [zhao] = find(app, tokens["read"], phone="136 0000 0004").json["people"]
    assert zhao["phone_bound"] is True


def test_no_match_is_an_empty_list(app, people, tokens):
    assert find(app, tokens["read"], id_number="330106199912319999").json == {"people": []}
    assert find(app, tokens["read"], phone="139 0000 0009").json == {"people": []}


def test_each_search_is_audited_without_the_value_searched(app, people, tokens):
    find(app, tokens["read"], phone="13700000003")
    find(app, tokens["read"], id_number="330106197704045678")
    service = app.extensions["healthcode"]
    with service.store.reading() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "person.search")
                                  .order_by(AuditEntry.seq)).all()
    assert [json.loads(e.details_json) for e in entries] == [
        {"by": "phone", "found": [people["wang"], people["li"]]},
        {"by": "id_number", "found": [people["zhao"]]}]
    [actor] = {e.actor for e in entries}  # who searched: the read token's holder
    assert actor and tokens["read"] not in actor
    text = " ".join(e.details_json + e.reason for e in entries)
    for secret in ("13700000003", "8613700000003", "330106197704045678", "Zhao", "王伟"):
        assert secret not in text
    assert service.audit(people["wang"])["chain_ok"]


@pytest.mark.parametrize(("query", "reason", "field"), [
    ({}, "one_of", "id_number"),
    ({"id_number": "330106199001011234", "phone": "13700000003"}, "one_of", "phone"),
    ({"id_number": "12"}, "bad_id_number", "id_number"),
    ({"id_number": "王伟"}, "bad_id_number", "id_number"),
    ({"id_number": "x" * 500}, "bad_id_number", "id_number"),
    ({"id_number": "3301\x000619"}, "bad_id_number", "id_number"),
    ({"phone": "Wang Wei"}, "not_a_number", "phone"),
    ({"phone": "137"}, "too_short", "phone"),
    ({"phone": "1370000"}, "invalid", "phone"),
    ({"phone": ""}, "empty", "phone"),
])
def test_bad_searches_get_422_with_a_reason(app, people, tokens, query, reason, field):
    response = find(app, tokens["read"], **query)
    assert response.status_code == 422
    assert response.json["reason"] == reason
    assert response.json["detail"]["query"][field] == [response.json["message"]]


@pytest.mark.parametrize(("language", "words"), [("en", "one of the two"), ("zh-CN", "两者填一个")])
def test_the_refusal_is_in_the_readers_language(app, tokens, language, words):
    assert words in find(app, tokens["read"], language).json["message"]


def test_searching_needs_a_token(app, people, tokens):
    assert find(app, None, id_number="330106199001011234").status_code == 401
    assert find(app, "bogus", id_number="330106199001011234").status_code == 401
    assert find(app, tokens["write"], id_number="330106199001011234").status_code == 200


def test_a_new_enrolment_link_for_a_person_found(app, people, tokens):
    [wang] = find(app, tokens["read"], id_number="330106199001011234").json["people"]
    client = app.test_client()
    refused = client.post(f"/api/people/{wang['id']}/enrolment",
                          headers={"Authorization": f"Bearer {tokens['read']}"})
    assert refused.status_code == 403
    made = client.post(f"/api/people/{wang['id']}/enrolment",
                       headers={"Authorization": f"Bearer {tokens['write']}"})
    assert made.status_code == 201
    assert made.json["url"].startswith(f"{HTTPS}/enrol/")
    assert made.json["qr_svg"].lstrip().startswith(("<?xml", "<svg"))


# The landing page --------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Health code service", "Sign in", "Staff page", "Checkpoints", "Developers"]),
    ("zh-CN", ["健康码服务", "登录", "工作人员页面", "检查点", "开发人员"])])
def test_the_landing_page_in_both_languages(app, language, words):
    response = app.test_client().get("/", headers={"Accept-Language": language})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}"' in html
    for word in words:
        assert word in html
    for link in ('href="/signin"', 'href="/me"', 'href="/staff"', 'href="/api/docs"',
                 'href="/policy"', 'href="/trust/trust-list.json"', 'href="/trust/revocations"'):
        assert link in html
    assert f"--sync {HTTPS}" in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
