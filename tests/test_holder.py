"""The holder's pages through Flask's test client: enrolment links, sign-in codes, sessions and
CSRF, the live credential, why, declare, my data. Real browser tests: test_holder_browser.py."""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal

import pytest
from conftest import DAY, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.keys.signing import sign_raw
from issuer.store.pii import normalise_phone
from issuer.web import create_app
from verifier import (
    Reason,
    TrustList,
    VerificationError,
    decode_unverified,
    encode_presentation,
    presentation_message,
    verify,
)
from verifier.base45 import b45decode
from verifier.keys import b64url
from verifier.labels import CREDENTIAL_PREFIX

PERSON = {"name": "Li Si", "id_number": "330106199202022345", "phone": "+86 139 0000 0002",
          "organisation": "Binjiang Library"}
HTTPS = "https://localhost"


class Outbox:
    """A code sender for tests: keeps what it was asked to send."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        Outbox.sent.append((phone, code))


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    Outbox.sent = []
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                      "CODE_SENDER": "test_holder:Outbox", "PUBLIC_URL": "https://localhost",
                      "DEFAULT_LOCALE": "en"})  # read in English; Chinese: test_holder_i18n
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def service(app):
    return app.extensions["healthcode"]


@pytest.fixture
def person(service) -> str:
    return service.create_person(actor="test", **PERSON)


def browser(app):
    """A test client that, like a browser, sends the page it came from (Flask-WTF checks the
    Referer of HTTPS posts)."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = HTTPS + "/me"
    return client


