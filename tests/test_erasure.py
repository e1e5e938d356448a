"""Erasure (issuer/store/erasure.py) on SQLite and PostgreSQL: each person's fields under a
key of their own; erasing them deletes that key and their records, appeals, phones and links,
revokes their codes, and leaves no personal string or key byte in the database, while
`audit verify` still passes (and still finds rows deleted behind the log's back)."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import DAY, NOW, TEST_PASSPHRASE
from PIL import Image
from sqlalchemy import inspect, select, text
from test_audit import tamper
from test_holder import HTTPS, enrol

from issuer.keys.home import PASSPHRASE_ENV
from issuer.service import appeals
from issuer.service.reissue import open_run, run_batches
from issuer.store import Store
from issuer.store.db import Erased, Person
from issuer.store.people import COLUMNS
from issuer.store.pii import DecryptionError

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
#: Distinctive values, to look for byte by byte afterwards.
WHO = {"name": "欧阳娜娜", "id_number": "33010619850312417X", "phone": "+8613912345678"}
APPEAL_WORDS = "The swab was mislabelled at the Xihu station"


@pytest.fixture
def service(v3_service):
    return v3_service


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _history(service, who=WHO, at=NOW) -> str:
    """A person with records, an appeal with a photo, and two codes, up to ``at``."""
    person = service.create_person(actor="clerk", organisation="Xihu", now=at - DAY, **who)
    test = service.add_observation(person, actor="lab", kind="test_result", value="positive",
                                   observed_at=at - 3600, source="lab", now=at - 3600)
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=at - 7200, source="watch", now=at - 7200)
    appeals.open_appeal(service, person, observation_id=test["id"], reason=APPEAL_WORDS,
                        attachment=_photo(), now=at - 60)
    service.issue(person, actor="clerk", now=at - 30, ttl=DAY)
    service.issue(person, actor="clerk", now=at - 20, ttl=DAY)
    return person


def _row(service, person) -> Person:
    with service.store.reading() as session:
        row = session.get(Person, person)
        session.expunge(row)
        return row


def _secrets(service, person) -> list[bytes]:
    """Every byte string that must not outlive the erasure: the personal values as text, and
    what the database holds of them (the wrapped key and the ciphertexts)."""
    row = _row(service, person)
    found = [value.encode() for value in WHO.values()] + [APPEAL_WORDS.encode()]
    found += [bytes(row.data_key), bytes(row.name_enc), bytes(row.id_number_enc),
              bytes(row.phone_enc), bytes(row.id_number_mac)]
    with service.store.engine.connect() as connection:
        found += [bytes(blob) for blob in connection.execute(text(
            "SELECT reason_enc FROM appeal WHERE person_id = :p"), {"p": person}).scalars()]
    return found


def _database_bytes(service) -> bytes:
    """Every value in every table, as bytes: a logical `strings` of the whole database."""
    engine, chunks = service.store.engine, []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\x00".join(chunks)


def test_a_person_s_fields_are_under_their_own_key(service):
    person = service.create_person(actor="clerk", organisation="Xihu", now=NOW, **WHO)
    row = _row(service, person)
    assert row.data_key is not None and row.name_enc[0] == 2
    with pytest.raises(DecryptionError):  # not under the data key itself
        service.store.data_keys.decrypt(COLUMNS["name"], person, row.name_enc)
    assert {k: service.store.get_person(person)[k] for k in WHO} == WHO


def test_people_enrolled_before_keys_get_theirs_when_the_store_opens(service, db_url):
    person = _history(service)
    keys = service.store.data_keys
    appeal = service.store.appeals_of(person)[0]["id"]
    with service.store.engine.begin() as connection:  # as written before migration 0012
        connection.execute(text("UPDATE appeal SET reason_enc = :r, attachment_enc = NULL, "
                                "attachment_type = NULL WHERE id = :id"),
                           {"id": appeal, "r": keys.encrypt("appeal.reason", appeal,
                                                            APPEAL_WORDS)})
        connection.execute(text(
            "UPDATE person SET data_key = NULL, name_enc = :n, id_number_enc = :i, "
            "phone_enc = :p WHERE id = :id"),
            {"id": person, **{k[0]: keys.encrypt(COLUMNS[f], person, WHO[f])
                              for k, f in (("n", "name"), ("i", "id_number"),
                                           ("p", "phone"))}})
    reopened = Store.open(service.home, db_url)
    try:
        row = _row(service, person)
        assert row.data_key is not None and row.name_enc[0] == 2
        assert {k: reopened.get_person(person)[k] for k in WHO} == WHO
        assert reopened.appeals_of(person)[0]["reason"] == APPEAL_WORDS
    finally:
        reopened.engine.dispose()


def test_erasure_leaves_the_pseudonym_revokes_the_codes_and_the_log_verifies(service):
    person = _history(service)
    other = service.create_person(actor="clerk", organisation="Xihu", now=NOW, name="李四",
                                  id_number="330106199001011234", phone="+8613700000099")
    codes = [c["cti"] for c in service.store.credentials(person)]
    went = service.store.erase_person(person, actor="t-admin", reason="holder's request",
                                      now=NOW)
    assert went == {"person": person, "erased_at": NOW, "observations": 2, "appeals": 1,
                    "revoked": 2, "credentials": 2, "devices": 0, "sessions": 0,
                    "enrolments": 0, "family_links": 0}
    with pytest.raises(Erased):
        service.store.get_person(person)
    with pytest.raises(Erased):
        service.store.observations(person)
    row = _row(service, person)
    assert (row.name_enc, row.id_number_enc, row.phone_enc, row.id_number_mac, row.phone_mac,
            row.data_key, row.erased_at) == (None, None, None, None, None, None, NOW)
    assert service.store.appeals_of(person) == []
    assert set(codes) <= set(service.store.revoked_unexpired(NOW))
    assert all(c["text"] == "" for c in service.store.credentials(person))
    entry = service.store.audit_entries(person)[-1]
    assert (entry["action"], entry["reason"]) == ("person.erase", "holder's request")
    assert service.store.get_person(other)["name"] == "李四"  # nobody else touched
    assert service.verify_audit()[1] is None
    assert service.audit_report().ok
    # Nor does a re-issue give them a code again.
    run = open_run(service, actor="test", now=NOW + 60)
    run_batches(service, run.run_id, actor="test", batch_size=5, clock=lambda: NOW + 60)
    assert len(service.store.credentials(person)) == 2
    assert len(service.store.credentials(other)) == 1


def test_erasure_leaves_no_personal_string_or_key_byte_in_the_database(service, db_url):
    person = _history(service)
    secrets = _secrets(service, person)
    before = _database_bytes(service)
    assert all(s in before for s in secrets[4:])  # the key and ciphertexts are there first
    assert not any(s in before for s in secrets[:4])  # and no value is ever in clear
    service.store.erase_person(person, actor="t-admin", reason="holder's request", now=NOW)
    after = _database_bytes(service)
    assert [s for s in secrets if s in after] == []


def test_the_sqlite_file_keeps_no_copy_of_the_key_or_the_fields(service, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the file of an SQLite database; PostgreSQL: docs/STORAGE.md, Erasure")
    person = _history(service)
    secrets = _secrets(service, person)
    files = [Path(db_url.removeprefix("sqlite:///") + suffix) for suffix in ("", "-wal")]

    def on_disk() -> bytes:
        return b"".join(f.read_bytes() for f in files if f.exists())

    assert secrets[4] in on_disk()  # the wrapped key is in the file (or its log) first
    service.store.erase_person(person, actor="t-admin", reason="holder's request", now=NOW)
    left = on_disk()
    assert [s for s in secrets if s in left] == []
    strings = subprocess.run(["strings", "-n", "6", *map(str, filter(Path.exists, files))],
                             capture_output=True, text=True, check=True).stdout
    assert WHO["id_number"] not in strings and WHO["phone"][1:] not in strings
    assert APPEAL_WORDS[:20] not in strings


def test_a_row_deleted_behind_the_log_is_still_found_after_an_erasure(service):
    person = _history(service)
    other = _history(service, {"name": "李四", "id_number": "330106199001011234",
                               "phone": "+8613700000099"})
    service.store.erase_person(person, actor="t-admin", reason="holder's request", now=NOW)
    assert service.audit_report().ok
    tamper(service.store, f"DELETE FROM appeal WHERE person_id = '{other}'",
           f"DELETE FROM observation WHERE person_id = '{other}' AND kind = 'steps'")
    codes = {m.code for m in service.audit_report().tables.mismatches}
    assert codes == {"observation_missing"}
    # And an erased person's cleared code text still may not be edited otherwise.
    tamper(service.store, f"UPDATE credential SET score = 1 WHERE person_id = '{person}'")
    codes = {m.code for m in service.audit_report().tables.mismatches}
    assert "credential_changed" in codes


def test_an_erased_person_takes_no_writes_and_may_enrol_again(service):
    person = _history(service)
    service.store.erase_person(person, actor="t-admin", reason="holder's request", now=NOW)
    with pytest.raises(Erased):
        service.add_observation(person, actor="lab", kind="steps", value=1, observed_at=NOW,
                                source="lab", now=NOW)
    with pytest.raises(Erased):
        service.store.erase_person(person, actor="t-admin", reason="again", now=NOW)
    with pytest.raises(ValueError):
        service.store.erase_person(_history(service, {**WHO, "phone": "+8613900000001"}),
                                   actor="t-admin", reason="  ", now=NOW)
    assert service.store.find_person(WHO["id_number"]) is not None  # the new enrolment


def test_erasing_a_holder_unbinds_the_phone_and_ends_the_sign_in(v3_app):
    service = v3_app.extensions["healthcode"]
    person = service.create_person(actor="clerk", organisation="Xihu", **WHO)
    client, _ = enrol(v3_app, service, person)
    assert client.get("/me/credential.json", base_url=HTTPS).status_code == 200
    went = service.store.erase_person(person, actor="t-admin", reason="holder's request")
    assert (went["devices"], went["sessions"]) == (1, 1)
    assert client.get("/me/credential.json", base_url=HTTPS).status_code in (401, 403)


def test_the_api_erases_with_an_admin_token_only(api):
    person = _history(api.service, at=int(time.time()))
    url = f"{api.base}/api/people/{person}/erase"
    for scope in ("read", "write", "review"):
        response = requests.post(url, json={"reason": "request"}, timeout=10,
                                 headers={"Authorization": f"Bearer {api.tokens[scope]}"})
        assert response.status_code == 403, scope
    admin = {"Authorization": f"Bearer {api.tokens['admin']}"}
    assert requests.post(url, json={}, headers=admin, timeout=10).status_code == 422
    response = requests.post(url, json={"reason": "holder's request"}, headers=admin,
                             timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["observations"] == 2 and response.json()["revoked"] == 2
    again = requests.post(url, json={"reason": "again"}, headers=admin, timeout=10)
    assert (again.status_code, again.json()["problem"]) == (410, "erased")
    gone = requests.get(f"{api.base}/api/people/{person}/assessment", headers=admin,
                        timeout=10)
    assert (gone.status_code, gone.json()["problem"]) == (410, "erased")


def test_the_cli_erases(service, db_url):
    person = _history(service, at=int(time.time()))
    env = {"PATH": "/usr/bin:/bin", PASSPHRASE_ENV: TEST_PASSPHRASE,
           "HEALTHCODE_DATABASE_URL": db_url, "HEALTHCODE_POLICY": "hangzhou-2020-v3"}
    command = [CLI, "erase", person, "--reason", "holder's request", "--yes", "--home",
               str(service.home.root)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"erased {person}: 2 observations, 1 appeals, 2 revoked")
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "erased already" in again.stderr
    with service.store.reading() as session:
        assert session.scalar(select(Person.erased_at).where(Person.id == person)) is not None


@pytest.mark.parametrize("write", ["observation", "code", "reissue"])
def test_a_write_racing_an_erasure_waits_for_it_and_stores_nothing(service, db_url, write):
    """PostgreSQL: a write that reads the person while their erasure is in progress (the row
    held FOR UPDATE, not yet committed) waits for it, then sees them erased: nothing is stored
    about them after their erasure (a code issued then would be valid, and never revoked)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time: there is no race")
    person = _history(service)
    others = [_history(service, {"name": "李四", "id_number": f"33010619900101{n:04d}",
                                 "phone": f"+86137000001{n:02d}"}) for n in range(2)]
    before = len(service.store.credentials(person))
    erasing = service.store.engine.connect()  # an erasure in progress, as erase_person does
    erasing.execute(text("SELECT id FROM person WHERE id = :p FOR UPDATE"), {"p": person})
    erasing.execute(text("UPDATE person SET erased_at = :t, data_key = NULL WHERE id = :p"),
                    {"p": person, "t": NOW})
    outcome: list[object] = []

    def racing() -> None:
        try:
            if write == "observation":
                service.add_observation(person, actor="lab", kind="steps", value=1,
                                        observed_at=NOW, source="lab", now=NOW)
            elif write == "code":
                service.issue(person, actor="clerk", now=NOW, ttl=DAY)
            else:
                run = open_run(service, actor="test", now=NOW + 60)
                run_batches(service, run.run_id, actor="test", batch_size=10,
                            clock=lambda: NOW + 60)
            outcome.append("stored")
        except Erased:
            outcome.append("erased")

    worker = threading.Thread(target=racing)
    worker.start()
    worker.join(1.5)
    assert worker.is_alive()  # waiting for the erasure
    erasing.commit()
    erasing.close()
    worker.join(30)
    assert outcome == (["stored"] if write == "reissue" else ["erased"])
    assert len(service.store.credentials(person)) == before
    if write == "reissue":
        assert all(len(service.store.credentials(o)) == 3 for o in others)
