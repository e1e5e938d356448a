"""The repository: round trips, one audit entry per write, all-or-nothing writes, ranking."""

import json
import secrets
from enum import StrEnum

import pytest
from conftest import DAY, NOW
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from issuer.store import Store
from issuer.store.db import AuditEntry, Conflict, NotFound, Organisation, Person
from issuer.store.people import new_person_id

ZHANG = {"name": "Zhang Wei", "id_number": "330106199003071234", "phone": "+86 138 0571 2233",
         "organisation": "West Lake Clinic"}
LI = {"name": "Li Na", "id_number": "33010619851111567X", "phone": "+86 139 0571 4455",
      "organisation": "West Lake Clinic"}


class Kind(StrEnum):  # stands in for issuer.observations.Kind: the store takes any str enum
    TEST_RESULT = "test_result"


def enrol(store: Store, person=None, **changes) -> str:
    fields = {**(person or ZHANG), **changes}
    return store.create_person(**fields, actor="clerk", reason="enrolment", now=NOW)


def counts(store: Store) -> dict[str, int]:
    with Session(store.engine) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Person, Organisation, AuditEntry)}


def issue(store: Store, person_id: str, score: int, iat: int = NOW, **extra) -> dict:
    return store.record_credential(
        person_id, cti=extra.pop("cti", secrets.token_hex(12)), text="HCC1:TEST",
        colour="green" if score >= 70 else "red", score=score, policy_id="hangzhou-2020",
        policy_digest=bytes(8), iat=iat, exp=iat + DAY, actor="issuer", **extra)


def test_person_round_trip(store):
    person_id = enrol(store)
    assert person_id.startswith("p-") and len(person_id) == 14
    assert store.get_person(person_id) == {"id": person_id, **ZHANG, "created_at": NOW,
                                           "phone": "+8613805712233"}  # kept in E.164
    assert store.person_ids() == [person_id]
    assert enrol(store, LI) != person_id


def test_person_ids_are_random():
    ids = {new_person_id() for _ in range(1000)}
    assert len(ids) == 1000


@pytest.mark.parametrize("variant", ["330106199003071234", " 330106 19900307 1234 ",
                                     "３３０１０６１９９００３０７１２３４"])
def test_duplicate_id_number_writes_nothing(store, variant):
    enrol(store)
    before = counts(store)
    with pytest.raises(Conflict) as caught:
        enrol(store, LI, id_number=variant, organisation="A New Organisation")
    assert caught.value.field == "id_number"
    assert counts(store) == before  # no person, no organisation, no audit entry
    assert store.verify_audit() == (before["audit_entry"], None)


def test_duplicate_enrolled_concurrently_writes_nothing(store, monkeypatch):
    """The check-then-insert race: the unique index stops the second, as a Conflict."""
    enrol(store)
    before = counts(store)
    monkeypatch.setattr(Store, "_find", lambda self, session, id_number: None)
    with pytest.raises(Conflict) as caught:
        enrol(store, LI, id_number=ZHANG["id_number"], organisation="A New Organisation")
    assert caught.value.field == "id_number"
    assert counts(store) == before


def test_unknown_person(store):
    with pytest.raises(NotFound):
        store.get_person("p-nobody")
    with pytest.raises(NotFound):
        store.observations("p-nobody")
    with pytest.raises(NotFound):
        store.add_observation("p-nobody", "test_result", "negative", NOW, "lab", actor="lab")
    with pytest.raises(NotFound):
        issue(store, "p-nobody", 90)
    assert counts(store)["audit_entry"] == 0
    assert store.find_person("330106199003071234") is None


