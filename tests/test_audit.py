"""The audit log: a hash chain that shows where it was edited, cut or reordered."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import NOW, TEST_PASSPHRASE
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.auditlog import read_head, signed_head
from issuer.service.issuance import IssuerService
from issuer.store import Store, audit
from issuer.store.audit import GENESIS_HASH, BreakReason, ChainBreak
from issuer.store.audit_tables import row_mac
from issuer.store.db import AuditEntry, Observation
from issuer.store.pii import DataKeys
from issuer.web import create_app
from verifier.keys import b64url, b64url_decode

# Known answer: the canonical JSON of an entry is spelled out here by hand, so a change to the
# hashing (which would orphan every existing log) cannot pass unnoticed.
VECTOR_FIELDS = {
    "seq": 1, "at": 1795500000, "actor": "clerk", "person_id": "p-AAAAAAAAAAAA",
    "action": "person.create", "reason": "enrolment",
    "details_json": '{"organisation":"West Lake Clinic"}', "prev_hash": GENESIS_HASH}
VECTOR_CANONICAL = (
    '{"action":"person.create","actor":"clerk","at":1795500000,'
    '"details_json":"{\\"organisation\\":\\"West Lake Clinic\\"}",'
    '"person_id":"p-AAAAAAAAAAAA","prev_hash":"' + "0" * 64 + '",'
    '"reason":"enrolment","seq":1}')
VECTOR_HASH = "bfc030d1b7b634f80152a7e6549346abcf0ab588c8c2671cda8cc5a18c656c04"


def test_hash_known_answer():
    assert audit.canonical_json(VECTOR_FIELDS) == VECTOR_CANONICAL
    assert hashlib.sha256(VECTOR_CANONICAL.encode()).hexdigest() == VECTOR_HASH
    assert audit.entry_hash(**VECTOR_FIELDS) == VECTOR_HASH


def test_canonical_json_keeps_unicode_and_refuses_nan():
    assert audit.canonical_json({"b": 1, "a": "检查"}) == '{"a":"检查","b":1}'
    with pytest.raises(ValueError):
        audit.canonical_json({"x": float("nan")})


def fill(store, n: int = 5) -> None:
    with store.writing() as session:
        for i in range(n):
            audit.append(session, f"actor-{i}", "test.action", f"reason {i}",
                         person_id="p-A" if i % 2 else "p-B", details={"i": i}, now=NOW + i)


def chain_break(store) -> ChainBreak | None:
    with store.reading() as session:
        return audit.verify_chain(session)


def test_append_links_entries(store):
    with store.reading() as session:
        assert audit.verify_chain(session) is None  # an empty log holds
        assert audit.head(session) == (0, GENESIS_HASH)
    fill(store)
    with store.reading() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
        assert audit.head(session) == (5, entries[-1].hash)
        assert audit.count(session) == 5
        assert audit.verify_chain(session) is None
        assert [e.seq for e in audit.entries_for(session, "p-A")] == [2, 4]


def test_append_many_continues_the_same_chain(store):
    fill(store, 2)
    batch = [audit.Pending("job", "credential.issue", f"batch entry {n}", "p-C", {"n": n}, NOW)
             for n in range(3)]
    with store.writing() as session:
        audit.append(session, "clerk", "test.action", "one by one, same transaction", now=NOW)
        assert audit.append_many(session, batch) == 3
        assert audit.append_many(session, []) == 0
    fill(store, 1)
    with store.reading() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6, 7]
        assert [e.reason for e in entries[3:6]] == [f"batch entry {n}" for n in range(3)]
        assert audit.verify_chain(session) is None
    # Each is published in the public log too, its leaf's index recorded with it.
    assert [e["details"] for e in store.audit_entries("p-C")] == [
        {"n": 0, "log": 0}, {"n": 1, "log": 1}, {"n": 2, "log": 2}]


def test_append_is_part_of_the_callers_transaction(store):
    fill(store, 2)
    with pytest.raises(RuntimeError), store.writing() as session:
        audit.append(session, "clerk", "test.action", "then the change failed", now=NOW)
        raise RuntimeError("rolled back")
    with store.reading() as session:
        assert audit.count(session) == 2
    fill(store, 1)
    assert chain_break(store) is None


def test_details_must_be_json(store):
    with pytest.raises(TypeError), store.writing() as session:
        audit.append(session, "clerk", "test.action", "r", details={"x": object()}, now=NOW)


def allow_tampering(connection) -> None:
    """What someone with the database owner's rights can do: lift the append-only trigger."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER audit_entry_no_update"))
        connection.execute(text("DROP TRIGGER audit_entry_no_delete"))


