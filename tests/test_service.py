"""The issuer service over real HTTP on 127.0.0.1 (SQLite and PostgreSQL), and its refusals."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from conftest import TEST_PASSPHRASE
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app
from verifier.cli import main as verifier_cli

PERSON = {"name": "Zhang San", "id_number": "330106199001011234", "phone": "+86 138 0000 0001",
          "organisation": "West Lake Primary School"}


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    init_home(Home(tmp_path))
    app = create_app({"HOME": str(tmp_path), "DATABASE_URL": db_url,
                      "RANKING_MIN_MEMBERS": 3})
    yield app
    app.extensions["healthcode"].close()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    service = app.extensions["healthcode"]
    return {scope: service.create_token(scope, f"test {scope}", 0)[1]
            for scope in ("read", "write", "admin")}


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app behind a real HTTP server on a free port of 127.0.0.1."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def call(base: str, method: str, path: str, token: str | None = None, body=None,
         raw: bytes | None = None) -> tuple[int, object]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            payload = response.read()
            kind = response.headers.get_content_type()
            return response.status, json.loads(payload) if kind == "application/json" else payload
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_scripted_flow_over_http(server, tokens, tmp_path, app):
    write = tokens["write"]
    status, person = call(server, "POST", "/api/people", write, PERSON)
    assert status == 201 and person["id"].startswith("p-")
    pid = person["id"]
    for obs in [
        {"kind": "steps", "value": 15000, "observed_at": "2026-11-27T20:00:00+08:00",
         "source": "phone"},
        {"kind": "sleep_hours", "value": 7.5, "observed_at": "2026-11-27T07:00:00+08:00",
         "source": "phone"},
    ]:
        assert call(server, "POST", f"/api/people/{pid}/observations", write, obs)[0] == 201
    status, assessment = call(server, "GET", f"/api/people/{pid}/assessment", tokens["read"])
    assert status == 200
    assert sum(c["points"] for c in assessment["contributions"]) == assessment["score"]
    status, credential = call(server, "POST", f"/api/people/{pid}/credentials", write, {})
    assert status == 201
    assert (credential["colour"], credential["score"]) == (assessment["colour"],
                                                           assessment["score"])
    status, png = call(server, "GET", credential["png"], tokens["read"])
    assert status == 200 and png.startswith(b"\x89PNG")
    (tmp_path / "code.png").write_bytes(png)
    checked = CliRunner().invoke(verifier_cli, [
        "check", str(tmp_path / "code.png"), "--trust",
        str(tmp_path / "keys" / "trust-list.json"), "--json"])
    assert checked.exit_code == 0, checked.output
    verdict = json.loads(checked.stdout)
    assert (verdict["colour"], verdict["score"]) == (credential["colour"], credential["score"])
    assert verdict["policy"] == assessment["policy_digest"]


def test_positive_test_turns_red_with_a_trace(server, tokens, app):
    write = tokens["write"]
    pid = call(server, "POST", "/api/people", write, PERSON)[1]["id"]
    status, result = call(server, "POST", f"/api/people/{pid}/observations", write, {
        "kind": "test_result", "value": "positive", "observed_at": "2026-11-28T08:00:00Z",
        "source": "city lab", "reason": "PCR result 2026-11-28 from city lab"})
    assert status == 201 and result["assessment"]["colour"] == "red"
    status, trail = call(server, "GET", f"/api/people/{pid}/audit", tokens["read"])
    assert status == 200 and trail["chain_ok"]
    change = [e for e in trail["entries"] if e["action"] == "colour.change"]
    assert len(change) == 1
    assert change[0]["details"]["to"] == "red"
    assert "Positive test" in change[0]["reason"]
    token_id = app.extensions["healthcode"].store.authenticate(write).id
    assert change[0]["actor"] == token_id
    observed = [e for e in trail["entries"] if e["action"] == "observation.add"]
    assert observed[-1]["reason"] == "PCR result 2026-11-28 from city lab"


def test_ranking_hides_small_organisations(server, tokens):
    write = tokens["write"]
    for i in range(4):
        for org, count in (("Big School", 3), ("Tiny Shop", 2)):
            if i < count:
                body = {**PERSON, "id_number": f"{org[:3]}{i:08d}X", "organisation": org}
                pid = call(server, "POST", "/api/people", write, body)[1]["id"]
                call(server, "POST", f"/api/people/{pid}/credentials", write, {})
    status, ranking = call(server, "GET", "/api/organisations/ranking", tokens["read"])
    assert status == 200 and ranking["k"] == 3
    assert [o["organisation"] for o in ranking["organisations"]] == ["Big School"]
    assert set(ranking["organisations"][0]) == {"organisation", "members", "mean_score"}
    asked_lower = call(server, "GET", "/api/organisations/ranking?k=1", tokens["read"])[1]
    assert asked_lower["k"] == 3  # a caller cannot go below the server's k


BAD_PEOPLE = [
    ({**PERSON, "name": ""}, 422, "name"),
    ({k: v for k, v in PERSON.items() if k != "phone"}, 422, "phone"),
    ({**PERSON, "id_number": 12345678}, 422, "id_number"),
    ({**PERSON, "id_number": "../../etc"}, 422, "id_number"),
    ({**PERSON, "organisation": "x" * 101}, 422, "organisation"),
    ({**PERSON, "admin": True}, 422, "admin"),
    ([PERSON], 422, None),
]
BAD_OBSERVATIONS = [
    ({"kind": "mood", "value": 1}, "kind"),
    ({"kind": "steps", "value": -1}, "value"),
    ({"kind": "steps", "value": "many"}, "value"),
    ({"kind": "sleep_hours", "value": 25}, "value"),
    ({"kind": "test_result", "value": "maybe"}, "value"),
    ({"kind": "steps", "value": 100, "observed_at": "yesterday"}, "observed_at"),
    ({"kind": "steps", "value": 100, "source": ""}, "source"),
]


def _audit_count(app) -> int:
    return app.extensions["healthcode"].store.verify_audit()[0]


@pytest.mark.parametrize(("body", "status", "field"), BAD_PEOPLE)
def test_bad_people_are_refused_and_nothing_is_written(server, tokens, app, body, status,
                                                       field):
    before = _audit_count(app)
    code, error = call(server, "POST", "/api/people", tokens["write"], body)
    assert code == status
    if field:
        assert field in error["detail"]["json"]
    assert _audit_count(app) == before


@pytest.mark.parametrize(("body", "field"), BAD_OBSERVATIONS)
def test_bad_observations_are_refused(server, tokens, app, body, field):
    pid = call(server, "POST", "/api/people", tokens["write"], PERSON)[1]["id"]
    full = {"observed_at": "2026-11-27T10:00:00Z", "source": "phone", **body}
    before = _audit_count(app)
    code, error = call(server, "POST", f"/api/people/{pid}/observations", tokens["write"], full)
    assert code == 422 and field in error["detail"]["json"], error
    assert _audit_count(app) == before


def test_malformed_oversize_unauthorised(server, tokens, app):
    before = _audit_count(app)
    assert call(server, "POST", "/api/people", tokens["write"], raw=b"{not json")[0] == 400
    assert call(server, "POST", "/api/people", tokens["write"], raw=b"[" * 200_000)[0] == 413
    assert call(server, "POST", "/api/people", None, PERSON)[0] == 401
    assert call(server, "POST", "/api/people", "hct_bogus_token", PERSON)[0] == 401
    assert call(server, "POST", "/api/people", tokens["read"], PERSON)[0] == 403
    assert call(server, "GET", "/api/people/p-nobody/assessment", tokens["read"])[0] == 404
    assert call(server, "GET", "/api/credentials/00.gif", tokens["read"])[0] == 404
    assert _audit_count(app) == before


def test_duplicate_id_number_is_a_conflict(server, tokens):
    assert call(server, "POST", "/api/people", tokens["write"], PERSON)[0] == 201
    again = {**PERSON, "id_number": PERSON["id_number"].lower().replace("1234", "12 34")}
    status, error = call(server, "POST", "/api/people", tokens["write"], again)
    assert status == 409 and "id_number" in error["detail"]["json"]


def test_openapi_matches_the_routes(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    # <iss> and <path:iss> are both {iss} in OpenAPI (a converter is no part of the name).
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(rule))
              for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith(("api.", "review.", "family_api.", "public.",
                                           "trust.", "public_log."))}
    assert routes == set(spec["paths"])


def test_policy_is_published_with_its_digest(server):
    status, document = call(server, "GET", "/policy/hangzhou-2020")
    assert status == 200 and b"hangzhou-2020" in document
    import hashlib

    from issuer.policy import load_policy
    assert hashlib.sha256(document).digest()[:8] == load_policy("hangzhou-2020").digest
    assert call(server, "GET", "/policy/..%2Fetc")[0] == 404
