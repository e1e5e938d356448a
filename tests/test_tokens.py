"""API tokens: the secret is shown once and kept only as a hash; scopes nest; revocation."""

import hashlib
import re

import pytest
from conftest import NOW
from sqlalchemy import select, text

from issuer.store import tokens
from issuer.store.db import AuditEntry, NotFound
from issuer.store.tokens import InsufficientScope, InvalidScope, Token, expand_scopes

DAY = 86_400


@pytest.mark.parametrize(("granted", "allowed"), [
    (["read"], {"read"}),
    (["write"], {"read", "write"}),
    (["review"], {"read", "review"}),
    (["write", "review"], {"read", "write", "review"}),
    (["admin"], {"read", "write", "review", "admin"}),
    (["read", "admin"], {"read", "write", "review", "admin"}),
])
def test_scopes_nest(granted, allowed):
    assert expand_scopes(granted) == allowed


@pytest.mark.parametrize("scopes", [[], ["root"], ["read", "superuser"], "Write", ""])
def test_unknown_scopes_are_refused(store, scopes):
    with pytest.raises(InvalidScope):
        store.create_token(scopes, "lab", actor="admin", now=NOW)
    assert store.list_tokens() == []
    assert store.verify_audit() == (0, None)


def test_secret_shown_once_and_stored_as_hash(store):
    token_id, presented = store.create_token("write", "city lab", actor="admin", now=NOW)
    assert re.fullmatch(r"hct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", presented)
    secret = presented.split("_", 2)[2]
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_token")).mappings().all()
    assert len(rows) == 1
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in rows[0].values())
    assert store.list_tokens() == [{"id": token_id, "label": "city lab", "scopes": ["write"],
                                    "created_at": NOW, "expires_at": None,
                                    "revoked_at": None}]


def test_authenticate(store):
    token_id, presented = store.create_token(["write"], "city lab", actor="admin", now=NOW)
    token = store.authenticate(presented)
    assert token == Token(id=token_id, label="city lab", granted=frozenset({"write"}),
                          scopes=frozenset({"read", "write"}), created_at=NOW)
    assert store.authenticate(f"  {presented}\n") == token


def test_scopes_are_enforced(store):
    _, reader = store.create_token("read", "dashboard", actor="admin", now=NOW)
    _, admin = store.create_token("admin", "ops", actor="admin", now=NOW)
    read_token, admin_token = store.authenticate(reader), store.authenticate(admin)
    assert read_token.allows("read") and not read_token.allows("write")
    read_token.require("read")
    with pytest.raises(InsufficientScope) as caught:
        read_token.require("write")
    assert (caught.value.token_id, caught.value.needed) == (read_token.id, "write")
    for scope in ("read", "write", "admin"):
        admin_token.require(scope)


def wrong_forms(presented: str) -> dict[str, str]:
    prefix, token_id, secret = presented.split("_", 2)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    return {
        "empty": "",
        "wrong secret": f"{prefix}_{token_id}_{flipped}",
        "secret cut": f"{prefix}_{token_id}_{secret[:-1]}",
        "secret longer": f"{presented}x",
        "no secret": f"{prefix}_{token_id}_",
        "unknown id": f"{prefix}_{'0' * 16}_{secret}",
        "other prefix": f"xyz_{token_id}_{secret}",
        "bearer prefix kept": f"Bearer {presented}",
        "id only": token_id,
        "secret only": secret,
        "hash of the secret": f"{prefix}_{token_id}_{hashlib.sha256(secret.encode()).hexdigest()}",
    }


@pytest.mark.parametrize("form", wrong_forms("hct_" + "a" * 16 + "_" + "s" * 43).keys())
def test_wrong_tokens_are_refused(store, form):
    _, presented = store.create_token("admin", "ops", actor="admin", now=NOW)
    assert store.authenticate(wrong_forms(presented)[form]) is None


