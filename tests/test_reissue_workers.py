"""Re-issue with many workers (PostgreSQL) and the run's guarantees on both databases: one
running run however many operators start at once, workers killed at random or stalled past
their lease, and still everyone gets exactly one credential from the run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from reissuing import (
    CLI,
    NOW,
    AuditLock,
    cli_env,
    enrol,
    issuer_service,
    run_credentials,
    run_status,
    writers_blocked,
)
from sqlalchemy import select, text

from issuer.service.reissue import RunError, open_run, run_batches
from issuer.store import batches
from issuer.store.db import AuditEntry, ReissueBatch, ReissueRun


@pytest.fixture
def service(tmp_path, db_url, monkeypatch):
    with issuer_service(tmp_path, db_url, monkeypatch) as opened:
        yield opened


def reissue(service, *args: str) -> list[str]:
    return [CLI, "reissue", *args, "--home", str(service.home.root)]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: no extra tools needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def audit_ok(service, env) -> bool:
    check = subprocess.run(reissue(service)[:1] + ["audit", "verify", "--home",
                                                   str(service.home.root)],
                           env=env, capture_output=True, text=True, timeout=120)
    return check.returncode == 0 and "audit chain OK" in check.stdout


def slices_done_by(service, run_id: int) -> Counter[str]:
    with service.store.reading() as session:
        return Counter(session.scalars(select(ReissueBatch.done_by)
                                       .where(ReissueBatch.run_id == run_id)))


def test_operators_starting_at_once_get_one_run(service, db_url):
    """Before, two `reissue --all` started together each opened a run of their own (5 of 6
    trials): everyone would have had two credentials that day. Now a second operator joins
    the running run (or, if it ended meanwhile, starts the next one: runs never overlap)."""
    people = enrol(service, 60)
    env = cli_env(db_url)
    command = reissue(service, "--all", "--batch", "5", "--log")
    started = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [process.communicate(timeout=120) for process in started]
    assert [p.returncode for p in started] == [0, 0, 0], outputs
    with service.store.reading() as session:
        runs = list(session.scalars(select(ReissueRun.id)))
        steps = list(session.execute(select(AuditEntry.action, AuditEntry.details_json)
                                     .where(AuditEntry.action.like("reissue.%"))
                                     .order_by(AuditEntry.seq)))
    assert [action for action, _ in steps] == ["reissue.start", "reissue.finish"] * len(runs)
    for run_id in runs:
        assert run_credentials(service, run_id) == Counter(people)
    assert sum(f"starting re-issue run {runs[0]}" in out for out, _ in outputs) == 1
    assert audit_ok(service, env)


def test_the_database_admits_one_running_run(service):
    enrol(service, 3)
    first = open_run(service, actor="test", now=NOW)
    assert open_run(service, actor="test", now=NOW + 1).run_id == first.run_id
    with pytest.raises(Exception, match="uq_reissue_run_running|UNIQUE"), \
            service.store.writing() as session:
        session.add(ReissueRun(started_at=NOW, started_by="x", status="running"))
        session.flush()


def test_a_run_is_walked_by_index_in_slices(service):
    """Each slice reads its own range of the enrolment-order index, so its cost does not grow
    with the number of people (the old query scanned everyone for each batch)."""
    people = enrol(service, 25)
    run = open_run(service, actor="test", now=NOW, batch_size=10)
    with service.store.writing() as session:  # looked at, then rolled back
        sizes = list(session.scalars(select(ReissueBatch.size).order_by(ReissueBatch.seq)))
        batch = batches.claim(session, run.run_id)
        assert batches.people(session, batch) == sorted(people)[:10]  # all enrolled at NOW
        session.rollback()
    assert sizes == [10, 10, 5]
    if service.store.engine.dialect.name == "sqlite":
        with service.store.engine.connect() as connection:
            plan = " ".join(row[-1] for row in connection.execute(text(
                "EXPLAIN QUERY PLAN SELECT id FROM person WHERE (created_at, id) >= (0, '') "
                "AND (created_at, id) < (1, '') ORDER BY created_at, id")))
        assert "ix_person_created_at_id" in plan and "SCAN person " not in f"{plan} "
    assert run_batches(service, run.run_id, actor="test", clock=lambda: NOW) == 25
    assert run_credentials(service, run.run_id) == Counter(people)


def test_sqlite_stays_single_process(service, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    enrol(service, 2)
    env = cli_env(db_url)
    for args in (("--all", "--workers", "2"), ("--join", "1")):
        result = subprocess.run(reissue(service, *args), env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1 and "need PostgreSQL" in result.stderr


def test_a_worker_under_another_policy_is_refused(service, monkeypatch):
    enrol(service, 2)
    run = open_run(service, actor="test", now=NOW)
    with service.store.writing() as session:
        session.get(ReissueRun, run.run_id).policy_digest = "00" * 8
    with pytest.raises(RunError, match="issues under policy"):
        run_batches(service, run.run_id, actor="test", clock=lambda: NOW)
    with pytest.raises(RunError, match="no re-issue run 99"):
        run_batches(service, 99, actor="test", clock=lambda: NOW)


def postgres_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("several worker processes need PostgreSQL")


def lock_waiters(service) -> set[int]:
    """The backends waiting for an advisory lock."""
    with service.store.reading() as session:
        return set(session.scalars(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


def wait_until(predicate, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds} s"
        time.sleep(0.02)


def test_workers_killed_at_random_then_resumed_nobody_skipped_or_issued_twice(service, db_url):
    """`reissue --all --workers 3`: one worker is killed mid-slice, the other two go on for a
    random number of slices, then the whole process group is killed mid-slice. The same
    command then resumes the run: nobody is skipped and nobody is issued twice."""
    postgres_only(db_url)
    people = enrol(service, 300)
    open_run(service, actor="test", now=NOW, batch_size=10)  # run 1: 30 slices of 10
    env = cli_env(db_url)
    rng = random.Random()
    rounds = rng.randint(1, 5)
    held, spare = AuditLock(db_url), AuditLock(db_url)
    pool = ThreadPoolExecutor(1)
    held.take()
    parent = subprocess.Popen(reissue(service, "--all", "--workers", "3", "--log"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert parent.stdout.readline().startswith("resuming re-issue run 1: 0 of 300")
        wait_until(lambda: len(lock_waiters(service)) == 3, "three workers inside a slice")
        workers = children(parent.pid)
        assert len(workers) == 3
        os.kill(rng.choice(workers), signal.SIGKILL)
        for _ in range(rounds):  # each round lets each live worker store one slice
            taking = pool.submit(spare.take)
            wait_until(lambda queued=spare.pid: queued in lock_waiters(service),
                       "the test in the queue")
            held.release()
            taking.result(timeout=60)
            held, spare = spare, held
            wait_until(lambda: len(lock_waiters(service)) == 2, "two workers in a new slice")
        os.killpg(parent.pid, signal.SIGKILL)  # the parent and the workers left
        parent.wait(30)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
        parent.stderr.close()
        held.release()
        held.close()
        spare.close()
        pool.shutdown()
    issued = run_credentials(service, 1)
    assert sum(issued.values()) == 20 * rounds  # two live workers, one slice each a round
    assert max(issued.values()) == 1 and run_status(service, 1) == "running"

    again = subprocess.run(reissue(service, "--all", "--workers", "2", "--log"), env=env,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"resuming re-issue run 1: {20 * rounds} of 300")
    assert run_credentials(service, 1) == Counter(people)
    assert run_status(service, 1) == "done"
    assert len(slices_done_by(service, 1)) >= 3  # workers of both invocations did slices
    assert audit_ok(service, env)


def test_a_stalled_worker_loses_its_slice_after_the_lease(service, db_url):
    """A worker frozen mid-slice (SIGSTOP: a hung process, a machine cut off) holds its slice
    only until PostgreSQL ends its idle transaction after --lease seconds; another worker
    takes the slice over, and the frozen one, thawed, carries on without issuing twice."""
    postgres_only(db_url)
    people = enrol(service, 30)
    run = open_run(service, actor="test", now=NOW, batch_size=10)
    env = cli_env(db_url)
    join = reissue(service, "--join", str(run.run_id), "--lease", "2", "--log")
    with writers_blocked(db_url):
        stalled = subprocess.Popen(join, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        wait_until(lambda: lock_waiters(service) or stalled.poll() is not None,
                   "the worker inside a slice")
        assert stalled.poll() is None
        stalled.send_signal(signal.SIGSTOP)
    try:
        other = subprocess.run(join, env=env, capture_output=True, text=True, timeout=120)
        assert other.returncode == 0, other.stderr
        assert run_status(service, run.run_id) == "done"
    finally:
        stalled.send_signal(signal.SIGCONT)
        out, err = stalled.communicate(timeout=60)
    assert stalled.returncode == 0, err
    assert "a slice was lost" in err
    assert run_credentials(service, run.run_id) == Counter(people)
    assert len(slices_done_by(service, run.run_id)) == 1  # the other worker did every slice
    assert audit_ok(service, env)
