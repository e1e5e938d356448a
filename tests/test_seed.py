"""The benchmark's bulk seeding (bench/seed.py) writes people the issuer can use: it reads and
assesses each of them, re-issues to all of them with the real CLI, and the audit log and the
tables agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import TEST_PASSPHRASE
from sqlalchemy import func, select

from bench import canon
from bench.seed import ACTOR, NotEmpty, seed
from bench.synthetic import ID_SPACE, resident
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.store import audit
from issuer.store.audit_tables import row_mac
from issuer.store.db import AuditEntry, CredentialRecord, LogLeaf, Observation, Person
from issuer.store.pii import DataKeys

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
PEOPLE = 50


@pytest.fixture
def seeded(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "home")
    now = int(time.time())  # the CLI re-issues at the clock's time: the week must be current
    init_home(home, now=now)
    service = IssuerService.open(home, database_url=db_url)
    done = seed(service.store, PEOPLE, now=now, chunk=7, rng=random.Random(1))
    yield service, done, now
    service.close()


def test_everyone_seeded_is_readable_assessed_reissued_and_logged(seeded, db_url):
    service, done, now = seeded
    assert (done.people, done.observations, done.organisations) == (PEOPLE, 28 * PEOPLE, 1)
    people = service.store.person_ids()
    expected = [resident(n) for n in range(PEOPLE)]
    read = [service.store.get_person(person) for person in people]
    assert sorted(p["name"] for p in read) == sorted(r.name for r in expected)
    assert sorted(p["id_number"] for p in read) == sorted(r.id_number for r in expected)
    assert all(p["phone"].startswith("+861") and len(p["phone"]) == 14 for p in read)
    assert service.store.find_person(expected[7].id_number) is not None
    for person in people:
        assert len(service.store.observations(person, since=now - service.policy.lookback)) == 28
        assessment = service.assess(person, now=now)
        assert assessment.colour.value == "green"
        weighed = {c.factor for c in assessment.contributions if c.kind.value == "factor"}
        assert weighed == {"steps", "sleep_hours", "alcohol_ml", "cigarettes"}
    _enrolments_share_times_and_weeks_are_spread(service, now)
    _the_service_would_have_written_the_same_week(service, now)
    with pytest.raises(NotEmpty):
        seed(service.store, 1)

    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE, "HEALTHCODE_DATABASE_URL": db_url}
    result = subprocess.run([CLI, "reissue", "--all", "--log", "--home",
                             str(service.home.root)], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    everyone = PEOPLE + 1  # and the twin
    assert f"done: {everyone} credentials issued" in result.stdout.splitlines()[-1]
    with service.store.reading() as session:
        issued = Counter(session.scalars(select(CredentialRecord.person_id)))
    assert issued == Counter(service.store.person_ids())
    report = service.audit_report()
    assert report.ok, report.problem
    with service.store.reading() as session:  # the seed writes no leaves; the re-issue does
        leaves = session.scalar(select(func.count()).select_from(LogLeaf))
    assert leaves >= everyone  # a credential.issue each, and the colour changes
    assert report.tables.checked == {"person": everyone, "observation": 28 * everyone,
                                     "credential": everyone, "log_leaf": leaves}


def _enrolments_share_times_and_weeks_are_spread(service: IssuerService, now: int) -> None:
    with service.store.reading() as session:
        created = list(session.scalars(select(Person.created_at)))
        first = session.scalar(select(Person.id).order_by(Person.id).limit(1))
        ids = sorted(session.scalars(select(Observation.id)
                                     .where(Observation.person_id == first)))
        actors = set(session.scalars(select(AuditEntry.actor)))
    assert len(set(created)) < len(created) / 5, "20 enrolments a second share a created_at"
    assert max(created) <= now - 7 * 86_400, "enrolled before the week began"
    assert len(ids) == 28 and ids[-1] - ids[0] >= 6 * 4 * PEOPLE, "the days lie apart"
    assert actors == {ACTOR}


def _the_service_would_have_written_the_same_week(service: IssuerService, now: int) -> None:
    """One person's week added again through the service: the same stored values, and no
    colour change logged (everyone stays green)."""
    person = service.store.person_ids()[0]
    twin = service.create_person(actor="test", name="双胞胎", id_number="330106199001011234",
                                 phone="138 0000 0000", organisation="x", now=now)
    for row in service.store.observations(person):
        service.add_observation(twin, actor="test", kind=row["kind"], value=row["value"],
                                observed_at=row["observed_at"], source=row["source"], now=now)
    columns = (Observation.kind, Observation.value_json, Observation.observed_at,
               Observation.source)
    with service.store.reading() as session:
        week, again = (sorted(session.execute(select(*columns)
                                              .where(Observation.person_id == who)))
                       for who in (person, twin))
        changes = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "colour.change"))
    assert again == week and changes == 0


@pytest.mark.parametrize("text", ["plain", 'a "quoted" \\ back\nslash', "华为运动健康",
                                  "\u2028 \x00 \U0001f600"])
def test_the_hand_written_json_is_the_stores(text):
    keys = DataKeys.generate()
    row = {"id": 12, "person_id": "p-abc_DEF-123", "kind": text, "value_json": f'"{text}"',
           "observed_at": 5, "source": text, "recorded_at": 6, "recorded_by": text}
    mac = canon.ObservationMac(keys)
    assert mac(row) == mac(row, check=True) == row_mac(keys, "observation", row)
    details = canon.observation_details(row, "ab" * 16, check=True)
    fields = (3, 4, text, "p-x", text, text, details, "0" * 64)
    assert canon.entry_hash(*fields, check=True) == audit.entry_hash(
        **dict(zip(("seq", "at", "actor", "person_id", "action", "reason", "details_json",
                    "prev_hash"), fields, strict=True)))


def test_a_drifted_form_stops_the_seeder(monkeypatch):
    monkeypatch.setattr(canon, "_text", lambda value: f'"{value}"')  # no escaping
    with pytest.raises(canon.Drift):
        canon.observation_details({"id": 1, "kind": 'a"b', "observed_at": 2, "source": "s"},
                                  "00", check=True)


def test_identities_are_distinct_and_valid():
    numbers = [0, 1, 2, 999, 1000, 12_000_000, ID_SPACE - 1]
    people = [resident(n) for n in numbers]
    assert len({p.id_number for p in people}) == len(numbers)
    for person in people:
        body, check = person.id_number[:17], person.id_number[17]
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
        assert "10X98765432"[total % 11] == check
    with pytest.raises(ValueError):
        resident(ID_SPACE)
