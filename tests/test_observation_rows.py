"""Observations read back for scoring: Store.observation_rows_of (plain tuples, on SQLite and
PostgreSQL), json_value (the same as json.loads, faster), and stored rows scored without being
checked again while what people declare still is."""

from __future__ import annotations

import json

import pytest
from conftest import DAY, NOW
from hypothesis import given
from hypothesis import strategies as st

from issuer.keys.keystore import init_home, load_signing_key
from issuer.policy import DEFAULT_POLICY, Kind, Observation, ObservationError, load_policy
from issuer.service.issuance import IssuerService
from issuer.store.observation_store import json_value

WEEK = [("steps", 15_000), ("sleep_hours", 7.5), ("alcohol_ml", 0.1), ("cigarettes", 3),
        ("test_result", "negative"), ("contact", False), ("symptoms", True),
        ("travel", "HUBEI-WUHAN")]


def enrol(store, n: int) -> str:
    return store.create_person(f"Person {n}", f"ID{n:010d}", "+86 137 0000 0001", "Org",
                               actor="test", now=NOW)


def test_observation_rows_of_gives_plain_rows_oldest_first(store):
    people = [enrol(store, n) for n in range(3)]
    first, second, nobody = people
    for age, (kind, value) in enumerate(WEEK):  # recorded newest first
        store.add_observation(first, kind, value, NOW - age * DAY, "test", actor="test")
    store.add_observation(second, "steps", 4_000, NOW - 9 * DAY, "test", actor="test")
    store.add_observation(second, "steps", 9_000, NOW - DAY, "test", actor="test")
    store.add_observation(second, "sleep_hours", 8.0, NOW - DAY, "test", actor="test")
    with store.reading() as session:
        rows = store.observation_rows_of(session, people)
        recent = store.observation_rows_of(session, people, since=NOW - 8 * DAY)
        dicts = store.observations_of(session, people)
    assert rows[first] == [(kind, value, NOW - age * DAY)
                           for age, (kind, value) in reversed(list(enumerate(WEEK)))]
    assert [type(value) for _, value, _ in rows[first]] == \
        [type(value) for _, value in reversed(WEEK)]  # 7.5 a float, True a bool, …
    assert rows[second] == [("steps", 4_000, NOW - 9 * DAY), ("steps", 9_000, NOW - DAY),
                            ("sleep_hours", 8.0, NOW - DAY)]  # equal times: as recorded
    assert recent[second] == rows[second][1:]
    assert rows[nobody] == recent[nobody] == []
    for person in people:  # the same as the dicts, fewer columns
        assert rows[person] == [(o["kind"], o["value"], o["observed_at"]) for o in dicts[person]]
    assert all(kind == Kind(kind) for kind, _, _ in rows[first])


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)
#: Texts near the fast paths: numbers with leading zeros, signs, exponents; strings with
#: escapes, quotes and control characters; what is not JSON at all.
NEAR = st.text(alphabet='0123456789.-+eE"\\ truefalsn\t\u00e9', max_size=8)


def _loaded(text: str) -> object:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return type(exc)
    return type(value), value


def _read(text: str) -> object:
    try:
        value = json_value(text)
    except ValueError as exc:
        return type(exc)
    return type(value), value


@given(value=JSON)
def test_json_value_reads_what_json_dumps_wrote(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert _read(text) == _loaded(text)


@given(text=st.one_of(NEAR, st.text(max_size=8)))
def test_json_value_is_json_loads_on_any_text(text):
    assert _read(text) == _loaded(text)


@pytest.fixture
def service(store, store_home) -> IssuerService:
    """An issuer over the ``store`` fixture (each backend), scoring under the demo policy."""
    init_home(store_home, now=NOW)
    key, config, _ = load_signing_key(store_home)
    return IssuerService(store_home, store, key, config, load_policy(DEFAULT_POLICY))


def test_stored_rows_are_scored_without_being_checked_again(service):
    """A row today's checks would refuse (as if a bound had been tightened since it was
    recorded) still scores: stored history is read, not re-judged."""
    person = enrol(service.store, 1)
    service.store.add_observation(person, "steps", 250_000, NOW - DAY, "test", actor="test")
    with pytest.raises(ObservationError):
        Observation("steps", 250_000, NOW - DAY, "test")
    assert service.assess(person, NOW).score == 85  # 80 + 5 for the steps
    assert service.outlook(person, NOW).score == 85
    with service.store.reading() as session:
        rows = service.store.observation_rows_of(session, [person], since=NOW - 7 * DAY)
    assert service.policy.score_fast(rows[person], NOW) == (85, service.policy.colour_for(85))


def test_what_people_declare_is_still_checked(service):
    person = enrol(service.store, 1)
    with pytest.raises(ObservationError) as caught:
        service.preview(person, [("steps", 250_000)], NOW)
    assert caught.value.field == "value"
    assert service.preview(person, [("steps", 15_000)], NOW).score == 85


def test_stored_observation_is_not_checked_but_its_kind_is_a_kind():
    stored = Observation.stored("sleep_hours", 30, NOW, "test")
    assert (stored.kind, stored.value) == (Kind.SLEEP_HOURS, 30)
    assert stored == Observation.stored(Kind.SLEEP_HOURS, 30, NOW, "test")
    assert Observation.stored("steps", 15_000, NOW, "x") == Observation("steps", 15_000, NOW, "x")
    with pytest.raises(ObservationError):
        Observation.stored("weather", 1, NOW, "test")
