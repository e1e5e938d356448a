"""What the holder's phone is given to check the public log (/me/log.json), and the public
proof API (/log/proof/…), on SQLite and PostgreSQL: every proof checks with the verifier's
library against the signed checkpoint; the holder's key finds exactly their own leaves;
entries after the checkpoint are pending, other people's are refused; the consistency proof
joins the checkpoint a phone saw to the one it is shown; bad input is a 400 with its reason."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlalchemy import text
from test_mydata import _jwk

from issuer.store.public_log import commitment
from verifier.tlog.checkpoint import open_checkpoint
from verifier.tlog.merkle import leaf_hash, verify_consistency, verify_inclusion

HTTPS = "https://localhost"
WHO = {"name": "赵六", "id_number": "330106197705057890", "phone": "+8613700000077",
       "organisation": "Shangcheng"}
OTHER = {"name": "钱七", "id_number": "330106196606066789", "phone": "+8613700000088",
         "organisation": "Binjiang"}


def _person(service, who: dict[str, str], records: int) -> tuple[str, str]:
    """A person with ``records`` step counts and a bound phone; ``(id, session id)``."""
    person = service.create_person(actor="clerk", **who)
    for n in range(records):
        service.add_observation(person, actor="lab", kind="steps", value=8000 + n,
                                observed_at=int(time.time()) - 60 * n, source="watch")
    token = service.store.create_enrolment(person, actor="clerk")
    _, _, session = service.store.redeem_enrolment(token, _jwk())
    return person, session


def _phone(app, session: str):
    client = app.test_client()
    with client.session_transaction(base_url=HTTPS) as cookie:
        cookie["sid"], cookie.permanent = session, True
    return client


def _mine(service, person: str) -> list[int]:
    return sorted(e["details"]["log"] for e in service.store.audit_entries(person)
                  if "log" in e["details"])


def _get(client, query: str = "") -> dict:
    response = client.get(f"/me/log.json{query}", base_url=HTTPS)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def holder(v3_app):
    v3_app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    service = v3_app.extensions["healthcode"]
    person, session = _person(service, WHO, 5)
    other, _ = _person(service, OTHER, 2)
    return v3_app, service, person, other, _phone(v3_app, session)


def _b(text: str) -> bytes:
    return base64.b64decode(text)


def test_every_entry_of_the_holder_is_proved_in_the_signed_checkpoint(holder):
    app, service, person, other, phone = holder
    log = app.extensions["healthcode.log"]
    mine, theirs = _mine(service, person), _mine(service, other)
    assert len(mine) == 5 and theirs  # five records (no code issued yet)
    data = _get(phone, "?index=" + ",".join(map(str, mine + theirs[:1])))
    assert data["vkey"] == log.verifier.vkey and data["origin"] == log.origin
    opened = open_checkpoint(data["checkpoint"], data["origin"], [log.verifier])
    size, root = opened.checkpoint.size, opened.checkpoint.root
    assert size == data["size"] == log.size()
    assert [e["index"] for e in data["entries"]] == mine and data["pending"] == []
    assert data["unknown"] == theirs[:1]  # someone else's leaf: not given
    key = _b(data["key"])
    for entry in data["entries"]:
        leaf = json.loads(entry["leaf"])
        assert leaf["who"] == commitment(key, entry["index"])
        verify_inclusion(leaf_hash(entry["leaf"].encode()), entry["index"], size,
                         [_b(h) for h in entry["proof"]], root)
    # The key tells the holder's leaves from the others': none of theirs is the holder's.
    for index, leaf in log.leaves(theirs).items():
        assert json.loads(leaf)["who"] != commitment(key, index)
    assert "赵六" not in json.dumps(data, ensure_ascii=False)  # nothing personal but the key


def test_later_entries_are_pending_and_consistency_joins_what_the_phone_saw(holder):
    app, service, person, _, phone = holder
    log = app.extensions["healthcode.log"]
    first = _get(phone)
    seen = open_checkpoint(first["checkpoint"], log.origin, [log.verifier]).checkpoint
    app.config["LOG_CHECKPOINT_INTERVAL"] = 3600  # the next change waits for a checkpoint
    service.add_observation(person, actor="lab", kind="steps", value=1, source="watch",
                            observed_at=int(time.time()))
    newest = _mine(service, person)[-1]
    assert newest >= seen.size
    waiting = _get(phone, f"?index={newest}&since={seen.size}")
    assert waiting["pending"] == [newest] and waiting["entries"] == []
    assert waiting["consistency"] == []  # the same checkpoint: nothing to prove
    app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    grown = _get(phone, f"?index={newest}&since={seen.size}")
    now = open_checkpoint(grown["checkpoint"], log.origin, [log.verifier]).checkpoint
    assert now.size > seen.size and [e["index"] for e in grown["entries"]] == [newest]
    verify_consistency(seen.size, now.size, seen.root, now.root,
                       [_b(h) for h in grown["consistency"]])
    assert _get(phone, f"?since={now.size + 5}")["consistency"] is None  # the phone saw more


@pytest.mark.parametrize("query", ["?index=x", "?index=1,,2", "?index=-1", "?since=-1",
                                   "?since=1e3", "?index=" + ",".join(map(str, range(65))),
                                   "?since=" + "9" * 40])
def test_malformed_questions_are_refused(holder, query):
    phone = holder[-1]
    response = phone.get(f"/me/log.json{query}", base_url=HTTPS)
    assert (response.status_code, response.get_json()["problem"]) == (400, "bad_request")


def test_only_a_signed_in_holder_gets_a_key(v3_app):
    response = v3_app.test_client().get("/me/log.json", base_url=HTTPS)
    assert response.status_code == 401


def test_the_public_proof_api(holder):
    app, service, person, _, _ = holder
    log = app.extensions["healthcode.log"]
    client = app.test_client()
    note = client.get("/log/checkpoint").get_data(as_text=True)
    checkpoint = open_checkpoint(note, log.origin, [log.verifier]).checkpoint
    size, root = checkpoint.size, checkpoint.root
    for index in (0, size // 2, size - 1):
        answer = client.get(f"/log/proof/inclusion?index={index}&size={size}").get_json()
        leaf = log.leaves([index])[index]
        verify_inclusion(leaf_hash(leaf.encode()), index, size,
                         [_b(h) for h in answer["proof"]], root)
    answer = client.get(f"/log/proof/consistency?from=3&to={size}").get_json()
    old = log.checkpoint(3).split("\n")[2]
    verify_consistency(3, size, _b(old), root, [_b(h) for h in answer["proof"]])
    for path in (f"/log/proof/inclusion?index={size}&size={size}",
                 f"/log/proof/inclusion?index=0&size={size + 1}",
                 "/log/proof/inclusion?index=0", "/log/proof/inclusion?index=a&size=2",
                 f"/log/proof/consistency?from=0&to={size}",
                 "/log/proof/consistency?from=4&to=3",
                 f"/log/proof/consistency?from=1&to={10**30}"):
        response = client.get(path)
        assert (response.status_code, response.get_json()["problem"]) == (400, "bad_index")


def test_a_log_cut_short_under_its_checkpoint_gives_no_proofs(holder):
    app, service, person, _, phone = holder
    first = _get(phone)
    app.config["LOG_CHECKPOINT_INTERVAL"] = 3600  # the checkpoint stays as it was
    with service.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM log_leaf WHERE idx = (SELECT max(idx) FROM log_leaf)"))
    mine = _mine(service, person)
    data = _get(phone, f"?index={','.join(map(str, mine))}&since={first['size'] - 1}")
    assert data["size"] == first["size"] and data["consistency"] is None
    assert data["entries"] and all(e["proof"] is None for e in data["entries"])
