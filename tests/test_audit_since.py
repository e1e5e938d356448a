"""The audit check resumed from a checkpoint (issuer/store/audit_since.py): only what was
appended since is read, and what that leaves to the full check."""

import pytest
from conftest import NOW
from sqlalchemy import text
from test_audit import (
    PERSON,
    TABLE_TAMPERINGS,
    _insert_observation,
    _rewrite_from,
    _unlogged_person,
    populate,
    tamper,
)

from issuer.store import audit_scan, audit_since
from issuer.store.audit import BreakReason
from issuer.store.audit_scan import Ids
from issuer.store.audit_since import check_since, origin

NEW_PHONE = "+86 138 0571 9876"


def checkpoint(store):
    """A full check that passes, and the marks it ended at."""
    report = store.audit_report()
    assert report.ok and report.since is None and report.marks is not None
    return report.marks


def append_some(store, ids: dict[str, str]) -> int:
    """What a day adds after the checkpoint: a person, observations, a credential issued and
    revoked, an old credential revoked; return how many entries that was."""
    with store.reading() as session:
        before = session.execute(text("SELECT max(seq) FROM audit_entry")).scalar_one()
    other = store.create_person(**{**PERSON, "id_number": "330106199003079999",
                                   "phone": NEW_PHONE}, actor="clerk", now=NOW + 100)
    store.add_observation(other, "steps", 9000, NOW + 50, "phone", actor="holder", now=NOW + 101)
    store.add_observation(ids["person"], "test_result", "negative", NOW + 60, "city lab",
                          actor="lab", now=NOW + 102)
    cti = store.record_credential(
        other, cti="ab" * 16, text="HCC1:NEW", colour="green", score=90,
        policy_id="hangzhou-2020", policy_digest=bytes(8), iat=NOW + 103, exp=NOW + 86_400,
        actor="issuer", now=NOW + 103)["cti"]
    store.revoke(cti, actor="clerk", reason="reprinted", now=NOW + 104)
    store.revoke(ids["valid"], actor="clerk", reason="lost card", now=NOW + 105)
    with store.reading() as session:
        return session.execute(text("SELECT max(seq) FROM audit_entry")).scalar_one() - before


def test_resuming_checks_only_what_was_appended(store):
    ids = populate(store)
    marks = checkpoint(store)
    assert marks.size == 6 and marks.macs
    again = store.audit_report(since=marks)
    assert again.ok and again.checked == 0 and again.marks == marks
    appended = append_some(store, ids)
    report = store.audit_report(since=marks)
    assert report.ok, report.problem
    assert report.checked == appended == 6 and report.count == marks.size + appended
    # Only the rows the new entries record: the new person, two observations, the new
    # credential and the old one it revoked (not the first, revoked before the checkpoint).
    assert report.tables.checked == {"person": 1, "observation": 2, "credential": 1,
                                     "log_leaf": 5}
    assert report.marks.size == report.count and report.marks.observation > marks.observation
    assert store.audit_report(since=report.marks).checked == 0


def _revoke_behind_the_log(connection) -> None:
    connection.execute(text(f"UPDATE credential SET revoked_at = {NOW + 999} "
                            "WHERE revoked_at IS NULL AND text = 'HCC1:TEST2'"))


# Table edits after the checkpoint: each found by the resumed check, reading only new rows.
SINCE_TAMPERINGS = {
    "new observation changed": (
        "UPDATE observation SET value_json = '\"positive\"' WHERE value_json = '\"negative\"'",
        "observation_changed"),
    "new observation deleted": ("DELETE FROM observation WHERE value_json = '\"negative\"'",
                                "observation_missing"),
    "new revocation cleared": ("UPDATE credential SET revoked_at = NULL "
                               "WHERE text = 'HCC1:NEW'", "revocation_mismatch"),
    "old credential's new revocation cleared": (
        "UPDATE credential SET revoked_at = NULL WHERE text = 'HCC1:TEST2'",
        "revocation_mismatch"),
    "new credential turned red": ("UPDATE credential SET colour = 'red' "
                                  "WHERE text = 'HCC1:NEW'", "credential_changed"),
    "new credential deleted": ("DELETE FROM credential WHERE text = 'HCC1:NEW'",
                               "credential_missing"),
    "observation slipped in": (_insert_observation, "observation_unlogged"),
    "person slipped in": (_unlogged_person, "person_unlogged"),
}