def _edit_and_rehash(connection) -> None:
    """Edit entry 3 and give it the right hash for its new content: entry 4's link breaks."""
    row = connection.execute(text("SELECT * FROM audit_entry WHERE seq = 3")).mappings().one()
    fields = {k: row[k] for k in row.keys() if k != "hash"} | {"reason": "forged"}
    connection.execute(text("UPDATE audit_entry SET reason = :reason, hash = :hash "
                            "WHERE seq = 3"), {**fields, "hash": audit.entry_hash(**fields)})


TAMPERINGS = {
    "edit reason": (["UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 3"],
                    3, BreakReason.HASH_MISMATCH),
    "edit actor": (["UPDATE audit_entry SET actor = 'someone else' WHERE seq = 5"],
                   5, BreakReason.HASH_MISMATCH),
    "edit details": (["UPDATE audit_entry SET details_json = '{\"i\":9}' WHERE seq = 1"],
                     1, BreakReason.HASH_MISMATCH),
    "edit time": (["UPDATE audit_entry SET at = at + 3600 WHERE seq = 2"],
                  2, BreakReason.HASH_MISMATCH),
    "move to another person": (["UPDATE audit_entry SET person_id = 'p-C' WHERE seq = 4"],
                               4, BreakReason.HASH_MISMATCH),
    "edit and rehash": ([_edit_and_rehash], 4, BreakReason.PREV_HASH_MISMATCH),
    "delete middle": (["DELETE FROM audit_entry WHERE seq = 3"], 4, BreakReason.SEQ_GAP),
    "delete first": (["DELETE FROM audit_entry WHERE seq = 1"], 2, BreakReason.SEQ_GAP),
    "delete and renumber": (["DELETE FROM audit_entry WHERE seq = 3",
                             "UPDATE audit_entry SET seq = 3 WHERE seq = 4",
                             "UPDATE audit_entry SET seq = 4 WHERE seq = 5"],
                            3, BreakReason.PREV_HASH_MISMATCH),
    "swap two": (["UPDATE audit_entry SET seq = -1 WHERE seq = 2",
                  "UPDATE audit_entry SET seq = 2 WHERE seq = 3",
                  "UPDATE audit_entry SET seq = 3 WHERE seq = -1"],
                 2, BreakReason.PREV_HASH_MISMATCH),
    "swap contents": (["UPDATE audit_entry SET at = at + 1 WHERE seq = 3",
                       "UPDATE audit_entry SET at = at - 1 WHERE seq = 4"],
                      3, BreakReason.HASH_MISMATCH),
}


@pytest.mark.parametrize(("statements", "seq", "reason"), TAMPERINGS.values(),
                         ids=TAMPERINGS.keys())
def test_tampering_is_found_at_the_right_entry(store, statements, seq, reason):
    fill(store)
    assert chain_break(store) is None
    with store.engine.begin() as connection:
        allow_tampering(connection)
        for statement in statements:
            if callable(statement):
                statement(connection)
            else:
                connection.exec_driver_sql(statement)
    found = chain_break(store)
    assert found is not None
    assert (found.seq, found.reason) == (seq, reason)
    assert str(found).startswith(f"entry {seq}: {reason}")