def jwk_of(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def csrf_of(html: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


def enrol(app, service, person, key=None):
    """A phone enrolled through a fresh link: ``(client, device key)``."""
    client = browser(app)
    key = key or ec.generate_private_key(ec.SECP256R1())
    token = service.store.create_enrolment(person, actor="test")
    page = client.get(f"/enrol/{token}", base_url=HTTPS)
    assert page.status_code == 200
    response = client.post(f"/enrol/{token}", json={"jwk": jwk_of(key)}, base_url=HTTPS,
                           headers={"X-CSRFToken": csrf_of(page.data)})
    assert response.status_code == 200, response.json
    assert response.json == {"next": "/me"}
    return client, key


def present(key, text: str, at: int) -> str:
    credential = b45decode(text[len(CREDENTIAL_PREFIX):])
    return encode_presentation(credential, at,
                               sign_raw(key, presentation_message(credential, at)))


def trust_of(service) -> TrustList:
    return TrustList.load(service.home.trust_list)


def page_csrf(client, path="/me") -> str:
    return csrf_of(client.get(path, base_url=HTTPS).data)


# Enrolment ------------------------------------------------------------------------------------

def test_an_enrolment_link_binds_the_phone_once(app, service, person):
    client, key = enrol(app, service, person)
    cookie = client.get_cookie("hc_session", domain="localhost")
    assert cookie.http_only and cookie.secure and cookie.same_site == "Lax"
    assert client.get("/me", base_url=HTTPS).status_code == 200
    devices = service.store.devices(person)
    assert len(devices) == 1 and devices[0]["revoked_at"] is None
    actions = [e["action"] for e in service.store.audit_entries(person)]
    assert "enrolment.create" in actions and "device.bind" in actions


def test_a_used_link_is_refused(app, service, person):
    token = service.store.create_enrolment(person, actor="test")
    client = browser(app)
    csrf = csrf_of(client.get(f"/enrol/{token}", base_url=HTTPS).data)
    jwk = jwk_of(ec.generate_private_key(ec.SECP256R1()))
    headers = {"X-CSRFToken": csrf}
    assert client.post(f"/enrol/{token}", json={"jwk": jwk}, headers=headers,
                       base_url=HTTPS).status_code == 200
    other = browser(app)  # the link copied to another phone
    other.get("/signin", base_url=HTTPS)
    again = other.post(f"/enrol/{token}", json={"jwk": jwk}, base_url=HTTPS,
                       headers={"X-CSRFToken": page_csrf(other, "/signin")})
    assert (again.status_code, again.json["problem"]) == (410, "used_link")
    page = browser(app).get(f"/enrol/{token}", base_url=HTTPS)
    assert page.status_code == 410 and b'data-problem="used_link"' in page.data


def test_unknown_and_expired_links(app, service, person):
    client = browser(app)
    assert client.get("/enrol/nope", base_url=HTTPS).status_code == 404
    assert client.get("/enrol/" + "x" * 5000, base_url=HTTPS).status_code == 404
    old = service.store.create_enrolment(person, actor="test", now=1_000_000)
    page = client.get(f"/enrol/{old}", base_url=HTTPS)
    assert page.status_code == 410 and b'data-problem="expired_link"' in page.data


@pytest.mark.parametrize("body", [
    {"jwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}},
    {"jwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}},
    {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}},
    {"jwk": "a key"}, {"jwk": None}, {},
    {"jwk": {"kty": "EC", "crv": "P-256", "x": "A" * 43, "y": "A" * 43, "d": "A" * 43}},
])
def test_an_unusable_phone_key_leaves_the_link_usable(app, service, person, body):
    token = service.store.create_enrolment(person, actor="test")
    client = browser(app)
    csrf = csrf_of(client.get(f"/enrol/{token}", base_url=HTTPS).data)
    response = client.post(f"/enrol/{token}", json=body, headers={"X-CSRFToken": csrf},
                           base_url=HTTPS)
    assert (response.status_code, response.json["problem"]) == (400, "bad_device_key")
    assert client.get(f"/enrol/{token}", base_url=HTTPS).status_code == 200


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b"null", b"\xff" * 10])
def test_a_body_that_is_not_an_object(app, service, person, raw):
    token = service.store.create_enrolment(person, actor="test")
    client = browser(app)
    csrf = csrf_of(client.get(f"/enrol/{token}", base_url=HTTPS).data)
    response = client.post(f"/enrol/{token}", data=raw, content_type="application/json",
                           headers={"X-CSRFToken": csrf}, base_url=HTTPS)
    assert (response.status_code, response.json["problem"]) == (400, "bad_request")


def test_posts_without_the_csrf_token_are_refused(app, service, person):
    token = service.store.create_enrolment(person, actor="test")
    client = browser(app)
    client.get(f"/enrol/{token}", base_url=HTTPS)
    jwk = jwk_of(ec.generate_private_key(ec.SECP256R1()))
    response = client.post(f"/enrol/{token}", json={"jwk": jwk}, base_url=HTTPS)
    assert (response.status_code, response.json["problem"]) == (400, "csrf")
    forged = client.post(f"/enrol/{token}", json={"jwk": jwk}, base_url=HTTPS,
                         headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400
    phone, _ = enrol(app, service, person)
    page = phone.post("/me/declare", data={"steps": "20000"}, base_url=HTTPS)
    assert page.status_code == 400 and b'data-problem="csrf"' in page.data
    assert service.store.observations(person) == []


def test_the_api_returns_an_enrolment_link_with_a_qr(app, service):
    write = service.create_token("write", "test", 0)[1]
    client = browser(app)
    response = client.post("/api/people", json=PERSON, base_url=HTTPS,
                           headers={"Authorization": f"Bearer {write}"})
    assert response.status_code == 201
    enrolment = response.json["enrolment"]
    assert enrolment["url"].startswith("https://localhost/enrol/")
    assert enrolment["qr_svg"].startswith("<svg")
    assert client.get(enrolment["url"]).status_code == 200
    again = client.post(f"/api/people/{response.json['id']}/enrolment", base_url=HTTPS,
                        headers={"Authorization": f"Bearer {write}"})
    assert again.status_code == 201 and again.json["url"] != enrolment["url"]
    assert client.post("/api/people/p-nobody/enrolment", base_url=HTTPS,
                       headers={"Authorization": f"Bearer {write}"}).status_code == 404
    assert client.post(f"/api/people/{response.json['id']}/enrolment",
                       base_url=HTTPS).status_code == 401


# Sign-in by code ------------------------------------------------------------------------------

def _ask_code(client, phone: str):
    csrf = csrf_of(client.get("/signin", base_url=HTTPS).data)
    return client.post("/signin", data={"phone": phone, "csrf_token": csrf}, base_url=HTTPS)


def _give_code(client, phone: str, code: str):
    csrf = csrf_of(client.get("/signin", base_url=HTTPS).data)
    return client.post("/signin/code", data={"phone": phone, "code": code, "csrf_token": csrf},
                       base_url=HTTPS)


def test_sign_in_by_code_then_bind_the_phone(app, service, person):
    client = browser(app)
    assert _ask_code(client, "+86-139-0000-0002").status_code == 200
    [(phone, code)] = Outbox.sent
    assert phone == "+8613900000002" and re.fullmatch(r"\d{6}", code)  # E.164 to the sender
    response = _give_code(client, PERSON["phone"], code)
    assert response.status_code == 302 and response.location.endswith("/me")
    assert client.get("/me/credential.json", base_url=HTTPS).json["problem"] == "no_device"
    key = ec.generate_private_key(ec.SECP256R1())
    bound = client.post("/me/device", json={"jwk": jwk_of(key)}, base_url=HTTPS,
                        headers={"X-CSRFToken": page_csrf(client)})
    assert bound.status_code == 200
    live = client.get("/me/credential.json", base_url=HTTPS).json
    at = live["issued_at"]
    assert verify(present(key, live["text"], at), trust_of(service), at).score == live["score"]
    assert _give_code(client, PERSON["phone"], code).status_code == 422  # used up


def test_the_default_sender_logs_the_code(tmp_path, db_url, monkeypatch, caplog):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url})
    try:
        app.extensions["healthcode"].create_person(actor="test", **PERSON)
        with caplog.at_level(logging.WARNING, logger="healthcode.signin"):
            _ask_code(browser(app), PERSON["phone"])
        [record] = caplog.records
        assert re.search(r"ending 0002: \d{6}$", record.getMessage())
        assert "139" not in record.getMessage().rsplit(":", 1)[0]  # the code may hold 139
    finally:
        app.extensions["healthcode"].close()