@pytest.mark.parametrize(("statement", "code"), SINCE_TAMPERINGS.values(),
                         ids=SINCE_TAMPERINGS.keys())
def test_a_table_edit_since_the_checkpoint_is_found(store, statement, code):
    ids = populate(store)
    marks = checkpoint(store)
    append_some(store, ids)
    tamper(store, statement)
    report = store.audit_report(since=marks)
    assert report.broken is None and not report.ok and report.marks is None
    assert {m.code for m in report.tables.mismatches} == {code}


def test_a_revocation_behind_the_log_since_the_checkpoint_is_found(store):
    populate(store)
    marks = checkpoint(store)
    tamper(store, _revoke_behind_the_log)  # an old credential, no entry appended at all
    report = store.audit_report(since=marks)
    assert report.checked == 0
    assert [m.code for m in report.tables.mismatches] == ["revocation_mismatch"]


def test_lookups_one_key_at_a_time_find_the_same(store, monkeypatch):
    """Rows streamed while each batch is looked up (one key per batch here): the lookups
    interleave with the open stream, on both backends."""
    ids = populate(store)
    marks = checkpoint(store)
    tamper(store, _revoke_behind_the_log)  # so the day's revocation of it changes nothing
    append_some(store, ids)
    tamper(store, _unlogged_person, _insert_observation)
    monkeypatch.setattr(audit_scan, "KEYS", 1)
    monkeypatch.setattr(audit_since, "KEYS", 1)
    report = store.audit_report(since=marks)
    assert sorted(m.code for m in report.tables.mismatches) == [
        "observation_unlogged", "person_unlogged", "revocation_mismatch"]


def test_an_entry_edited_after_the_checkpoint_is_found(store):
    ids = populate(store)
    marks = checkpoint(store)
    append_some(store, ids)
    tamper(store, f"UPDATE audit_entry SET reason = 'nothing' WHERE seq = {marks.size + 2}",
           log=True)
    report = store.audit_report(since=marks)
    assert (report.broken.seq, report.broken.reason) == (marks.size + 2,
                                                          BreakReason.HASH_MISMATCH)
    assert not report.ok and report.marks is None


@pytest.mark.parametrize(("statement", "reason"), [
    (_rewrite_from(2), BreakReason.HEAD_MISMATCH),
    ("DELETE FROM audit_entry WHERE seq > 3", BreakReason.TRUNCATED),
], ids=["edited before it and re-hashed up to it", "cut below it"])
def test_a_log_rewritten_up_to_the_checkpoint_is_found(store, statement, reason):
    populate(store)
    marks = checkpoint(store)
    tamper(store, statement, log=True)
    report = store.audit_report(since=marks)
    assert (report.broken.seq, report.broken.reason) == (marks.size, reason)
    # The full check must hold the checkpoint too, or it would pass (and save) a cut log.
    full = store.audit_report(hold=(marks.size, marks.hash))
    assert (full.broken.seq, full.broken.reason) == (marks.size, reason)


# What the resumed check does not read, by design: the full check does.
BEFORE_TAMPERINGS = {
    "old result turned negative": (
        "UPDATE observation SET value_json = '\"negative\"' WHERE kind = 'test_result'",
        False, "observation_changed"),
    "old revocation cleared": ("UPDATE credential SET revoked_at = NULL "
                               "WHERE text = 'HCC1:TEST1'", False,
                               "revocation_mismatch"),
    "old entry edited in place": ("UPDATE audit_entry SET reason = 'x' WHERE seq = 2", True,
                                  "hash_mismatch"),
}