def test_cutting_the_tail_needs_the_head_kept_elsewhere(store):
    fill(store)
    with store.reading() as session:
        kept = audit.head(session)
    with store.engine.begin() as connection:
        allow_tampering(connection)
        connection.execute(text("DELETE FROM audit_entry WHERE seq >= 4"))
    assert chain_break(store) is None  # the chain alone cannot tell
    with store.reading() as session:
        assert audit.head(session) != kept


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET reason = 'x' WHERE seq = 1",
    "DELETE FROM audit_entry WHERE seq = 2",
    "DELETE FROM audit_entry",
])
def test_database_refuses_changes_to_the_log(store, statement):
    fill(store, 2)
    with pytest.raises(DBAPIError), store.engine.begin() as connection:
        connection.execute(text(statement))
    with store.reading() as session:
        assert audit.count(session) == 2
        assert audit.verify_chain(session) is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_truncate(store):
    fill(store, 1)
    with pytest.raises(DBAPIError), store.engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_entry"))


def test_concurrent_appends_keep_one_chain(store, db_url, store_home, data_keys):
    """Writers in two threads, each with a Store of its own (as two processes would have: no
    shared in-process write lock, only the database's), interleave; the chain holds."""
    per_thread, threads = 40, 2
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    other = Store.open(store_home, url=db_url, data_keys=data_keys)
    stores = {"writer-0": store, "writer-1": other}

    def writer(name: str) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                with stores[name].writing() as session:
                    audit.append(session, name, "test.concurrent", f"{name} {i}", now=NOW + i)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(f"writer-{n}",)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    other.close()
    assert errors == []
    with store.reading() as session:
        actors = list(session.scalars(select(AuditEntry.actor).order_by(AuditEntry.seq)))
        assert audit.verify_chain(session) is None
    assert len(actors) == per_thread * threads
    assert sorted(set(actors)) == ["writer-0", "writer-1"]


# The tables against the log (finding 5 of issue 13) ------------------------------------------
# With the triggers dropped, `audit verify` used to say OK after an observation's value was
# changed, test results deleted, a revocation cleared, the log cut or emptied, or an entry
# edited and everything after it re-hashed. Each of those is now found, with a reason.

PERSON = {"name": "Zhang Wei", "id_number": "330106199003071234",
          "phone": "+86 138 0571 2233", "organisation": "West Lake Clinic"}


def populate(store) -> dict[str, str]:
    """A person with a positive test and a contact, two credentials, one of them revoked."""
    person = store.create_person(**PERSON, actor="clerk", now=NOW)
    store.add_observation(person, "test_result", "positive", NOW - 3600, "city lab",
                          actor="lab", now=NOW)
    store.add_observation(person, "contact", True, NOW - 7200, "tracing", actor="tracer",
                          now=NOW + 1)
    creds = [store.record_credential(
        person, cti=f"{n:02x}" * 16, text=f"HCC1:TEST{n}", colour="red", score=20,
        policy_id="hangzhou-2020", policy_digest=bytes(8), iat=NOW + 2, exp=NOW + 2 + 86_400,
        actor="issuer", now=NOW + 2)["cti"] for n in (1, 2)]
    store.revoke(creds[0], actor="clerk", reason="lost card", now=NOW + 3)
    return {"person": person, "revoked": creds[0], "valid": creds[1]}


def tamper(store, *statements, log: bool = False) -> None:
    """Change the tables (and, with ``log``, the audit log) as someone with the database
    owner's rights can."""
    with store.engine.begin() as connection:
        if log:
            allow_tampering(connection)
        for statement in statements:
            if callable(statement):
                statement(connection)
            else:
                connection.execute(text(statement))


def _insert_observation(connection) -> None:
    person = connection.execute(text("SELECT id FROM person ORDER BY id")).scalars().first()
    connection.execute(text(
        "INSERT INTO observation (person_id, kind, value_json, observed_at, source, "
        "recorded_at, recorded_by) VALUES (:p, 'test_result', '\"negative\"', :t, 'city lab', "
        ":t, 'lab')"), {"p": person, "t": NOW + 10})


