"""The checkpoint `audit verify` saves and resumes from (issuer/service/auditlog.py), as an
operator runs it; and the API's watch starting from it."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest
from conftest import NOW, TEST_PASSPHRASE
from test_audit import PERSON, _rewrite_from, downgraded, fetch, run_cli, server, service, tamper  # noqa: F401 (fixtures)

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.auditlog import (
    HeadError,
    HeadProblem,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    signed_head,
)
from issuer.service.issuance import IssuerService
from issuer.store.audit_store import FULL_CHECK_INTERVAL
from verifier.keys import b64url, b64url_decode


def steps(issuer, person: str, n: int) -> int:
    """Record ``n`` step counts; return how many entries that appended."""
    before = issuer.store.audit_head()[0]
    for i in range(n):
        issuer.add_observation(person, actor="holder", kind="steps", value=8000 + i,
                               observed_at=NOW + 10 + i, source="phone", now=NOW + 20 + i)
    return issuer.store.audit_head()[0] - before


def test_audit_verify_resumes_from_its_checkpoint(service):  # noqa: F811
    person = downgraded(service)
    first = run_cli(service, "verify")
    assert first.returncode == 0, first.stderr
    assert "audit chain OK: 5 entries (full check: 5 verified)" in first.stdout
    assert f"checkpoint saved: size 5 ({checkpoint_path(service)})" in first.stdout
    mode = checkpoint_path(service).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(checkpoint_path(service).parent.stat().st_mode) == 0o700
    saved = load_checkpoint(service)
    assert saved.marks.size == 5 and saved.full_at == saved.iat
    again = run_cli(service, "verify")
    assert "audit chain OK: 5 entries (0 appended since the checkpoint" in again.stdout
    appended = steps(service, person, 3)
    resumed = run_cli(service, "verify")
    assert resumed.returncode == 0, resumed.stderr
    assert (f"audit chain OK: {5 + appended} entries ({appended} appended since the checkpoint"
            in resumed.stdout) and "at size 5 verified" in resumed.stdout
    assert ("tables OK: 0 people, 3 observations, 0 credentials, 3 public log leaves (the rows "
            "the new entries record) match the log") in resumed.stdout
    after = load_checkpoint(service)
    assert after.marks.size == 5 + appended and after.full_at == saved.full_at  # not a full one
    full = run_cli(service, "verify", "--full")
    assert f"full check: {5 + appended} verified" in full.stdout
    assert "tables OK: 1 people, 4 observations, 1 credentials, 7 public log leaves match the " \
        "log" in full.stdout


def test_only_full_reads_an_old_row_again(service):  # noqa: F811
    downgraded(service)
    assert run_cli(service, "verify").returncode == 0
    tamper(service.store, "UPDATE observation SET value_json = '\"negative\"'")
    resumed = run_cli(service, "verify")  # by design: nothing new, nothing re-read
    assert resumed.returncode == 0 and "0 appended since" in resumed.stdout
    full = run_cli(service, "verify", "--full")
    assert full.returncode == 1 and ": observation_changed" in full.stderr
    assert "checkpoint saved" not in full.stdout


def test_a_log_that_no_longer_holds_the_checkpoint_fails_both_ways(service):  # noqa: F811
    downgraded(service)
    assert run_cli(service, "verify").returncode == 0
    tamper(service.store, _rewrite_from(2), log=True)  # the chain holds again on its own
    for args in ((), ("--full",)):
        broken = run_cli(service, "verify", *args)
        assert broken.returncode == 1
        assert "audit chain BROKEN at entry 5: head_mismatch" in broken.stderr
        assert "no longer holds the checkpoint" in broken.stderr
        assert str(checkpoint_path(service)) in broken.stderr
    assert load_checkpoint(service).marks.size == 5  # not replaced by a failed check


def _payload_edited(document: bytes, _service, _tmp_path) -> bytes:
    jws = json.loads(document)
    payload = json.loads(b64url_decode(jws["payload"]))
    jws["payload"] = b64url(json.dumps({**payload, "size": 1}).encode())
    return json.dumps(jws).encode()


def _of_another_issuer(_document: bytes, _issuer, tmp_path) -> bytes:
    stranger = Home(tmp_path / "stranger")
    init_home(stranger, now=NOW)
    other = IssuerService.open(stranger, database_url=f"sqlite:///{tmp_path / 'other.db'}")
    try:
        save_checkpoint(other, other.audit_report())
        return checkpoint_path(other).read_bytes()
    finally:
        other.close()


def _of_another_database(_document: bytes, issuer, tmp_path) -> bytes:
    other = IssuerService.open(issuer.home, database_url=f"sqlite:///{tmp_path / 'other.db'}")
    try:
        save_checkpoint(other, other.audit_report())
        return checkpoint_path(other).read_bytes()
    finally:
        other.close()


FORGERIES = {
    "size moved back": (_payload_edited, HeadProblem.BAD_SIGNATURE),
    "not a document": (lambda *_: b"\x00garbage", HeadProblem.MALFORMED),
    "empty": (lambda *_: b"", HeadProblem.MALFORMED),
    "signed by another issuer": (_of_another_issuer, HeadProblem.UNKNOWN_SIGNER),
    "a head, not a checkpoint": (lambda _d, issuer, _t: signed_head(issuer),
                                 HeadProblem.MALFORMED),
    "another database's": (_of_another_database, HeadProblem.OTHER_DATABASE),
}


@pytest.mark.parametrize(("forge", "problem"), FORGERIES.values(), ids=FORGERIES.keys())
def test_a_tampered_checkpoint_is_refused(service, tmp_path, forge, problem):  # noqa: F811
    downgraded(service)
    assert run_cli(service, "verify").returncode == 0
    path = checkpoint_path(service)
    path.write_bytes(forge(path.read_bytes(), service, tmp_path))
    with pytest.raises(HeadError) as refused:
        load_checkpoint(service)
    assert refused.value.problem is problem
    for args in ((), ("--full",)):
        result = run_cli(service, "verify", *args)
        assert result.returncode == 1
        assert f"audit checkpoint REFUSED: {problem}" in result.stderr
        assert "move it away and run `audit verify --full`" in result.stderr


CRASH = textwrap.dedent("""
    import os, signal, sys
    from issuer.service.auditlog import load_checkpoint, save_checkpoint
    from issuer.service.issuance import IssuerService
    service = IssuerService.open(sys.argv[1], database_url=sys.argv[2])
    report = service.audit_report(since=load_checkpoint(service).marks)
    assert report.ok and report.marks.size > 5
    os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # dies before the rename
    save_checkpoint(service, report)
