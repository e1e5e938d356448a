"""Retention (issuer/service/retention.py, issuer/store/purge.py), on a clock moved forward,
on SQLite and PostgreSQL: the purge deletes exactly what policy version 3's [retention] table
says (records 30 days after they stop counting, codes 30 days after they expire, decided
appeals 365 days after the decision; a record an appeal still speaks of stays with it), each
batch one audit entry with its cutoffs and counts and no values; `audit verify` still passes,
in full and from a checkpoint, and a row deleted behind the log's back is still found."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE
from sqlalchemy import text
from test_audit import PERSON, tamper
from test_holder import HTTPS, enrol

from issuer.keys.home import PASSPHRASE_ENV
from issuer.service import appeals, retention
from issuer.store.purge import ACTION

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
#: The purge runs 60 days after the history began.
THEN = NOW + 60 * DAY


@pytest.fixture
def service(v3_service):
    return v3_service


def _history(service) -> dict[str, object]:
    """A person's two months: records that fall due and records that do not, codes, appeals."""
    person = service.create_person(actor="clerk", now=NOW - DAY, **PERSON)

    def record(kind, value, at):
        return service.add_observation(person, actor="lab", kind=kind, value=value,
                                       observed_at=at, source="lab", now=at)["id"]

    ids = {
        "old_steps": record("steps", 9000, NOW),  # counts 7 days: due at NOW + 37 days
        "new_steps": record("steps", 9000, THEN - 20 * DAY),  # due at THEN + 17 days
        "old_test": record("test_result", "negative", NOW + DAY),  # 14 + 30: due at NOW + 45
        "contested": record("contact", True, NOW + DAY),  # due, but an appeal speaks of it
        "appealed_old": record("symptoms", True, NOW),  # due; its appeal decided long ago
    }
    ids["old_code"] = service.issue(person, actor="clerk", now=NOW + DAY, ttl=DAY)["cti"]
    ids["revoked_code"] = service.issue(person, actor="clerk", now=NOW + DAY, ttl=DAY)["cti"]
    service.store.revoke(ids["revoked_code"], actor="clerk", reason="lost", now=NOW + DAY + 5)
    ids["new_code"] = service.issue(person, actor="clerk", now=THEN - 10 * DAY, ttl=DAY)["cti"]
    ids["open_appeal"] = appeals.open_appeal(service, person, observation_id=ids["contested"],
                                             reason="not me", now=NOW + 2 * DAY)["id"]
    ids["person"] = person
    return ids


def _decided_long_ago(service, ids) -> str:
    """An appeal decided 400 days before THEN (its record voided then): both due."""
    sent = appeals.open_appeal(service, ids["person"], observation_id=ids["appealed_old"],
                               reason="never had symptoms", now=NOW + 3 * DAY)
    appeals.decide(service, sent["id"], upheld=False, reason="no", actor="t-r",
                   now=NOW + 3 * DAY + 60)
    with service.store.engine.begin() as connection:  # as if decided 400 days ago
        connection.execute(text("UPDATE appeal SET decided_at = :at WHERE id = :id"),
                           {"at": THEN - 400 * DAY, "id": sent["id"]})
    return sent["id"]


def _ids(service, person) -> tuple[set[int], set[str], set[str]]:
    observations = {o["id"] for o in service.store.observations(person, voided=True)}
    codes = {c["cti"] for c in service.store.credentials(person)}
    appeal_ids = {a["id"] for a in service.store.appeals_of(person)}
    return observations, codes, appeal_ids


def test_the_purge_deletes_what_is_due_and_audits_it(service):
    ids = _history(service)
    old_appeal = _decided_long_ago(service, ids)
    marks = service.audit_report().marks
    assert marks is not None
    went = retention.purge(service, now=THEN, batch=2)  # several batches, each its entry
    assert went == {"observations": 3, "credentials": 2, "appeals": 1}
    observations, codes, appeal_ids = _ids(service, ids["person"])
    assert observations == {ids["new_steps"], ids["contested"]}
    assert codes == {ids["new_code"]}
    assert appeal_ids == {ids["open_appeal"]}
    assert old_appeal not in appeal_ids
    entries = _purge_entries(service)
    assert sum(e["details"]["deleted"]["observations"] for e in entries) == 3
    assert all(e["person_id"] is None and e["actor"] == retention.ACTOR for e in entries)
    # Batches of 2 of each table: 2 observations, 2 codes and the appeal; then the last record
    # (its appeal gone with the first batch).
    assert [e["details"]["deleted"] for e in entries] == [
        {"observations": 2, "credentials": 2, "appeals": 1},
        {"observations": 1, "credentials": 0, "appeals": 0}]
    logged = json.dumps(entries)
    assert "negative" not in logged and "9000" not in logged and PERSON["name"] not in logged
    # The log still accounts for every row: in full, and from the checkpoint before the purge.
    assert service.verify_audit()[1] is None
    assert service.audit_report(since=marks).ok
    # Nothing more is due: a second purge deletes nothing and writes nothing.
    before = len(_purge_entries(service))
    assert retention.purge(service, now=THEN) == {"observations": 0, "credentials": 0,
                                                  "appeals": 0}
    assert len(_purge_entries(service)) == before


