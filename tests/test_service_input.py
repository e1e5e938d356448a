"""Hostile input to the authority API over real HTTP (SQLite and PostgreSQL): each refused with
400/422 naming the field, nothing written, never a 500; and observations dated in the future
or without a UTC offset, refused by the API and by the service the CLI uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import NOW
from test_service import PERSON, app, call, server, tokens  # noqa: F401 (fixtures)

from issuer.policy import ObservationError
from verifier import CLOCK_SKEW


def _audit_count(app) -> int:  # noqa: F811
    return app.extensions["healthcode"].store.verify_audit()[0]


def _person_body(**fields) -> bytes:
    return json.dumps({**PERSON, **fields}).encode()


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each body is raw JSON text: what json.dumps cannot make (lone surrogates) is spelled out.
HOSTILE_PEOPLE = [
    ("nested 30,000 deep", _deep(30_000).encode(), 400, "_schema"),
    ("a field nested 20,000 deep",
     _person_body(name="@").replace(b'"@"', _deep(20_000).encode()), 400, "name"),
    ("a field nested 40 deep", _person_body(name="@").replace(b'"@"', _deep(40).encode()),
     400, "name"),
    ("an integer of 5,000 digits",
     _person_body(id_number="@").replace(b'"@"', b"9" * 5000), 400, "id_number"),
    ("a blank organisation", _person_body(organisation=" "), 422, "organisation"),
    ("a blank name", _person_body(name=" \t "), 422, "name"),
    ("a lone surrogate in the name", _person_body(name="@").replace(b'"@"', b'"Li\\ud800"'),
     422, "name"),
    ("a NUL in the organisation", _person_body(organisation="West\u0000Lake"), 422,
     "organisation"),
    ("a NUL in the reason", _person_body(reason="enrol\u0000"), 422, "reason"),
    ("a NUL in a key", _person_body().replace(b'"name"', b'"na\\u0000me"'), 422, "_schema"),
]


@pytest.mark.parametrize(("case", "raw", "status", "field"), HOSTILE_PEOPLE,
                         ids=[case for case, *_ in HOSTILE_PEOPLE])
def test_hostile_people_are_refused_naming_the_field(server, tokens, app, case, raw,  # noqa: F811
                                                     status, field):
    assert len(raw) < 64 * 1024  # under the body limit: these reach the parser
    before = _audit_count(app)
    code, error = call(server, "POST", "/api/people", tokens["write"], raw=raw)
    assert code == status, (case, error)
    assert field in error["detail"]["json"], error
    assert _audit_count(app) == before
    assert app.extensions["healthcode"].store.person_ids() == []


def _observation(**fields) -> dict:
    return {"kind": "test_result", "value": "positive", "observed_at": "2026-11-27T10:00:00Z",
            "source": "city lab", **fields}


def _in(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


HOSTILE_OBSERVATIONS = [
    # Dated when the test runs, not when it is collected (minutes earlier in the full suite).
    ("observed a minute from now", lambda: _observation(observed_at=_in(60 + CLOCK_SKEW)), 422,
     "observed_at"),
    ("observed in the year 9999", _observation(observed_at="9999-12-31T23:59:59Z"), 422,
     "observed_at"),
    ("observed at a naive time", _observation(observed_at="2026-11-27T10:00:00"), 422,
     "observed_at"),
    ("a NUL in the source", _observation(source="lab\u0000"), 422, "source"),
    ("a blank source", _observation(source="   "), 422, "source"),
    ("a lone surrogate in the value", None, 422, "value"),
    ("a value nested 10,000 deep", None, 400, "value"),
    ("an integer value of 4,400 digits", None, 400, "value"),
]


@pytest.mark.parametrize(("case", "body", "status", "field"), HOSTILE_OBSERVATIONS,
                         ids=[case for case, *_ in HOSTILE_OBSERVATIONS])
def test_hostile_observations_are_refused_naming_the_field(server, tokens, app,  # noqa: F811
                                                           case, body, status, field):
    pid = call(server, "POST", "/api/people", tokens["write"], PERSON)[1]["id"]
    if body is None:
        raw = json.dumps(_observation(value="@")).encode()
        raw = raw.replace(b'"@"', {"a lone surrogate in the value": b'"\\udfff"',
                                   "a value nested 10,000 deep": _deep(10_000).encode(),
                                   "an integer value of 4,400 digits": b"1" * 4400}[case])
    else:
        raw = json.dumps(body() if callable(body) else body).encode()
    before = _audit_count(app)
    code, error = call(server, "POST", f"/api/people/{pid}/observations", tokens["write"],
                       raw=raw)
    assert code == status, (case, error)
    assert field in error["detail"]["json"], error
    assert _audit_count(app) == before
    assert app.extensions["healthcode"].store.observations(pid) == []


def test_an_observation_within_the_clock_skew_is_recorded(server, tokens, app):  # noqa: F811
    pid = call(server, "POST", "/api/people", tokens["write"], PERSON)[1]["id"]
    code, row = call(server, "POST", f"/api/people/{pid}/observations", tokens["write"],
                     _observation(observed_at=_in(CLOCK_SKEW - 60)))
    assert code == 201 and row["assessment"]["colour"] == "red", row
    assert [e["action"] for e in app.extensions["healthcode"].audit(pid)["entries"]][-1] \
        == "colour.change"


@pytest.mark.parametrize(("observed_at", "refused"), [
    (NOW + CLOCK_SKEW, False),
    (NOW + CLOCK_SKEW + 1, True),
    (datetime.fromtimestamp(NOW + CLOCK_SKEW, UTC), False),
    (datetime.fromtimestamp(NOW + CLOCK_SKEW + 1, UTC), True),
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), True),
    (datetime.fromtimestamp(NOW - 60, UTC).replace(tzinfo=None), True),  # naive
])
def test_the_service_refuses_future_and_naive_times(app, observed_at, refused):  # noqa: F811
    """Every caller (the CLI, the demo, the holder's declarations) goes through the service:
    it checks the time itself, against its own clock."""
    service = app.extensions["healthcode"]
    pid = service.create_person(actor="test", now=NOW, **PERSON)
    before = service.verify_audit()[0]
    record = {"kind": "test_result", "value": "positive", "observed_at": observed_at,
              "source": "city lab"}
    if refused:
        with pytest.raises(ObservationError) as caught:
            service.add_observation(pid, actor="test", now=NOW, **record)
        assert caught.value.field == "observed_at"
        assert service.store.observations(pid) == []
        assert service.verify_audit()[0] == before
    else:
        row = service.add_observation(pid, actor="test", now=NOW, **record)
        assert row["assessment"]["colour"] == "red"


@pytest.mark.parametrize("path", ["/api/people/p-\u0000%00xxxxxxxxx/assessment",
                                  "/api/people/%00/audit",
                                  "/api/credentials/%00/revoke"])
def test_a_nul_in_the_path_is_not_found(server, tokens, path):  # noqa: F811
    method = "POST" if path.endswith("revoke") else "GET"
    code, _ = call(server, method, path.replace("\u0000", "%00"), tokens["admin"],
                   {"reason": "x"} if method == "POST" else None)
    assert code == 404


def test_a_nul_in_the_token_is_unauthorised(server):  # noqa: F811
    assert call(server, "GET", "/api/organisations/ranking",
                "hct_0123456789abcd\u0000f_secret")[0] == 401