def test_observations_round_trip(store):
    person_id = enrol(store)
    values = [("test_result", "negative"), (Kind.TEST_RESULT, "positive"), ("steps", 12000),
              ("sleep_hours", 7.5), ("contact", True), ("travel", {"region": "HUBEI-WUHAN"})]
    added = [store.add_observation(person_id, kind, value, NOW - 10 * i, "city lab",
                                   actor="lab-7", now=NOW + i)
             for i, (kind, value) in enumerate(values)]
    assert added[1]["kind"] == "test_result"
    stored = store.observations(person_id)
    assert stored == sorted(added, key=lambda o: o["observed_at"])  # oldest first
    assert stored[-1] == {"id": added[0]["id"], "kind": "test_result", "value": "negative",
                          "observed_at": NOW, "source": "city lab", "recorded_at": NOW,
                          "recorded_by": "lab-7", "voided_at": None, "voided_by": None,
                          "void_reason": None}
    assert store.observations(enrol(store, LI)) == []


def test_non_json_value_writes_nothing(store):
    person_id = enrol(store)
    before = counts(store)
    with pytest.raises(ValueError):
        store.add_observation(person_id, "sleep_hours", float("nan"), NOW, "lab", actor="lab")
    assert counts(store) == before and store.observations(person_id) == []


def test_every_write_leaves_one_audit_entry(store):
    person_id = enrol(store)
    store.add_observation(person_id, "test_result", "negative", NOW, "city lab",
                          actor="lab-7", reason="PCR result", now=NOW + 1)
    issued = issue(store, person_id, 90, iat=NOW + 2, now=NOW + 2)
    entries = store.audit_entries(person_id)
    assert [(e["seq"], e["actor"], e["action"], e["reason"]) for e in entries] == [
        (1, "clerk", "person.create", "enrolment"),
        (2, "lab-7", "observation.add", "PCR result"),
        (3, "issuer", "credential.issue", "credential issued")]
    assert entries[2]["details"]["cti"] == issued["cti"]
    assert store.audit_entries(enrol(store, LI)) == [
        {"seq": 4, "at": NOW, "actor": "clerk", "action": "person.create",
         "reason": "enrolment", "details": {"organisation": "West Lake Clinic"}}]
    assert store.verify_audit() == (4, None)


def test_audit_log_holds_no_personal_or_health_values(store):
    person_id = enrol(store)
    store.add_observation(person_id, "travel", "HUBEI-WUHAN", NOW, "rail", actor="rail")
    issue(store, person_id, 37)
    with Session(store.engine) as session:
        entries = list(session.scalars(select(AuditEntry)))
    logged = " ".join(f"{e.actor} {e.action} {e.reason} {e.details_json}" for e in entries)
    for value in (ZHANG["name"], ZHANG["id_number"], ZHANG["phone"], "HUBEI-WUHAN"):
        assert value not in logged
    details = [value for e in entries for value in json.loads(e.details_json).values()]
    assert 37 not in details and "red" not in details


def test_credential_round_trip_and_conflicts(store):
    person_id = enrol(store)
    record = issue(store, person_id, 87, cti=bytes(range(12)))
    assert record["cti"] == bytes(range(12)).hex()
    assert store.credential(bytes(range(12))) == record
    assert store.credential(record["cti"].upper()) == record
    assert record["policy_digest"] == "00" * 8
    assert (record["colour"], record["score"], record["issued_by"]) == ("green", 87, "issuer")
    before = counts(store)
    with pytest.raises(Conflict) as caught:
        issue(store, person_id, 50, cti=bytes(range(12)))
    assert caught.value.field == "cti"
    with pytest.raises(NotFound):
        store.credential(bytes(12))
    assert counts(store) == before


@pytest.mark.parametrize("bad", [{"colour": "blue"}, {"score": 101}, {"score": -1},
                                 {"exp": NOW}, {"cti": "not hex"}])
def test_invalid_credential_writes_nothing(store, bad):
    person_id = enrol(store)
    before = counts(store)
    fields = {"cti": "ab" * 12, "text": "HCC1:X", "colour": "green", "score": 80,
              "policy_id": "p", "policy_digest": "00" * 8, "iat": NOW, "exp": NOW + DAY} | bad
    with pytest.raises(ValueError):
        store.record_credential(person_id, **fields, actor="issuer")
    assert counts(store) == before and store.credentials(person_id) == []