def _purge_entries(service) -> list[dict]:
    with service.store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT seq, actor, person_id, details_json FROM audit_entry "
            "WHERE action = :action ORDER BY seq"), {"action": ACTION}).all()
    return [{"seq": s, "actor": a, "person_id": p, "details": json.loads(d)}
            for s, a, p, d in rows]


@pytest.mark.parametrize(("what", "statement", "code"), [
    ("a record not yet due", "DELETE FROM observation WHERE kind = 'steps' "
                             "AND observed_at > {then} - 30 * 86400", "observation_missing"),
    ("a code not yet expired", "DELETE FROM credential WHERE exp > {then} - 30 * 86400",
     "credential_missing"),
])
def test_a_row_deleted_behind_the_log_is_still_found_after_a_purge(service, what, statement,
                                                                    code):
    _history(service)
    retention.purge(service, now=THEN)
    assert service.verify_audit()[1] is None
    tamper(service.store, statement.format(then=THEN))
    report = service.audit_report()
    assert not report.ok and {m.code for m in report.tables.mismatches} == {code}, what


def test_an_unexpired_revoked_code_deleted_is_still_a_revocation_mismatch(service):
    ids = _history(service)
    late = service.issue(ids["person"], actor="clerk", now=THEN - DAY, ttl=30 * DAY)["cti"]
    service.store.revoke(late, actor="clerk", reason="lost", now=THEN - DAY + 5)
    retention.purge(service, now=THEN)
    assert service.verify_audit()[1] is None
    # Deleting it would drop it from the revocation list: it would verify again.
    tamper(service.store, f"DELETE FROM credential WHERE cti = '{late}'")
    codes = {m.code for m in service.audit_report().tables.mismatches}
    assert codes == {"credential_missing"}


def test_an_older_policy_keeps_everything(v2_service):
    ids = _history(v2_service)
    assert retention.purge(v2_service, now=THEN + 999 * DAY) == {
        "observations": 0, "credentials": 0, "appeals": 0}
    assert len(_ids(v2_service, ids["person"])[0]) == 5
    assert retention.summary(v2_service.policy)["deleted_automatically"] is False


def test_the_cli_and_the_running_service_purge_on_the_real_clock(service, db_url):
    now = int(time.time())
    person = service.create_person(actor="clerk", now=now - 90 * DAY, **PERSON)
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=now - 80 * DAY, source="lab", now=now - 80 * DAY)
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=now - 70 * DAY, source="lab", now=now - 70 * DAY)
    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE, "HEALTHCODE_POLICY": "hangzhou-2020-v3",
           "HEALTHCODE_DATABASE_URL": service.store.engine.url.render_as_string(
               hide_password=False)}
    # The CLI purges one of them now (a batch is all of them: both go at once)...
    done = subprocess.run([CLI, "purge", "--home", str(service.home.root)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "purged: 2 observations, 0 credentials, 0 appeals"
    # ... and the running service's daily purge finds the next one when it falls due.
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=now - 60 * DAY, source="lab", now=now - 60 * DAY)
    daily = retention.DailyPurge(service, every=3600, first=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while service.store.observations(person) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daily.stop()
    assert service.store.observations(person) == []
    assert service.verify_audit()[1] is None
    v2 = subprocess.run([CLI, "purge", "--home", str(service.home.root)],
                        env={**env, "HEALTHCODE_POLICY": "hangzhou-2020-v2"},
                        capture_output=True, text=True, timeout=120)
    assert v2.returncode == 0 and "keeps everything" in v2.stdout


def test_my_data_says_how_long_each_thing_is_kept(v3_app):
    service = v3_app.extensions["healthcode"]
    person = service.create_person(actor="clerk", **PERSON)
    client, _ = enrol(v3_app, service, person)
    data = client.get("/me/data.json", base_url=HTTPS).json
    assert data["retention"]["deleted_automatically"] is True
    assert data["retention"]["kept_days"] == {"observation": 30, "credential": 30,
                                              "appeal": 365, "audit": 3650}
    page = client.get("/me/data", base_url=HTTPS).get_data(as_text=True)
    kept = page.split('id="kept"', 1)[1].split("</dl>", 1)[0]
    held = re.findall(r'data-held="(\w+)"><dt>[^<]+</dt>\s*<dd>[^<]+</dd>\s*'
                      r'<dd class="how-long">([^<]+)</dd>', kept)
    assert dict(held) == {  # every kind of thing held: why (a line each), and how long
        "identity": "Until you are erased",
        "observation": "30 days after it stops counting toward your code",
        "credential": "30 days after it expires", "appeal": "365 days after the decision",
        "phone": "Until you bind another phone, or are erased", "audit": "10 years"}
    assert "deleted automatically, every day" in page and 'id="erasure"' in page