def _unlogged_person(connection) -> None:
    row = connection.execute(text("SELECT * FROM person")).mappings().first()
    connection.execute(text(
        "INSERT INTO person (id, organisation_id, name_enc, id_number_enc, phone_enc, "
        "id_number_mac, created_at, phone_mac) VALUES ('p-UNLOGGED0000', :org, :n, :i, :p, "
        ":mac, :at, NULL)"), {"org": row["organisation_id"], "n": row["name_enc"],
                              "i": row["id_number_enc"], "p": row["phone_enc"],
                              "mac": b"x" * 16, "at": NOW + 500})


def _unlogged_credential(connection) -> None:
    """A green credential for the person, written beside the log."""
    connection.execute(text(
        "INSERT INTO credential (cti, person_id, colour, score, policy_id, policy_digest, iat, "
        "exp, text, issued_by) SELECT 'ff' || substr(cti, 3), person_id, 'green', 95, "
        "policy_id, policy_digest, iat, exp, 'HCC1:FORGED', issued_by FROM credential "
        "WHERE revoked_at IS NULL"))


TABLE_TAMPERINGS = {
    "positive turned negative": (
        "UPDATE observation SET value_json = '\"negative\"' WHERE kind = 'test_result'",
        "observation_changed"),
    "test result deleted": ("DELETE FROM observation WHERE kind = 'test_result'",
                            "observation_missing"),
    "test result re-dated": (
        "UPDATE observation SET observed_at = observed_at - 30 * 86400 "
        "WHERE kind = 'test_result'", "observation_changed"),
    "observation moved to another kind": (
        "UPDATE observation SET kind = 'symptoms' WHERE kind = 'contact'", "observation_changed"),
    "negative result slipped in": (_insert_observation, "observation_unlogged"),
    "revocation cleared": (
        "UPDATE credential SET revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL "
        "WHERE revoked_at IS NOT NULL", "revocation_mismatch"),
    "revocation re-dated": ("UPDATE credential SET revoked_at = revoked_at + 60 "
                            "WHERE revoked_at IS NOT NULL", "revocation_mismatch"),
    "revoked behind the log": (f"UPDATE credential SET revoked_at = {NOW + 5} "
                               "WHERE revoked_at IS NULL", "revocation_mismatch"),
    "credential turned green": ("UPDATE credential SET colour = 'green', score = 95 "
                                "WHERE revoked_at IS NULL", "credential_changed"),
    "credential expiry moved (off the revocation list)": (
        "UPDATE credential SET exp = iat + 1 WHERE revoked_at IS NOT NULL",
        "credential_changed"),
    "revoked credential deleted": ("DELETE FROM credential WHERE revoked_at IS NOT NULL",
                                   "credential_missing"),
    "person moved to another organisation": (
        "UPDATE organisation SET name = 'Elsewhere'", "person_changed"),
    "person slipped in": (_unlogged_person, "person_unlogged"),
    "green credential slipped in": (_unlogged_credential, "credential_unlogged"),
}


@pytest.mark.parametrize(("statement", "code"), TABLE_TAMPERINGS.values(),
                         ids=TABLE_TAMPERINGS.keys())
def test_tables_edited_beside_the_log_are_found(store, statement, code):
    populate(store)
    report = store.audit_report()
    assert report.ok and report.tables.count == 0
    assert report.tables.checked == {"person": 1, "observation": 2, "credential": 2,
                                     "log_leaf": 5}
    tamper(store, statement)
    report = store.audit_report()
    assert not report.ok and report.broken is None  # the chain itself holds
    assert {m.code for m in report.tables.mismatches} == {code}
    assert store.verify_audit()[1] == report.tables.mismatches[0]
    assert str(report.tables.mismatches[0]).split(": ")[1].startswith(code)