def test_revoked_tokens_are_refused(store):
    token_id, presented = store.create_token("write", "lab", actor="admin", now=NOW)
    _, other = store.create_token("write", "other lab", actor="admin", now=NOW)
    store.revoke_token(token_id, actor="admin", reason="lab closed", now=NOW + 60)
    assert store.authenticate(presented) is None
    assert store.authenticate(other) is not None
    store.revoke_token(token_id, actor="admin", now=NOW + 120)
    listed = {t["id"]: t["revoked_at"] for t in store.list_tokens()}
    assert listed[token_id] == NOW + 60  # revoking again keeps the first time
    with pytest.raises(NotFound):
        store.revoke_token("0" * 16, actor="admin")


def test_token_changes_are_audited(store):
    token_id, _ = store.create_token("write", "lab", actor="admin", now=NOW)
    store.revoke_token(token_id, actor="admin", reason="lab closed", now=NOW + 60)
    with store.reading() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.reason,
                                         AuditEntry.person_id).order_by(AuditEntry.seq)).all()
    assert [tuple(a) for a in actions] == [("token.create", "token created", None),
                       ("token.revoke", "lab closed", None)]
    assert store.verify_audit() == (2, None)


def test_module_api_without_the_store(store):
    with store.writing() as session:
        token_id, presented = tokens.create_token(session, {"read"}, "script")
    with store.reading() as session:
        assert tokens.authenticate(session, presented).id == token_id
        assert tokens.parse_presented(presented) == (token_id, presented.split("_", 2)[2])
        assert tokens.parse_presented("hct_short_x") is None


def _audit(store) -> list[tuple]:
    with store.reading() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.action, AuditEntry.reason, AuditEntry.details_json)
            .order_by(AuditEntry.seq))]


def test_a_token_is_refused_from_its_expiry_on_and_that_is_audited_once(store):
    token_id, presented = store.create_token("write", "lab", actor="admin", now=NOW,
                                             expires_at=NOW + 90 * DAY)
    _, lasting = store.create_token("read", "dashboard", actor="admin", now=NOW)
    token = store.authenticate(presented, now=NOW + 90 * DAY - 1)
    assert token is not None and token.expires_at == NOW + 90 * DAY
    for attempt in range(3):
        assert store.authenticate(presented, now=NOW + 90 * DAY + attempt) is None
    assert store.authenticate(lasting, now=NOW + 900 * DAY) is not None  # no expiry: lasts
    expired = [entry for entry in _audit(store) if entry[0] == "token.expire"]
    assert len(expired) == 1 and token_id in expired[0][2]  # the first refusal, once
    listed = {t["id"]: t for t in store.list_tokens()}[token_id]
    assert (listed["expires_at"], listed["revoked_at"]) == (NOW + 90 * DAY, NOW + 90 * DAY)
    assert "token.create" in _audit(store)[0][0] and str(NOW + 90 * DAY) in _audit(store)[0][2]
    assert store.verify_audit()[1] is None


def test_a_wrong_secret_for_an_expired_token_writes_nothing(store):
    token_id, presented = store.create_token("write", "lab", actor="admin", now=NOW,
                                             expires_at=NOW + DAY)
    wrong = wrong_forms(presented)["wrong secret"]
    assert store.authenticate(wrong, now=NOW + 2 * DAY) is None
    assert [entry[0] for entry in _audit(store)] == ["token.create"]


@pytest.mark.parametrize("expires_at", [NOW, NOW - 1])
def test_a_token_must_expire_after_it_is_made(store, expires_at):
    with pytest.raises(ValueError, match="expire after"):
        store.create_token("read", "lab", actor="admin", now=NOW, expires_at=expires_at)
    assert store.list_tokens() == []


@pytest.mark.parametrize("token_id", ["0123456789abcd\x00f", "../../../etc/passwd", "\x00"])
def test_odd_token_ids_are_not_found_not_a_database_error(store, token_id):
    """A NUL reached PostgreSQL (DataError: a 500 on the API) before the id's shape was
    checked."""
    presented = f"hct_{token_id}_{'s' * 43}"
    assert store.authenticate(presented) is None
    with pytest.raises(NotFound):
        store.revoke_token(token_id, actor="admin")
