"""Bulk re-issuance on SQLite and PostgreSQL: everyone exactly once per run, in whole batches,
resumable after the process is killed midway (a real SIGKILL of the real CLI)."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter

import pytest
from reissuing import (
    CLI,
    DAY,
    NOW,
    cli_env,
    enrol,
    issuer_service,
    run_credentials,
    run_status,
    writers_blocked,
)
from sqlalchemy import create_engine, event, select, text, update

from issuer.service.reissue import open_run, run_batches
from issuer.store.db import AuditEntry, Person
from verifier import IdCheck, TrustList, verify


@pytest.fixture
def service(tmp_path, db_url, monkeypatch):
    with issuer_service(tmp_path, db_url, monkeypatch) as opened:
        yield opened


def test_everyone_gets_one_verifiable_credential_with_their_current_colour(service):
    people = enrol(service, 23)
    service.add_observation(people[4], actor="lab", kind="test_result", value="positive",
                            observed_at=NOW - DAY, source="lab", now=NOW)
    run = open_run(service, actor="test", now=NOW)
    assert (run.done, run.total, run.resumed) == (0, 23, False)
    batches: list[int] = []
    issued = run_batches(service, run.run_id, actor="test", batch_size=5,
                         clock=lambda: NOW + 60, on_batch=batches.append)
    assert issued == 23 and batches == [5, 5, 5, 5, 3]
    assert run_credentials(service, run.run_id) == Counter(people)
    assert run_status(service, run.run_id) == "done"
    trust = TrustList.load(service.home.trust_list, service.home.anchor_public, now=NOW)
    for person in (people[0], people[4]):
        record = service.store.credentials(person)[0]
        credential = verify(record["text"], trust, now=NOW + 120)
        assert credential.colour.value == service.assess(person, NOW + 60).colour.value
        assert credential.colour.value == ("red" if person == people[4] else "green")
        # A static code: it carries the check-ID fields of its own holder.
        n = people.index(person)
        assert credential.id_check == IdCheck("P*", f"{n:04d}")
    assert service.verify_audit()[1] is None
    # A finished run is not resumed: the next call starts a new one.
    assert open_run(service, actor="test", now=NOW + 120).run_id != run.run_id


def test_a_failure_midway_leaves_whole_batches_and_the_next_call_resumes(service):
    people = enrol(service, 17)
    run = open_run(service, actor="test", now=NOW)

    def crash_after_two(count: int, seen=[]) -> None:  # noqa: B006 (a counter for the test)
        seen.append(count)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batches(service, run.run_id, actor="test", batch_size=4, clock=lambda: NOW,
                    on_batch=crash_after_two)
    assert sum(run_credentials(service, run.run_id).values()) == 8
    assert run_status(service, run.run_id) == "running"
    resumed = open_run(service, actor="test", now=NOW + 5)
    assert (resumed.run_id, resumed.done, resumed.total, resumed.resumed) == (
        run.run_id, 8, 17, True)
    assert run_batches(service, run.run_id, actor="test", batch_size=4,
                       clock=lambda: NOW + 5) == 9
    assert run_credentials(service, run.run_id) == Counter(people)
    # --new abandons an unfinished run instead: it is closed as failed.
    second = open_run(service, actor="test", now=NOW + 10)  # started, never run
    third = open_run(service, actor="test", new=True, now=NOW + 20)
    assert third.run_id != second.run_id and run_status(service, second.run_id) == "failed"


def test_a_colour_change_by_time_alone_is_logged_once(service):
    person, = enrol(service, 1)
    service.add_observation(person, actor="lab", kind="test_result", value="positive",
                            observed_at=NOW, source="lab", now=NOW)  # logs green -> red
    service.issue(person, actor="test", now=NOW)
    run = open_run(service, actor="test", now=NOW + DAY)
    run_batches(service, run.run_id, actor="test", clock=lambda: NOW + DAY)  # still red
    later = open_run(service, actor="test", now=NOW + 30 * DAY)
    run_batches(service, later.run_id, actor="test", clock=lambda: NOW + 30 * DAY)  # green
    changes = [e for e in service.store.audit_entries(person) if e["action"] == "colour.change"]
    assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == [
        ("green", "red"), ("red", "green")]
    assert f"re-issue run {later.run_id}" in changes[1]["reason"]


def test_a_second_run_reads_nobody_s_history(service):
    """The colour a re-issue compares with is the one kept on the person's row: a run reads
    none of the person's past credentials or audit entries, so a daily re-issue costs the
    same on day 300 as on day 1 (the search it replaces grew with every run)."""
    people = enrol(service, 12)
    service.add_observation(people[3], actor="lab", kind="test_result", value="positive",
                            observed_at=NOW, source="lab", now=NOW)
    first = open_run(service, actor="test", now=NOW)
    run_batches(service, first.run_id, actor="test", batch_size=5, clock=lambda: NOW)
    statements: list[str] = []
    listener = lambda _c, _cursor, statement, *_rest: statements.append(statement)  # noqa: E731
    event.listen(service.store.engine, "before_cursor_execute", listener)
    try:
        later = open_run(service, actor="test", now=NOW + 30 * DAY)
        run_batches(service, later.run_id, actor="test", batch_size=5,
                    clock=lambda: NOW + 30 * DAY)
    finally:
        event.remove(service.store.engine, "before_cursor_execute", listener)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads and not [s for s in reads
                          if "credential.colour" in s or "audit_entry.person_id" in s]
    changes = [e for e in service.store.audit_entries(people[3])
               if e["action"] == "colour.change"]
    assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == [
        ("green", "red"), ("red", "green")]
    assert _row_colours(service) == dict.fromkeys(people, "green")


def test_people_whose_row_keeps_no_colour_yet_are_compared_with_their_history(service):
    """Stores from before migration 0008 keep no colour on the row: for those people the
    re-issue reads the newest credential or colour change, and then keeps the colour."""
    people = enrol(service, 3)
    for person in people[:2]:
        service.add_observation(person, actor="lab", kind="test_result", value="positive",
                                observed_at=NOW, source="lab", now=NOW)  # green -> red
    service.issue(people[1], actor="test", now=NOW + 60)  # red, by a credential
    assert _row_colours(service) == {people[0]: "red", people[1]: "red", people[2]: None}
    with service.store.writing() as session:
        session.execute(update(Person).values(colour=None))
    run = open_run(service, actor="test", now=NOW + 30 * DAY)
    run_batches(service, run.run_id, actor="test", clock=lambda: NOW + 30 * DAY)
    for person, logged in zip(people, ([("green", "red"), ("red", "green")],
                                       [("green", "red"), ("red", "green")], []), strict=True):
        changes = [e for e in service.store.audit_entries(person)
                   if e["action"] == "colour.change"]
        assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == logged
    assert _row_colours(service) == dict.fromkeys(people, "green")


def _row_colours(service) -> dict[str, str | None]:
    with service.store.reading() as session:
        return {pid: colour for pid, colour in session.execute(select(Person.id, Person.colour))}


def test_killed_midway_then_run_again_nobody_skipped_or_issued_twice(service, db_url):
    people = enrol(service, 200)
    env = cli_env(db_url)
    command = [CLI, "reissue", "--all", "--batch", "10", "--log", "--home",
               str(service.home.root)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("starting re-issue run 1: 0 of 200")
        assert process.stdout.readline().strip() == "run 1: 10/200"
        with writers_blocked(db_url):  # the process now waits inside its next batch
            process.send_signal(signal.SIGKILL)
            process.wait(30)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    issued = run_credentials(service, 1)
    assert 10 <= sum(issued.values()) < 200, "the kill did not land midway"
    assert sum(issued.values()) % 10 == 0, "a batch was half stored"
    assert max(issued.values()) == 1 and run_status(service, 1) == "running"

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"resuming re-issue run 1: {sum(issued.values())} of 200")
    assert run_credentials(service, 1) == Counter(people)
    assert run_status(service, 1) == "done"
    check = subprocess.run([CLI, "audit", "verify", "--home", str(service.home.root)],
                           env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "audit chain OK" in check.stdout


def test_reissue_needs_all(service):
    result = subprocess.run([CLI, "reissue", "--home", str(service.home.root)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--all" in result.stderr


def test_audit_verify_passes_then_names_the_edited_entry(service, db_url):
    person, = enrol(service, 1)
    service.add_observation(person, actor="lab", kind="test_result", value="positive",
                            observed_at=NOW, source="lab", now=NOW)
    env = cli_env(db_url)
    command = [CLI, "audit", "verify", "--home", str(service.home.root)]
    ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "audit chain OK: 3 entries" in ok.stdout  # enrolment, observation, colour change
    with service.store.reading() as session:
        seq = session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "colour.change"))
    # Someone with database access rewrites why the code turned red. The append-only triggers
    # stop an UPDATE through the application's connection; the attacker drops them first.
    tamper(db_url, seq)  # before the checkpoint the first check saved: only --full reads it
    broken = subprocess.run([*command, "--full"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert broken.returncode == 1
    assert f"audit chain BROKEN at entry {seq}: hash_mismatch" in broken.stderr


def tamper(db_url: str, seq: int) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                names = connection.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
                for name in names:
                    connection.execute(text(f'DROP TRIGGER "{name}"'))
            else:
                connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            connection.execute(text("UPDATE audit_entry SET reason = 'routine update' "
                                    "WHERE seq = :seq"), {"seq": seq})
    finally:
        engine.dispose()
