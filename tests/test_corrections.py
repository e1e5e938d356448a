"""Corrections without deletion (issuer/service/corrections.py): an observation voided by an
authority, or withdrawn by the holder within the policy's undo window, stays in the data and
the audit log, no longer counts, and re-scores the person at once; the audit check finds a void
made, undone or altered beside the log. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

import pytest
from conftest import DAY, NOW
from test_audit import PERSON, populate, tamper
from test_holder import HTTPS, enrol, page_csrf
from test_service import PERSON as API_PERSON
from test_service import call

from issuer.service import NotFound
from issuer.service.corrections import CorrectionError, CorrectionProblem, effect, void
from issuer.service.records import holder_data
from issuer.store.audit_since import check_since


@pytest.fixture
def service(v3_service):
    return v3_service


def _enrol(service) -> str:
    return service.create_person(actor="clerk", now=NOW - 2 * DAY, **PERSON)


def _entries(service, person, action):
    return [e for e in service.store.audit_entries(person) if e["action"] == action]


def test_a_voided_result_stays_in_the_data_but_no_longer_counts(service):
    person = _enrol(service)
    added = service.add_observation(person, actor="lab", kind="test_result", value="positive",
                                    observed_at=NOW - 3600, source="city lab", now=NOW - 60)
    assert added["assessment"]["colour"] == "red"
    done = void(service, person, added["id"], actor="t-reviewer", reason="sample swapped",
                now=NOW)
    assert done["assessment"]["colour"] == "green"
    assert (done["voided_at"], done["voided_by"], done["void_reason"]) == (
        NOW, "t-reviewer", "sample swapped")
    assert service.assess(person, NOW).colour.value == "green"
    assert service.store.observations(person) == []
    kept, = service.store.observations(person, voided=True)
    assert kept["value"] == "positive" and kept["voided_at"] == NOW
    entry, = _entries(service, person, "observation.void")
    assert (entry["actor"], entry["reason"], entry["details"]) == (
        "t-reviewer", "sample swapped",
        {"observation": added["id"], "kind": "test_result", "observed_at": NOW - 3600,
         "log": entry["details"]["log"]})  # its leaf in the public log
    changes = _entries(service, person, "colour.change")
    assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == [
        ("green", "red"), ("red", "green")]
    assert holder_data(service, person, NOW)["observations"][0]["voided_at"] == NOW
    # Voiding it again changes nothing: no second entry.
    again = void(service, person, added["id"], actor="t-other", reason="again", now=NOW + 5)
    assert again["voided_by"] == "t-reviewer" and len(_entries(service, person,
                                                                "observation.void")) == 1
    assert service.verify_audit()[1] is None


def test_a_credential_showing_more_than_the_truth_is_revoked(service):
    person = _enrol(service)
    steps = [service.add_observation(person, actor="wearable", kind="steps", value=16000,
                                     observed_at=NOW - day * DAY, source="wearable",
                                     now=NOW - day * DAY + 60)["id"] for day in (1, 2)]
    issued = service.issue(person, actor="clerk", now=NOW - 30)
    assert (issued["colour"], issued["score"]) == ("green", 85)
    void(service, person, steps[0], actor="clerk", reason="counted twice", now=NOW)
    assert service.store.credential(issued["cti"])["revoked_at"] is None  # still 85
    void(service, person, steps[1], actor="clerk", reason="counted twice", now=NOW + 1)
    assert service.assess(person, NOW + 1).score == 80
    assert service.store.credential(issued["cti"])["revoked_at"] == NOW + 1


def test_the_holder_withdraws_their_own_declaration_within_the_undo_window(service):
    person = _enrol(service)
    service.declare(person, [("symptoms", True)], now=NOW)
    declared, = service.store.observations(person)
    observation, before, after = effect(service, person, declared["id"], now=NOW + 3600)
    assert observation["withdrawable"] and (before.colour.value, after.colour.value) == (
        "yellow", "green")
    done = void(service, person, declared["id"], actor="ignored", reason="ticked by mistake",
                now=NOW + 3600, by_holder=True)
    assert done["voided_by"] == "holder" and done["assessment"]["colour"] == "green"


@pytest.mark.parametrize(("recorded_by", "after", "problem"), [
    ("holder", 24 * 3600 + 1, CorrectionProblem.UNDO_WINDOW_PASSED),
    ("lab", 60, CorrectionProblem.NOT_OWN_DECLARATION),
])
def test_the_holder_cannot_withdraw_late_or_what_they_did_not_declare(
        service, recorded_by, after, problem):
    person = _enrol(service)
    if recorded_by == "holder":
        service.declare(person, [("symptoms", True)], now=NOW)
    else:
        service.add_observation(person, actor="lab", kind="symptoms", value=True,
                                observed_at=NOW, source="clinic", now=NOW)
    recorded, = service.store.observations(person)
    assert not effect(service, person, recorded["id"], now=NOW + after)[0]["withdrawable"]
    with pytest.raises(CorrectionError) as refused:
        void(service, person, recorded["id"], actor="holder", reason="no", now=NOW + after,
             by_holder=True)
    assert refused.value.reason is problem
    assert service.store.observations(person)[0]["voided_at"] is None
    assert _entries(service, person, "observation.void") == []


def test_an_older_policy_lets_a_holder_withdraw_nothing(v2_service):
    person = _enrol(v2_service)
    v2_service.declare(person, [("symptoms", True)], now=NOW)
    recorded, = v2_service.store.observations(person)
    with pytest.raises(CorrectionError) as refused:
        void(v2_service, person, recorded["id"], actor="holder", reason="no", now=NOW + 1,
             by_holder=True)
    assert refused.value.reason is CorrectionProblem.UNDO_WINDOW_PASSED


@pytest.mark.parametrize("observation_id", [987654, 1 << 63, 1 << 70, -1, 0])
def test_no_such_observation_of_this_person(service, observation_id):
    person = _enrol(service)
    with pytest.raises(NotFound):
        void(service, person, observation_id, actor="clerk", reason="x", now=NOW)


def test_another_person_s_observation_and_an_empty_reason_are_refused(service):
    person = _enrol(service)
    other = service.create_person(actor="clerk", now=NOW, **{
        **PERSON, "id_number": "330106199003079999", "phone": "+86 138 0571 9876"})
    theirs = service.add_observation(other, actor="lab", kind="contact", value=True,
                                     observed_at=NOW, source="tracing", now=NOW)["id"]
    with pytest.raises(NotFound):
        void(service, person, theirs, actor="clerk", reason="x", now=NOW)
    with pytest.raises(ValueError, match="reason"):
        void(service, other, theirs, actor="clerk", reason="   ", now=NOW)
    assert service.store.observations(other)[0]["voided_at"] is None


# The audit check --------------------------------------------------------------------------------

def _by_kind(store, person) -> dict[str, dict]:
    return {o["kind"]: o for o in store.observations(person, voided=True)}


def _voided(store) -> dict[str, str]:
    ids = populate(store)
    test = _by_kind(store, ids["person"])["test_result"]
    store.void_observation(ids["person"], test["id"], actor="reviewer",
                           reason="appeal upheld", now=NOW + 10)
    return ids


VOID_TAMPERINGS = {
    "void cleared": "UPDATE observation SET voided_at = NULL, voided_by = NULL, "
                    "void_reason = NULL",
    "void re-dated": "UPDATE observation SET voided_at = voided_at - 3600 "
                     "WHERE voided_at IS NOT NULL",
    "void reason rewritten": "UPDATE observation SET void_reason = 'the holder asked' "
                             "WHERE voided_at IS NOT NULL",
    "contact voided behind the log": f"UPDATE observation SET voided_at = {NOW + 20}, "
                                     "voided_by = 'clerk', void_reason = 'quiet fix' "
                                     "WHERE kind = 'contact'",
}


@pytest.mark.parametrize("statement", VOID_TAMPERINGS.values(), ids=VOID_TAMPERINGS.keys())
def test_a_void_made_undone_or_altered_beside_the_log_is_found(store, statement):
    _voided(store)
    report = store.audit_report()
    assert report.ok, report.problem
    tamper(store, statement)
    report = store.audit_report()
    assert not report.ok and report.broken is None
    assert {m.code for m in report.tables.mismatches} == {"void_mismatch"}


@pytest.mark.parametrize("slice_size", [1, 10_000])
def test_voids_since_a_checkpoint_are_checked_and_a_silent_one_found(store, data_keys,
                                                                     slice_size):
    ids = populate(store)
    marks = store.audit_report().marks
    kinds = _by_kind(store, ids["person"])
    test, contact = kinds["test_result"], kinds["contact"]
    store.void_observation(ids["person"], test["id"], actor="reviewer", reason="upheld",
                           now=NOW + 10)
    with store.reading() as session:
        since = check_since(session, data_keys, marks, slice_size)
    assert since.broken is None and since.tables.count == 0
    assert since.tables.checked["observation"] == 0  # the void's row is looked up, not re-added
    tamper(store, f"UPDATE observation SET voided_at = {NOW + 20}, voided_by = 'clerk', "
                  f"void_reason = 'quiet' WHERE id = {contact['id']}")
    with store.reading() as session:
        since = check_since(session, data_keys, marks, slice_size)
    assert [(m.code, m.key) for m in since.tables.mismatches] == [
        ("void_mismatch", str(contact["id"]))]
    assert store.audit_report(since=marks).problem is not None


# Over HTTP ----------------------------------------------------------------------------------------

def test_staff_void_over_http_and_what_the_api_refuses(api):
    server, tokens, app = api.base, api.tokens, api.app
    write = tokens["write"]
    pid = call(server, "POST", "/api/people", write, API_PERSON)[1]["id"]
    status, added = call(server, "POST", f"/api/people/{pid}/observations", write, {
        "kind": "test_result", "value": "positive", "observed_at": "2026-11-28T08:00:00Z",
        "source": "city lab"})
    assert status == 201 and added["assessment"]["colour"] == "red"
    path = f"/api/people/{pid}/observations/{added['id']}/void"
    assert call(server, "POST", path, None, {"reason": "x"})[0] == 401
    assert call(server, "POST", path, tokens["read"], {"reason": "x"})[0] == 403
    assert call(server, "POST", path, write, {})[0] == 422
    assert call(server, "POST", path, write, {"reason": " "})[0] == 422
    for missing in (f"/api/people/{pid}/observations/{added['id'] + 1}/void",
                    f"/api/people/{pid}/observations/{1 << 64}/void",
                    f"/api/people/p-nobody/observations/{added['id']}/void"):
        assert call(server, "POST", missing, write, {"reason": "x"})[0] == 404
    status, done = call(server, "POST", path, write, {"reason": "sample swapped"})
    assert status == 200 and done["assessment"]["colour"] == "green"
    token_id = app.extensions["healthcode"].store.authenticate(write).id
    assert (done["void_reason"], done["voided_by"]) == ("sample swapped", token_id)
    trail = call(server, "GET", f"/api/people/{pid}/audit", tokens["read"])[1]
    assert trail["chain_ok"]
    assert [e["action"] for e in trail["entries"]][-2:] == ["observation.void", "colour.change"]


# The holder's pages ------------------------------------------------------------------------------

def _rows(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0] if f'id="{table}"' in html \
        else ""
    return re.findall(r"<tr data-kind.*?</tr>", body, re.S)


def test_the_holder_withdraws_a_declaration_from_my_data(v3_app):
    holder_app = v3_app
    service = holder_app.extensions["healthcode"]
    person = service.create_person(actor="clerk", **PERSON)
    other = service.create_person(actor="clerk", **{**PERSON, "id_number": "330106199003079999",
                                                    "phone": "+86 138 0571 9876"})
    staff = service.add_observation(person, actor="lab", kind="contact", value=False,
                                    observed_at=int(time.time()) - 60, source="tracing")["id"]
    theirs = service.add_observation(other, actor="lab", kind="contact", value=True,
                                     observed_at=int(time.time()) - 60, source="tracing")["id"]
    client, _ = enrol(holder_app, service, person)
    service.declare(person, [("symptoms", True)])
    declared = [o for o in service.store.observations(person) if o["kind"] == "symptoms"][0]
    page = client.get("/me/data", base_url=HTTPS).get_data(as_text=True)
    withdraw = f"/me/records/{declared['id']}/withdraw"
    assert withdraw in page and f"/me/records/{staff}/withdraw" not in page

    form = client.get(withdraw, base_url=HTTPS).get_data(as_text=True)
    assert 'data-colour="green"' in form and "your code becomes green, score 80" in form
    assert client.post(withdraw, base_url=HTTPS, data={"reason": "x"}).status_code == 400  # CSRF
    sent = client.post(withdraw, base_url=HTTPS, data={
        "csrf_token": page_csrf(client, withdraw), "reason": "ticked it by mistake"})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/me/data?withdrawn={declared['id']}#records")
    assert service.assess(person).colour.value == "green"

    page = client.get(sent.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "Withdrawn: it no longer counts toward your code." in page
    voided, = _rows(page, "voided-observations")
    assert "<del>" in voided and "By: You" in voided and "ticked it by mistake" in voided
    assert not [row for row in _rows(page, "observations") if 'data-kind="symptoms"' in row]

    issued_by_staff = client.get(f"/me/records/{staff}/withdraw", base_url=HTTPS)
    assert "only what you declared yourself" in issued_by_staff.get_data(as_text=True)
    refused = client.post(f"/me/records/{staff}/withdraw", base_url=HTTPS, data={
        "csrf_token": page_csrf(client, withdraw)})
    assert refused.status_code == 409 and b'data-problem="not_own_declaration"' in refused.data
    for nobody in (theirs, 1 << 64):
        gone = client.post(f"/me/records/{nobody}/withdraw", base_url=HTTPS,
                           data={"csrf_token": page_csrf(client, withdraw)})
        assert gone.status_code == 302 and "/me/data" in gone.headers["Location"]
    assert service.store.observations(other)[0]["voided_at"] is None
    assert service.verify_audit()[1] is None