def test_the_log_keeps_a_keyed_mac_of_values_not_the_values(store, data_keys):
    ids = populate(store)
    details = [e["details"] for e in store.audit_entries(ids["person"])
               if e["action"] == "observation.add"]
    assert [sorted(d) for d in details] == [
        ["kind", "log", "mac", "observation", "observed_at", "source"]] * 2
    assert "positive" not in json.dumps(details)
    row = {"id": details[0]["observation"], "person_id": ids["person"], "kind": "test_result",
           "value_json": '"positive"', "observed_at": NOW - 3600, "source": "city lab",
           "recorded_at": NOW, "recorded_by": "lab"}
    assert row_mac(data_keys, "observation", row) == details[0]["mac"]
    # Without the data keys a guess cannot be checked: another key gives another MAC.
    assert row_mac(DataKeys.generate(), "observation", row) != details[0]["mac"]


def test_an_entry_without_a_mac_after_macs_began_is_refused(store):
    populate(store)
    with store.writing() as session:  # what a forger without the data keys could add
        person = session.scalar(select(Observation.person_id))
        row = Observation(person_id=person, kind="contact", value_json="false",
                          observed_at=NOW, source="tracing", recorded_at=NOW + 9,
                          recorded_by="tracer")
        session.add(row)
        session.flush()
        audit.append(session, "tracer", "observation.add", "observation recorded", person,
                     {"observation": row.id, "kind": "contact", "source": "tracing"}, NOW + 9)
    assert [m.code for m in store.audit_report().tables.mismatches] == ["entry_uncovered"]


def _rewrite_from(seq: int):
    """Edit entry ``seq`` and re-hash it and every entry after it: the chain holds again."""
    def rewrite(connection) -> None:
        rows = connection.execute(text("SELECT * FROM audit_entry WHERE seq >= :s ORDER BY seq"),
                                  {"s": seq}).mappings().all()
        prev = connection.execute(text("SELECT hash FROM audit_entry WHERE seq = :s"),
                                  {"s": seq - 1}).scalar() or GENESIS_HASH
        for row in rows:
            fields = {k: row[k] for k in row.keys() if k != "hash"} | {"prev_hash": prev}
            if row["seq"] == seq:
                fields["reason"] = "routine check"
            prev = audit.entry_hash(**fields)
            connection.execute(text("UPDATE audit_entry SET reason = :reason, "
                                    "prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"),
                               {**fields, "hash": prev})
    return rewrite


LOG_TAMPERINGS = {
    "tail cut": ("DELETE FROM audit_entry WHERE seq > 3", BreakReason.TRUNCATED),
    "log emptied": ("DELETE FROM audit_entry", BreakReason.TRUNCATED),
    "edit and re-hash everything after": (_rewrite_from(2), BreakReason.HEAD_MISMATCH),
}


@pytest.mark.parametrize(("statement", "reason"), LOG_TAMPERINGS.values(),
                         ids=LOG_TAMPERINGS.keys())
def test_a_head_kept_elsewhere_shows_a_cut_or_rewritten_log(store, statement, reason):
    populate(store)
    with store.reading() as session:
        saved = audit.head(session)
    store.add_observation(store.person_ids()[0], "steps", 9000, NOW, "phone", actor="holder",
                          now=NOW + 5)  # the log grows after the head was saved: still held
    held = store.audit_report(against=saved)
    assert held.ok and held.against is None
    tamper(store, statement, log=True)
    report = store.audit_report(against=saved)
    assert not report.ok
    assert report.against is not None and report.against.reason == reason
    if reason is BreakReason.HEAD_MISMATCH:  # invisible without the head
        assert report.broken is None and report.tables.count == 0
        assert store.audit_report().ok


# The same through the command line, as an operator runs it, and the published head ----------

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))


@pytest.fixture
def service(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "home")
    init_home(home, now=NOW)
    opened = IssuerService.open(home, database_url=db_url)
    yield opened
    opened.close()


def run_cli(service, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE,
           "HEALTHCODE_DATABASE_URL": str(service.store.engine.url.render_as_string(
               hide_password=False))}
    return subprocess.run([CLI, "audit", *args, "--home", str(service.home.root)], env=env,
                          capture_output=True, text=True, timeout=60)


