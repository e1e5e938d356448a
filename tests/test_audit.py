"""The audit log: a hash chain that shows where it was edited, cut or reordered."""

import hashlib
import threading

import pytest
from conftest import NOW
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from issuer.store import Store, audit
from issuer.store.audit import GENESIS_HASH, BreakReason, ChainBreak
from issuer.store.db import AuditEntry

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
    assert [e["details"] for e in store.audit_entries("p-C")] == [{"n": 0}, {"n": 1}, {"n": 2}]


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