def test_an_unknown_number_gets_the_same_answer_and_no_code(app, service, person):
    client = browser(app)
    known = _ask_code(client, PERSON["phone"])
    unknown = _ask_code(client, "+1 202 555 0143")
    assert unknown.status_code == known.status_code == 200
    assert _page_text(unknown.data, "+1 202 555 0143") == _page_text(known.data, PERSON["phone"])
    assert len(Outbox.sent) == 1


def _page_text(html: bytes, phone: str) -> bytes:
    """The page without what differs between any two answers: the number asked about, and
    the CSRF token (signed with the time, so it changes from one second to the next). The
    page shows the number as it is kept (E.164)."""
    html = html.replace(normalise_phone(phone).encode(), b"X").replace(phone.encode(), b"X")
    return re.sub(rb'(csrf-token" content|csrf_token" value)="[^"]*"', rb'\1=""', html)


def test_wrong_codes_use_up_the_code(app, service, person):
    client = browser(app)
    _ask_code(client, PERSON["phone"])
    [(_, code)] = Outbox.sent
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert _give_code(client, PERSON["phone"], wrong).status_code == 422
    assert _give_code(client, PERSON["phone"], code).status_code == 422
    assert client.get("/me", base_url=HTTPS).status_code == 302


def test_codes_per_hour_are_limited(app, service, person):
    client = browser(app)
    statuses = [_ask_code(client, PERSON["phone"]).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert len(Outbox.sent) == 5


def test_a_shared_phone_cannot_sign_in_by_code(app, service, person):
    service.create_person(actor="test", **{**PERSON, "id_number": "330106199303033456",
                                           "name": "Li Wu"})
    client = browser(app)
    _ask_code(client, PERSON["phone"])
    [(_, code)] = Outbox.sent
    response = _give_code(client, PERSON["phone"], code)
    assert response.status_code == 422 and b"enrolment letter" in response.data


@pytest.mark.parametrize("phone", ["", "abc", "1" * 40, "+", "<script>"])
def test_implausible_numbers(app, phone):
    assert _ask_code(browser(app), phone).status_code == 422
    assert Outbox.sent == []


# The live credential -------------------------------------------------------------------------

def test_the_live_credential_is_bound_to_the_phone(app, service, person):
    client, key = enrol(app, service, person)
    live = client.get("/me/credential.json", base_url=HTTPS).json
    trust = trust_of(service)
    at = live["issued_at"] + 60
    with pytest.raises(VerificationError) as caught:
        verify(live["text"], trust, at)
    assert caught.value.reason is Reason.HOLDER_PROOF_MISSING
    credential = verify(present(key, live["text"], at), trust, at + 5)
    assert (credential.colour, credential.score) == (live["colour"], live["score"])
    numbers = key.public_key().public_numbers()
    assert live["device_x"] == b64url(numbers.x.to_bytes(32, "big"))
    again = client.get("/me/credential.json", base_url=HTTPS).json
    assert decode_unverified(again["text"]).cti == decode_unverified(live["text"]).cti
    [row] = service.store.credentials(person)
    assert row["purpose"] == "live" and row["device_id"]


def test_a_colour_change_supersedes_the_live_credential(app, service, person):
    client, _ = enrol(app, service, person)
    first = client.get("/me/credential.json", base_url=HTTPS).json
    csrf = page_csrf(client, "/me/declare")
    sent = client.post("/me/declare", data={"symptoms": "yes", "csrf_token": csrf},
                       base_url=HTTPS)
    assert sent.status_code == 302
    # Revoked by the declaration itself (it turned the colour yellow), before the phone asks
    # for a new code: checkpoints that sync refuse the green one from then on.
    rows = {r["cti"]: r for r in service.store.credentials(person)}
    old = rows[decode_unverified(first["text"]).cti.hex()]
    assert old["revocation_reason"] == "superseded"
    second = client.get("/me/credential.json", base_url=HTTPS).json
    assert (first["colour"], second["colour"]) == ("green", "yellow")


def test_a_new_phone_signs_the_old_one_out(app, service, person):
    old_phone, _ = enrol(app, service, person)
    old_live = old_phone.get("/me/credential.json", base_url=HTTPS).json
    new_phone, _ = enrol(app, service, person)
    assert old_phone.get("/me/credential.json", base_url=HTTPS).status_code == 401
    assert old_phone.get("/me", base_url=HTTPS).status_code == 302
    assert new_phone.get("/me/credential.json", base_url=HTTPS).status_code == 200
    revoked = service.store.credential(decode_unverified(old_live["text"]).cti)
    assert revoked["revocation_reason"] == "replaced by a new phone"


def test_pages_need_a_session(app):
    client = browser(app)
    for path in ("/me", "/me/why", "/me/declare", "/me/data", "/me/data.json"):
        response = client.get(path, base_url=HTTPS)
        assert response.status_code == 302 and response.location.endswith("/signin")
    assert client.get("/me/credential.json", base_url=HTTPS).status_code == 401
    assert browser(app).get("/me/credential.json",
                                 base_url=HTTPS).json["problem"] == "signed_out"


def test_a_forged_session_cookie_is_ignored(app, service, person):
    client = browser(app)
    client.set_cookie("hc_session", "eyJwZXJzb24iOiJwLXgifQ.forged.sig", domain="localhost")
    assert client.get("/me", base_url=HTTPS).status_code == 302


# Why, declare, my data ------------------------------------------------------------------------

def _points(html: str) -> list[Decimal]:
    return [Decimal(p) for p in re.findall(r'data-points="([^"]+)"', html)]


def test_why_adds_up_to_the_score(app, service, person):
    for kind, value in (("steps", 16000), ("alcohol_ml", 300), ("test_result", "positive")):
        service.add_observation(person, actor="lab", kind=kind, value=value,
                                observed_at=service_now() - DAY // 2, source="test")
    client, _ = enrol(app, service, person)
    html = client.get("/me/why", base_url=HTTPS, headers={"Accept-Language": "en"}).data.decode()
    assessment = service.assess(person)
    assert sum(_points(html)) == assessment.score
    assert re.search(r'id="total">(\d+)<', html).group(1) == str(assessment.score)
    kinds = re.findall(r'<tr data-kind="(\w+)"', html)
    assert kinds[0] == "rule" and "Positive test on" in html
    assert "/policy/hangzhou-2020" in html


def service_now() -> int:
    import time
    return int(time.time())


def test_declare_preview_and_send(app, service, person):
    client, _ = enrol(app, service, person)
    page = client.get("/me/declare", base_url=HTTPS).data.decode()
    assert "15,000 steps or more gives +5 points" in page
    assert "Makes your code at least yellow for 7 days and caps your score at 59" in page
    csrf = csrf_of(page.encode())
    preview = client.post("/me/declare/preview", data={"steps": "16000"}, base_url=HTTPS,
                          headers={"X-CSRFToken": csrf})
    assert preview.json["before"] == {"colour": "green", "score": 80}
    assert preview.json["after"] == {"colour": "green", "score": 85}
    assert service.store.observations(person) == []
    sent = client.post("/me/declare", data={"steps": "16000", "sleep_hours": "8",
                                            "csrf_token": csrf}, base_url=HTTPS)
    assert sent.status_code == 302
    stored = service.store.observations(person)
    assert {(o["kind"], o["value"], o["source"]) for o in stored} == {
        ("steps", 16000, "self-declared"), ("sleep_hours", 8.0, "self-declared")}
    assert b"Your code is now <strong>green</strong>, score 86" in client.get(
        "/me/declare?done=1", base_url=HTTPS).data
    assert {e["actor"] for e in service.store.audit_entries(person)
            if e["action"] == "observation.add"} == {"holder"}


@pytest.mark.parametrize(("form", "field"), [
    ({"steps": "-5"}, "steps"), ({"steps": "lots"}, "steps"), ({"steps": "1e9"}, "steps"),
    ({"sleep_hours": "25"}, "sleep_hours"), ({"travel": "Wuhan!"}, "travel"),
    ({"travel": "A" * 65}, "travel"), ({"cigarettes": "nan"}, "cigarettes"), ({}, "form"),
    ({"alcohol_ml": "inf"}, "alcohol_ml"),
])
def test_bad_declarations_are_refused_and_nothing_is_stored(app, service, person, form, field):
    client, _ = enrol(app, service, person)
    csrf = page_csrf(client, "/me/declare")
    preview = client.post("/me/declare/preview", data=form, base_url=HTTPS,
                          headers={"X-CSRFToken": csrf})
    assert (preview.status_code, preview.json["problem"]) == (422, field)
    sent = client.post("/me/declare", data={**form, "csrf_token": csrf}, base_url=HTTPS)
    assert sent.status_code == 422 and b'class="problem"' in sent.data
    assert service.store.observations(person) == []


def test_my_data_shows_everything_and_exports_it(app, service, person):
    client, _ = enrol(app, service, person)
    client.get("/me/credential.json", base_url=HTTPS)
    page = client.get("/me/data", base_url=HTTPS)
    assert page.headers["Cache-Control"] == "no-store"
    html = page.data.decode()
    for value in (PERSON["name"], PERSON["id_number"], normalise_phone(PERSON["phone"]),
                  "device.bind",
                  "credential.issue", "person.create"):
        assert value in html
    export = client.get("/me/data.json", base_url=HTTPS)
    assert export.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(export.data)
    assert data["person"]["name"] == PERSON["name"]
    assert {"observations", "credentials", "phones", "audit", "assessment"} <= data.keys()
    assert "text" not in data["credentials"][0]


def test_pages_allow_no_external_assets(app, service, person):
    client, _ = enrol(app, service, person)
    for path in ("/me", "/me/why", "/me/declare", "/me/data", "/signin"):
        response = client.get(path, base_url=HTTPS)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert not re.search(rb'(src|href)="(https?:)?//', response.data), path


def test_the_service_worker_and_manifest(app):
    client = browser(app)
    with client.get("/me/sw.js", base_url=HTTPS) as worker:
        worker.get_data()
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/me"
    manifest = client.get("/me/manifest.webmanifest", base_url=HTTPS)
    assert manifest.json["start_url"] == "/me" and manifest.json["display"] == "standalone"
    paths = [icon["src"] for icon in manifest.json["icons"]]
    paths += re.findall(r'"(/static/[^"]+)"', worker.data.decode())
    for path in paths:
        with client.get(path, base_url=HTTPS) as response:
            assert response.status_code == 200, path