def downgraded(service) -> str:
    """Someone tests positive (red), gets a code, and the code is revoked."""
    person = service.create_person(actor="clerk", **PERSON, now=NOW)
    service.add_observation(person, actor="lab", kind="test_result", value="positive",
                            observed_at=NOW - 60, source="city lab", now=NOW)
    issued = service.issue(person, actor="clerk", now=NOW + 1)
    service.store.revoke(issued["cti"], actor="clerk", reason="downgrade", now=NOW + 2)
    return person


CLI_TAMPERINGS = {
    "positive turned negative": (
        ["UPDATE observation SET value_json = '\"negative\"'"], "observation_changed"),
    "test result deleted": (["DELETE FROM observation"], "observation_missing"),
    "revocation cleared": (["UPDATE credential SET revoked_at = NULL"], "revocation_mismatch"),
}


@pytest.mark.parametrize(("statements", "code"), CLI_TAMPERINGS.values(),
                         ids=CLI_TAMPERINGS.keys())
def test_audit_verify_checks_the_tables(service, statements, code):
    downgraded(service)
    ok = run_cli(service, "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit chain OK: 5 entries" in ok.stdout
    assert ("tables OK: 1 people, 1 observations, 1 credentials, 4 public log leaves match "
            "the log") in ok.stdout
    tamper(service.store, *statements)
    broken = run_cli(service, "verify", "--full")  # rows recorded before the checkpoint
    assert broken.returncode == 1
    assert "audit chain OK" in broken.stdout and f": {code}" in broken.stderr


@pytest.mark.parametrize(("statement", "reason"), LOG_TAMPERINGS.values(),
                         ids=LOG_TAMPERINGS.keys())
def test_audit_verify_against_a_saved_head(service, tmp_path, statement, reason):
    downgraded(service)
    saved = run_cli(service, "head")
    assert saved.returncode == 0, saved.stderr
    head_file = tmp_path / "head.json"
    head_file.write_text(saved.stdout)
    head = json.loads(b64url_decode(json.loads(saved.stdout)["payload"]))
    assert (head["size"], head["iss"], head["typ"]) == (5, "HZ", "healthcode-audit-head")
    held = run_cli(service, "verify", "--against", str(head_file))
    assert held.returncode == 0, held.stderr
    assert f"head: size 5, hash {head['hash']}" in held.stdout and "held" in held.stdout
    tamper(service.store, statement, log=True)
    broken = run_cli(service, "verify", "--against", str(head_file))
    assert broken.returncode == 1
    assert "audit head MISMATCH" in broken.stderr and f": {reason}" in broken.stderr


def test_a_forged_head_is_refused(service, tmp_path):
    downgraded(service)
    document = json.loads(run_cli(service, "head").stdout)
    payload = json.loads(b64url_decode(document["payload"]))
    document["payload"] = b64url(json.dumps({**payload, "size": 1}).encode())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    refused = run_cli(service, "verify", "--against", str(forged))
    assert refused.returncode == 1 and "head_bad_signature" in refused.stderr
    stranger = Home(tmp_path / "stranger")
    init_home(stranger, now=NOW)
    other = IssuerService.open(stranger, database_url=f"sqlite:///{tmp_path / 'other.db'}")
    try:
        (tmp_path / "foreign.json").write_bytes(signed_head(other))
    finally:
        other.close()
    refused = run_cli(service, "verify", "--against", str(tmp_path / "foreign.json"))
    assert refused.returncode == 1 and "head_unknown_signer" in refused.stderr


@pytest.fixture
def server(service) -> Iterator[tuple[str, object]]:
    """The issuer's app on the service's home and database, on a free port of 127.0.0.1."""
    app = create_app({"HOME": str(service.home.root),
                      "DATABASE_URL": service.store.engine.url.render_as_string(
                          hide_password=False)})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app.extensions["healthcode"]
    httpd.shutdown()
    thread.join(5)
    app.extensions["healthcode"].close()


def fetch(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_the_issuer_publishes_its_signed_head(service, server):
    base, _ = server
    downgraded(service)
    status, headers, body = fetch(f"{base}/trust/audit-head")
    assert status == 200 and headers["Content-Type"] == "application/jose+json"
    assert headers["ETag"]
    head = read_head(service, body)
    assert (head.size, head.hash) == service.store.audit_head() == (5, head.hash)
    assert head.kid == service.config.current


def test_a_persons_trail_is_checked_without_reading_the_whole_chain(service, server):
    base, _ = server
    person = downgraded(service)
    token = service.create_token("read", "auditor", NOW)[1]
    url = f"{base}/api/people/{person}/audit"
    first = json.loads(fetch(url, token)[2])
    assert first["chain_ok"] and first["verified_through"] == 6  # 5, and the token's
    assert len(first["entries"]) == 5 and first["full_check_at"] is not None
    service.add_observation(person, actor="lab", kind="test_result", value="negative",
                            observed_at=NOW + 50, source="city lab", now=NOW + 60)
    second = json.loads(fetch(url, token)[2])
    # Only what was added since was verified: the whole chain was not read again.
    assert second["chain_ok"] and second["verified_through"] == 7
    assert second["full_check_at"] == first["full_check_at"]
    # This person's entry edited in place, between two full checks: seen at once.
    tamper(service.store, "UPDATE audit_entry SET reason = 'nothing' WHERE seq = 2", log=True)
    assert not json.loads(fetch(url, token)[2])["chain_ok"]


def test_a_rewritten_chain_shows_in_the_next_trail(service, server):
    base, _ = server
    person = downgraded(service)
    token = service.create_token("read", "auditor", NOW)[1]
    url = f"{base}/api/people/{person}/audit"
    assert json.loads(fetch(url, token)[2])["chain_ok"]
    tamper(service.store, _rewrite_from(2), log=True)  # the chain holds again on its own
    assert not json.loads(fetch(url, token)[2])["chain_ok"]


def test_a_persons_trail_comes_a_page_at_a_time(service, server):
    base, _ = server
    person = downgraded(service)
    for i in range(4):
        service.add_observation(person, actor="holder", kind="steps", value=9000 + i,
                                observed_at=NOW + i, source="phone", now=NOW + 10 + i)
    token = service.create_token("read", "auditor", NOW)[1]
    url = f"{base}/api/people/{person}/audit"
    whole = json.loads(fetch(url, token)[2])
    assert len(whole["entries"]) == 9 and whole["next_after"] is None
    pages, after = [], 0
    while after is not None:
        page = json.loads(fetch(f"{url}?limit=4&after={after}", token)[2])
        assert page["chain_ok"] and len(page["entries"]) <= 4
        pages += page["entries"]
        after = page["next_after"]
    assert pages == whole["entries"]
    for query, field in [("limit=0", "limit"), ("limit=501", "limit"), ("after=-1", "after"),
                         ("after=x", "after")]:
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(f"{url}?{query}", token)
        assert refused.value.code in (400, 422)
        assert field in json.loads(refused.value.read())["detail"]["query"]


def test_a_persons_entries_are_read_by_index(store):
    """One person's entries come through the person_id index, paged by seq, not by reading
    the log (the query plan, on each backend)."""
    with store.writing() as session:
        audit.append_many(session, [audit.Pending("clerk", "test.action", "r",
                                                  f"p-{n % 500:012d}", {}, NOW)
                                    for n in range(5000)])
    query = audit.entries_query("p-000000000007", after=100, limit=50)
    with store.engine.begin() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE audit_entry"))
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {sql}").scalars())
        else:
            plan = "\n".join(row[-1] for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}"))
    assert "ix_audit_entry_person_id" in plan, plan
    assert "Seq Scan" not in plan and "SCAN audit_entry" not in plan, plan
    with store.reading() as session:
        assert [e.seq for e in audit.entries_for(session, "p-000000000007", 100, 3)] == [
            508, 1008, 1508]
