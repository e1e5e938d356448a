"""The public transparency log (issue 18), on SQLite and PostgreSQL: every audit entry that
changes what a person's code says gets a leaf with no personal data, its index recorded in the
entry; the issuer serves the log as C2SP tlog-tiles with a signed checkpoint, which the
verifier's client checks (from the issuer and from a mirror made with `python -m http.server`);
`audit verify` finds a leaf edited, deleted or added; a history rewritten under a new checkpoint
is refused by a client that kept an older one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DAY
from sqlalchemy import text
from test_audit import tamper
from test_erasure import APPEAL_WORDS, WHO

from issuer.service import appeals
from issuer.store import public_log
from issuer.store.db import LogLeaf
from verifier.tlog import LogClient, TlogError, TlogReason
from verifier.tlog.merkle import leaf_hash
from verifier.tlog.tiles import ENTRIES, Tile, tiles_for_size


def _history(service, at: int) -> tuple[str, list[str]]:
    """A person's recorded, re-scored, issued, appealed, voided and erased history; return
    their id and every value of theirs a leaf must not show."""
    person = service.create_person(actor="clerk", organisation="Xihu Clinic", now=at - DAY,
                                   **WHO)
    test = service.add_observation(person, actor="lab", kind="test_result", value="positive",
                                   observed_at=at - 3600, source="Xihu lab", now=at - 3600)
    code = service.issue(person, actor="clerk", now=at - 60, ttl=DAY)
    sent = appeals.open_appeal(service, person, observation_id=test["id"], reason=APPEAL_WORDS,
                               now=at - 50)
    appeals.decide(service, sent["id"], upheld=True, reason="the lab confirmed the mix-up",
                   actor="t-reviewer", now=at - 40)
    service.store.erase_person(person, actor="t-admin", reason="her request of 1 December",
                               now=at - 30)
    private = [*WHO.values(), person, "Xihu Clinic", "Xihu lab", APPEAL_WORDS, code["cti"],
               code["text"], sent["id"], "the lab confirmed", "her request"]
    return person, private


def rewrite_leaves(api, old: str, new: str) -> None:
    """Every leaf that says ``old`` says ``new``, rehashed, as whoever runs the database could
    make it; the issuer's log forgets the tiles it had made (a fresh process)."""
    with api.service.store.engine.begin() as connection:
        for idx, data in connection.execute(text("SELECT idx, data FROM log_leaf")).all():
            changed = data.replace(old, new)
            connection.execute(text("UPDATE log_leaf SET data = :d, hash = :h WHERE idx = :i"),
                               {"d": changed, "h": leaf_hash(changed.encode()), "i": idx})
    api.app.extensions["healthcode.log"]._full.clear()


def delete_leaf(api, says: str) -> int:
    """The first leaf that says ``says`` deleted, and the later ones moved down one, as
    whoever runs the database could do to make a colour change never have happened (the
    next checkpoint the log signs is of the shorter history); return the deleted index."""
    with api.service.store.engine.begin() as connection:
        rows = connection.execute(text("SELECT idx, data FROM log_leaf ORDER BY idx")).all()
        gone = next(idx for idx, data in rows if says in data)
        connection.execute(text("DELETE FROM log_leaf WHERE idx = :i"), {"i": gone})
        for idx, _ in rows[gone + 1:]:
            connection.execute(text("UPDATE log_leaf SET idx = :n WHERE idx = :i"),
                               {"n": idx - 1, "i": idx})
        connection.execute(text("DELETE FROM log_checkpoint"))
    api.app.extensions["healthcode.log"]._full.clear()
    return gone


def _leaves(service) -> list[tuple[int, int, dict]]:
    with service.store.reading() as session:
        return [(row.idx, row.seq, json.loads(row.data)) for row in
                session.query(LogLeaf).order_by(LogLeaf.idx)]


def test_each_change_is_a_leaf_with_nothing_personal(v3_service):
    service = v3_service
    person, private = _history(service, int(time.time()))
    leaves = _leaves(service)
    entries = {e["seq"]: e for e in service.store.audit_entries(person)}
    published = {seq: e for seq, e in entries.items() if "log" in e["details"]}
    assert [a for a in ("observation.add", "colour.change", "credential.issue", "appeal.decide",
                        "observation.void", "person.erase")
            if a not in {e["action"] for e in published.values()}] == []
    assert {e["action"] for e in entries.values()} - {e["action"] for e in published.values()} \
        <= {"person.create", "appeal.open", "credential.revoke_all"} | {"enrolment.create"}
    assert sorted(e["details"]["log"] for e in published.values()) == \
        [idx for idx, seq, _ in leaves if seq in published]
    # Nothing of the person in any field of any leaf, whole or in part.
    for _, _, body in leaves:
        flat = json.dumps(body, ensure_ascii=False)
        assert [p for p in private if p in flat] == [], body
        assert set(body) <= {"v", "t", "a", "by", "who", "why", "kind", "from", "to", "band",
                             "policy", "purpose", "run", "n", "decision", "voided"}
    # The holder's log key finds their leaves; to anyone else each looks unrelated.
    key = public_log.log_key(service.store.data_keys.derived(public_log.KEY_PURPOSE), person)
    mine = [idx for idx, _, body in leaves if body.get("who") == public_log.commitment(key, idx)]
    assert mine == sorted(e["details"]["log"] for e in published.values())
    assert len({body["who"] for _, _, body in leaves if "who" in body}) == len(mine)
    assert service.store.audit_report().ok