@pytest.mark.parametrize(("statement", "log", "code"), BEFORE_TAMPERINGS.values(),
                         ids=BEFORE_TAMPERINGS.keys())
def test_what_resuming_leaves_to_the_full_check(store, statement, log, code):
    ids = populate(store)
    marks = checkpoint(store)
    append_some(store, ids)
    tamper(store, statement, log=log)
    assert store.audit_report(since=marks).ok  # not read: the documented limit
    full = store.audit_report(hold=(marks.size, marks.hash))
    found = full.broken.reason if full.broken is not None else full.tables.mismatches[0].code
    assert not full.ok and found == code


def test_slices_carry_what_a_later_slice_settles(store):
    """Verified two entries at a time: a credential issued in one slice and revoked in a
    later one holds; one revoked in the table and in no slice does not."""
    ids = populate(store)
    marks = checkpoint(store)
    append_some(store, ids)
    with store.reading() as session:
        found = check_since(session, store.data_keys, marks, size=2)
    assert found.broken is None and found.tables.count == 0 and found.checked == 6
    tamper(store, f"DELETE FROM audit_entry WHERE seq > {marks.size + 4}", log=True)
    with store.reading() as session:  # neither revocation is logged any more
        found = check_since(session, store.data_keys, marks, size=2)
    assert [(m.code, m.seq) for m in found.tables.mismatches] == [
        ("revocation_mismatch", None)] * 2


def test_a_revocation_dated_before_the_checkpoint_waits_for_its_slice(store):
    """A new credential revoked by a clock behind the checkpoint's (at or before its mark):
    one slice issues it, a later one revokes it, and that holds; unlogged, it does not."""
    ids = populate(store)
    marks = checkpoint(store)
    cti = store.record_credential(
        ids["person"], cti="cd" * 16, text="HCC1:LATE", colour="red", score=20,
        policy_id="hangzhou-2020", policy_digest=bytes(8), iat=NOW + 200, exp=NOW + 86_400,
        actor="issuer", now=NOW + 200)["cti"]
    store.revoke(cti, actor="clerk", reason="lost card", now=marks.revoked - 1)
    with store.reading() as session:
        found = check_since(session, store.data_keys, marks, size=1)
    assert found.checked == 2 and found.tables.count == 0
    tamper(store, f"DELETE FROM audit_entry WHERE seq = {marks.size + 2}", log=True)
    with store.reading() as session:
        found = check_since(session, store.data_keys, marks, size=1)
    assert [(m.code, m.key) for m in found.tables.mismatches] == [("revocation_mismatch", cti)]


def test_an_id_set_keeps_dense_ids_in_bytes_and_far_ones_apart():
    ids = Ids(floor=100)
    ids.update([101, 105, 100, 7, 101 + Ids.DENSE, 2**62])
    assert [k in ids for k in (101, 105, 102, 100, 7, 101 + Ids.DENSE, 2**62, 2**61)] == [
        True, True, False, False, False, True, True, False]
    assert len(ids._dense) <= Ids.DENSE


@pytest.mark.parametrize(("statement", "code"), TABLE_TAMPERINGS.values(),
                         ids=TABLE_TAMPERINGS.keys())
def test_the_full_check_finds_the_same_one_entry_at_a_time(store, statement, code):
    """`audit verify --full` walks the log from the first entry in slices (memory bounded at
    any size): slices of one entry, which part every row from the entries after it (an issue
    from its revocation, a person from their observations), find what one slice finds."""
    populate(store)
    tamper(store, statement)
    with store.reading() as session:
        found = check_since(session, store.data_keys, origin(session), size=1)
    assert found.broken is None and found.checked == 6
    assert {m.code for m in found.tables.mismatches} == {code}
    assert [str(m) for m in found.tables.mismatches] == \
        [str(m) for m in store.audit_report().tables.mismatches]