def test_reissue_run_issues_once_per_person(store):
    people = [enrol(store), enrol(store, LI)]
    run = store.start_reissue_run(actor="ops", reason="policy v2", now=NOW)
    for person_id in people:
        issue(store, person_id, 80, run_id=run)
    before = counts(store)
    with pytest.raises(Conflict) as caught:  # a resumed run must skip who it already did
        issue(store, people[0], 81, iat=NOW + 1, run_id=run)
    assert caught.value.field == "run_id"
    assert counts(store) == before
    issue(store, people[0], 82, iat=NOW + 2)  # outside runs there is no such limit
    store.finish_reissue_run(run, actor="ops", now=NOW + 5)
    with pytest.raises(NotFound):
        issue(store, people[0], 83, run_id=run + 1)
    with pytest.raises(ValueError):
        store.finish_reissue_run(run, "paused", actor="ops")
    assert [c["score"] for c in store.credentials(people[0])] == [82, 80]


def test_ranking_uses_latest_scores_and_hides_small_organisations(store):
    def member(org: str, i: int, *scores: int) -> None:
        person_id = enrol(store, name=f"{org} {i}", id_number=f"{org[:3].upper()}{i:08d}",
                          organisation=org)
        for n, score in enumerate(scores):
            issue(store, person_id, score, iat=NOW + n * 60)

    for i, score in enumerate([90, 80, 70]):
        member("Big Factory", i, score)
    member("Big Factory", 3, 10, 20, 100)  # only the latest, 100, counts
    for i, score in enumerate([95, 85]):
        member("Small Office", i, score)
    for i in range(3):  # three members, but only one has a score: that would reveal it
        member("Quiet Shop", i, *([99] if i == 0 else []))
    for i in range(4):
        member("Even Lab", i, 85)

    assert store.ranking(3) == [
        {"organisation": "Big Factory", "members": 4, "mean_score": 85.0},
        {"organisation": "Even Lab", "members": 4, "mean_score": 85.0},
    ]
    assert [r["organisation"] for r in store.ranking(2)] == [
        "Small Office", "Big Factory", "Even Lab"]
    assert store.ranking(5) == []
    assert {"organisation", "members", "mean_score"} == set(store.ranking(1)[0])
    with pytest.raises(ValueError):
        store.ranking(0)


def test_ranking_mean_is_rounded(store):
    for i, score in enumerate([90, 90, 91]):
        person_id = enrol(store, name=f"P {i}", id_number=f"R{i:08d}")
        issue(store, person_id, score)
    assert store.ranking(3) == [
        {"organisation": "West Lake Clinic", "members": 3, "mean_score": 90.3}]


def test_open_defaults_to_sqlite_in_home(store_home, data_keys, monkeypatch):
    monkeypatch.delenv("HEALTHCODE_DATABASE_URL", raising=False)
    with Store.open(store_home, data_keys=data_keys) as store:
        enrol(store)
    assert store_home.database.exists()
    monkeypatch.setenv("HEALTHCODE_HOME", str(store_home.root))
    with Store.open(data_keys=data_keys) as store:
        assert len(store.person_ids()) == 1


def test_reads_do_not_wait_for_a_writer(store):
    """SQLite: a read-only transaction proceeds while another transaction holds the write
    lock (WAL, BEGIN DEFERRED); PostgreSQL: MVCC."""
    person_id = enrol(store)
    with store.writing() as session:
        # The write transaction has begun (SQLite: BEGIN IMMEDIATE, lock held) and stays open.
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
        assert store.get_person(person_id)["name"] == ZHANG["name"]
        assert store.verify_audit() == (audit_before, None)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_reading_sessions_cannot_write(store):
    """Read paths run READ ONLY on PostgreSQL: a write sneaking into one fails."""
    with pytest.raises(DBAPIError), store.reading() as session:
        session.add(Organisation(name="sneaky", created_at=NOW))
        session.flush()
    assert counts(store)["organisation"] == 0
    enrol(store)  # writers are unaffected
    assert counts(store)["organisation"] == 1