@pytest.mark.parametrize(("what", "statement", "code"), [
    ("edited", "UPDATE log_leaf SET data = replace(data, '\"to\":\"red\"', '\"to\":\"green\"')",
     "log_leaf_changed"),
    ("deleted", "DELETE FROM log_leaf WHERE idx = (SELECT max(idx) FROM log_leaf)",
     "log_leaf_missing"),
    ("added", "INSERT INTO log_leaf (idx, seq, data, hash) VALUES (999, 999999, '{}', :h)",
     "log_leaf_unlogged"),
])
def test_audit_verify_finds_a_leaf_changed_behind_the_log(v3_service, what, statement, code):
    service = v3_service
    _history(service, int(time.time()))
    assert service.store.audit_report().ok

    def change(connection):
        connection.execute(text(statement), {"h": leaf_hash(b"{}")})

    tamper(service.store, change)
    assert code in {m.code for m in service.store.audit_report().tables.mismatches}


def test_audit_verify_finds_a_change_deleted_and_the_rest_moved_down(api):
    api.service.create_person(actor="clerk", organisation="Xihu", **WHO)
    person = api.service.store.find_person(WHO["id_number"])
    for value in ("positive", "negative"):
        api.service.add_observation(person, actor="lab", kind="test_result", value=value,
                                    observed_at=int(time.time()) - 60, source="Xihu lab")
    assert api.service.store.audit_report().ok
    delete_leaf(api, '"to":"red"')
    codes = {m.code for m in api.service.store.audit_report().tables.mismatches}
    assert {"log_leaf_changed", "log_leaf_missing"} <= codes


def _client(api, **kwargs) -> LogClient:
    log = api.app.extensions["healthcode.log"]
    return LogClient(kwargs.pop("base", f"{api.base}/log"), log.origin, [log.verifier],
                     **kwargs)


def test_the_issuer_serves_a_log_the_client_checks(api):
    service = api.service
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0  # a new checkpoint as soon as it grows
    _history(service, int(time.time()))
    client = _client(api)
    first = client.checkpoint()
    size = first.checkpoint.size
    assert size == len(_leaves(service)) >= 7
    idx, _, body = _leaves(service)[3]
    leaf = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    proof = client.inclusion(leaf_hash(leaf), idx, first)
    assert proof.index == idx
    assert client.entries(0, size)[idx] == leaf
    # The log grows; the new checkpoint is consistent with the old.
    service.create_person(actor="clerk", organisation="Xihu", name="李四",
                          id_number="330106199001011234", phone="+8613700000099")
    person = service.store.find_person("330106199001011234")
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=int(time.time()), source="watch")
    second = client.checkpoint()
    assert second.checkpoint.size == size + 1
    client.consistency(first, second)


def test_a_rewritten_history_is_refused_by_a_client_that_kept_a_checkpoint(api):
    service = api.service
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    _history(service, int(time.time()))
    client = _client(api)
    kept = client.checkpoint()
    rewrite_leaves(api, '"to":"red"', '"to":"green"')  # the leaf that said red says green
    with pytest.raises(TlogError) as contradicted:  # the published checkpoint says otherwise
        _client(api).checkpoint()
    assert contradicted.value.reason is TlogReason.BAD_PROOF
    with service.store.engine.begin() as connection:  # so the operator signs it afresh
        connection.execute(text("DELETE FROM log_checkpoint"))
    rewritten = _client(api).checkpoint()
    assert rewritten.checkpoint.size == kept.checkpoint.size
    assert rewritten.checkpoint.root != kept.checkpoint.root
    service.create_person(actor="clerk", organisation="Xihu", name="李四",
                          id_number="330106199001011234", phone="+8613700000099")
    person = service.store.find_person("330106199001011234")
    service.add_observation(person, actor="lab", kind="steps", value=9000,
                            observed_at=int(time.time()), source="watch")
    grown = _client(api).checkpoint()
    with pytest.raises(TlogError) as refused:
        client.consistency(kept, grown)
    assert refused.value.reason in (TlogReason.INCONSISTENT, TlogReason.BAD_PROOF)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_mirror_served_by_http_server_verifies(api, tmp_path):
    service = api.service
    _history(service, int(time.time()))
    log = api.app.extensions["healthcode.log"]
    size = log.size()
    mirror = tmp_path / "mirror"
    note = log.checkpoint(size)
    (mirror / "checkpoint").parent.mkdir(parents=True)
    (mirror / "checkpoint").write_text(note)
    for tile in tiles_for_size(size):
        path = mirror / tile.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(log.tile(tile, size))
        if tile.level == 0:
            bundle = mirror / tile.path.replace("tile/0/", "tile/entries/")
            bundle.parent.mkdir(parents=True, exist_ok=True)
            bundle.write_bytes(log.tile(Tile(ENTRIES, tile.index, tile.width), size))
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(mirror)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = _client(api, base=f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                checkpoint = client.checkpoint()
                break
            except TlogError:
                time.sleep(0.05)
        assert checkpoint.checkpoint.size == size
        with service.store.reading() as session:
            stored = [row.data.encode() for row in session.query(LogLeaf).order_by(LogLeaf.idx)]
        assert client.entries(0, size) == stored  # each checked against its tile
    finally:
        server.terminate()
        server.wait(10)
    assert Path(mirror / "checkpoint").read_text() == note