""")


def test_a_crash_while_saving_leaves_the_old_checkpoint(service):  # noqa: F811
    person = downgraded(service)
    assert run_cli(service, "verify").returncode == 0
    old = checkpoint_path(service).read_bytes()
    steps(service, person, 2)
    url = service.store.engine.url.render_as_string(hide_password=False)
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(service.home.root), url],
                             env={**os.environ, PASSPHRASE_ENV: TEST_PASSPHRASE},
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == -9, crashed.stderr
    folder = checkpoint_path(service).parent
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]  # what a crash leaves
    assert checkpoint_path(service).read_bytes() == old
    assert load_checkpoint(service).marks.size == 5
    resumed = run_cli(service, "verify")
    assert resumed.returncode == 0, resumed.stderr
    assert "at size 5 verified" in resumed.stdout
    assert load_checkpoint(service).marks.size == 5 + 2


def test_the_api_watch_starts_from_the_checkpoint(service, server):  # noqa: F811
    """With a checkpoint, a process verifies from it, not from the first entry: an entry
    before it edited in place (another person's, so not among the trail's own) is not read;
    without one, the first request reads everything and sees it."""
    base, app_service = server
    person = downgraded(service)
    other = service.create_person(actor="clerk", **{**PERSON, "id_number": "330106199003079999",
                                                    "phone": "+86 138 0571 9876"}, now=NOW + 5)
    token = service.create_token("read", "auditor", NOW)[1]
    assert run_cli(service, "verify").returncode == 0
    size = load_checkpoint(service).marks.size
    steps(service, person, 1)
    tamper(service.store, f"UPDATE audit_entry SET reason = 'x' WHERE person_id = '{other}'",
           log=True)
    url = f"{base}/api/people/{person}/audit"
    trail = json.loads(fetch(url, token)[2])
    assert trail["chain_ok"] and trail["checkpoint"]["size"] == size
    assert trail["verified_through"] == service.store.audit_head()[0]
    assert trail["checkpoint"]["full_at"] == load_checkpoint(service).full_at
    # The same process, its periodic check due: again from the checkpoint, not the start.
    later = app_service.audit(person, now=trail["full_check_at"] + FULL_CHECK_INTERVAL)
    assert later["chain_ok"] and later["full_check_at"] > trail["full_check_at"]
    checkpoint_path(service).unlink()  # no checkpoint: the next full check reads everything
    later = app_service.audit(person, now=later["full_check_at"] + FULL_CHECK_INTERVAL)
    assert not later["chain_ok"] and later["checkpoint"] is None
