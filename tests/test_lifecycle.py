"""Trust lifecycle: key rotation, compromised keys, trust list versions and rollback, anchor
roll-over, several issuers, revocation, and sync over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DAY, NOW
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from werkzeug.serving import make_server

from issuer.cli import main as issuer_cli
from issuer.keys.home import Home
from issuer.keys.keystore import (
    MAX_CREDENTIAL_TTL,
    add_issuer,
    export_issuer,
    init_home,
    load_config,
    load_signing_key,
    publish_trust_list,
    retire_key,
    rotate_anchor,
    rotate_key,
)
from issuer.keys.signing import issue_credential
from issuer.service.issuance import IssuerService
from issuer.service.revocations import publish_revocations, revocation_path
from issuer.web import create_app
from verifier import Reason, TrustList, TrustListError, VerificationError, verify
from verifier.cli import main as verifier_cli
from verifier.keys import b64url, thumbprint
from verifier.revocation import Revocations
from verifier.sync import SYNC_STATE_FILE, sync
from verifier.timefmt import iso
from verifier.trust import check_successor

HOUR = 3600


@pytest.fixture
def home(fresh_home) -> Home:
    """An issuer home of the test's own (conftest's fresh_home)."""
    return fresh_home


def pin_of(home: Home) -> bytes:
    return thumbprint(load_pem_public_key(home.anchor_public.read_bytes()))


def sign(home: Home, iat: int, ttl: int = DAY, colour: str = "green") -> str:
    key, config, _ = load_signing_key(home)
    return issue_credential(key, iss=config.iss, colour=colour, score=80, iat=iat, ttl=ttl)


def reason(text: str, trust: TrustList, now: int, revocations=None) -> Reason | None:
    try:
        verify(text, trust, now, revocations)
    except VerificationError as exc:
        return exc.reason
    return None


def trust_at(home: Home, now: int, pin: bytes | None = None) -> TrustList:
    return TrustList.from_jws(home.trust_list.read_bytes(), pin or pin_of(home), now)


# Rotation -----------------------------------------------------------------------------------

def test_rotation_keeps_old_codes_verifying_until_they_expire(home):
    old_kid = load_config(home).current
    before = sign(home, NOW + 10, ttl=2 * DAY)
    rotate_key(home, now=NOW + HOUR)
    config = load_config(home)
    assert config.current != old_kid
    after = sign(home, NOW + 2 * HOUR)
    trust = trust_at(home, NOW + 3 * HOUR)
    assert len(trust.keys) == 2
    assert reason(before, trust, NOW + 3 * HOUR) is None  # old key: verification only
    assert reason(after, trust, NOW + 3 * HOUR) is None
    assert reason(before, trust, NOW + 2 * DAY + 10 + 301) is Reason.EXPIRED
    # It stays in the list until the last credential it could have signed has expired ...
    publish_trust_list(home, now=NOW + HOUR + MAX_CREDENTIAL_TTL)
    assert old_kid.encode() in {k.kid for k in trust_at(home, NOW + HOUR + MAX_CREDENTIAL_TTL)
                                .keys.values()}
    # ... and the first list published after that leaves it out.
    publish_trust_list(home, now=NOW + HOUR + MAX_CREDENTIAL_TTL + 1)
    late = trust_at(home, NOW + HOUR + MAX_CREDENTIAL_TTL + 1)
    assert [k.kid.decode() for k in late.keys.values()] == [config.current]


def test_a_rotated_out_key_signing_after_rotation_is_refused(home):
    key, config, _ = load_signing_key(home)  # the key about to be rotated out
    rotate_key(home, now=NOW + HOUR)
    stolen = issue_credential(key, iss=config.iss, colour="green", score=90, iat=NOW + 2 * HOUR,
                              ttl=DAY)
    assert reason(stolen, trust_at(home, NOW + 3 * HOUR), NOW + 3 * HOUR) \
        is Reason.KEY_NOT_VALID


def test_a_rotated_out_key_cannot_sign_a_newer_revocation_list(home):
    from issuer.keys.signing import sign_cose
    from verifier.errors import RevocationListError
    from verifier.revocation import RevocationList, encode_payload

    key, config, _ = load_signing_key(home)
    rotate_key(home, now=NOW + HOUR)
    empty = sign_cose(key, encode_payload(iss=config.iss, seq=NOW + 2 * HOUR, iat=NOW + 2 * HOUR,
                                          exp=NOW + DAY, ctis=[]))
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(empty, trust_at(home, NOW + 2 * HOUR))
    assert caught.value.reason is Reason.REVOCATION_LIST_BAD_SIGNATURE


def test_rotation_leaves_no_private_key_of_the_old_key(home):
    """A key in its verify-only period needs only its public half (issue 13, finding 2)."""
    old = load_config(home).current
    rotate_key(home, now=NOW + HOUR)
    config = load_config(home)
    assert not home.signing_key(old).exists()
    assert home.signing_key(config.current).exists()
    assert old in {k["kid"] for k in config.keys}  # still verifying, from its public JWK
    out = CliRunner().invoke(issuer_cli, ["keys", "rotate", "--home", str(home.root)])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in home.keys.glob("issuer-*.key.pem")) == [
        home.signing_key(load_config(home).current).name]


def test_the_service_signs_with_the_rotated_key_without_a_restart(home, tmp_path):
    service = IssuerService.open(home, f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        person = service.create_person(actor="t", name="A", id_number="X1", phone="13700000001",
                                       organisation="O", now=NOW)
        first = service.issue(person, actor="t", now=NOW + 10)
        rotate_key(home, now=NOW + HOUR)
        second = service.issue(person, actor="t", now=NOW + 2 * HOUR)
    finally:
        service.close()
    trust = trust_at(home, NOW + 2 * HOUR)
    kids = [verify(r["text"], trust, NOW + 2 * HOUR).kid.decode() for r in (first, second)]
    assert kids[1] == load_config(home).current != kids[0]


def test_a_compromised_key_is_out_of_the_trust_list_at_once(home):
    bad_kid = load_config(home).current
    code = sign(home, NOW + 10)
    retire_key(home, bad_kid, compromised=True, reason="laptop stolen", now=NOW + HOUR)
    config = load_config(home)
    assert config.current != bad_kid
    assert not home.signing_key(bad_kid).exists()
    assert config.retired[0]["compromised"] and config.retired[0]["kid"] == bad_kid
    trust = trust_at(home, NOW + HOUR)
    assert reason(code, trust, NOW + HOUR) is Reason.UNKNOWN_KEY
    assert reason(sign(home, NOW + HOUR + 1), trust, NOW + HOUR + 2) is None


def test_keys_cli_rotate_retire_list(home):
    runner = CliRunner()
    old = load_config(home).current
    out = runner.invoke(issuer_cli, ["keys", "rotate", "--home", str(home.root)])
    assert out.exit_code == 0, out.output
    assert "verifies until" in out.output
    refused = runner.invoke(issuer_cli, ["keys", "retire", load_config(home).current,
                                         "--home", str(home.root)])
    assert refused.exit_code == 1 and "rotate" in refused.output
    out = runner.invoke(issuer_cli, ["keys", "retire", old, "--compromised", "--reason", "leak",
                                     "--home", str(home.root)])
    assert out.exit_code == 0, out.output
    listing = runner.invoke(issuer_cli, ["keys", "list", "--home", str(home.root)]).output
    assert f"{old} retired" in listing and "(compromised)" in listing
    unknown = runner.invoke(issuer_cli, ["keys", "retire", "00" * 8, "--compromised",
                                         "--home", str(home.root)])
    assert unknown.exit_code == 1 and "no key" in unknown.output


@pytest.mark.parametrize("args", [["-Xb2kQ7a"], ["--", "-Xb2kQ7a"], ["--Xb2kQ7a"]])
def test_keys_cli_takes_a_kid_that_starts_with_a_dash(home, args):
    # Key ids are base64url: one in 32 starts with "-", and once made CI fail as an option.
    out = CliRunner().invoke(issuer_cli, ["keys", "retire", "--home", str(home.root), *args])
    assert out.exit_code == 1 and "no key" in out.output, out.output


# Versions, rollback, anchor roll-over --------------------------------------------------------

def test_an_older_or_equivocating_list_is_a_rollback(home):
    first = trust_at(home, NOW)
    old_bytes = home.trust_list.read_bytes()
    publish_trust_list(home, now=NOW + HOUR)
    second = trust_at(home, NOW + HOUR)
    assert second.sequence == first.sequence + 1
    check_successor(first, second)
    check_successor(second, second)
    with pytest.raises(TrustListError) as caught:
        check_successor(second, first)
    assert caught.value.reason is Reason.TRUST_LIST_ROLLBACK
    # Same sequence number, other content: signed by the real anchor, still refused.
    config = load_config(home)
    config.trust_list_seq -= 1
    publish_trust_list(home, config, now=NOW + 2 * HOUR)
    twin = trust_at(home, NOW + 2 * HOUR)
    assert twin.sequence == second.sequence and twin.digest != second.digest
    with pytest.raises(TrustListError) as caught:
        check_successor(second, twin)
    assert caught.value.reason is Reason.TRUST_LIST_ROLLBACK
    assert TrustList.from_jws(old_bytes, pin_of(home), NOW).sequence == first.sequence


def test_anchor_roll_over(home):
    old_pin = pin_of(home)
    rotate_anchor(home, now=NOW + HOUR, transition=10 * DAY)
    new_pin = pin_of(home)
    assert new_pin != old_pin
    document = json.loads(home.trust_list.read_bytes())
    assert len(document["signatures"]) == 2  # old and new anchor, general JWS
    rolled = trust_at(home, NOW + HOUR, old_pin)
    assert rolled.anchor == new_pin and rolled.rolled_over_from == old_pin
    assert thumbprint(load_pem_public_key(home.anchor_public.read_bytes())) \
        == thumbprint(_key_of(rolled.anchor_jwk))
    assert trust_at(home, NOW + HOUR, new_pin).rolled_over_from is None
    # After the transition only the new anchor signs: a verifier still on the old pin is
    # refused (it had ten days to sync), one on the new pin is fine.
    publish_trust_list(home, now=NOW + 11 * DAY)
    assert "signatures" not in json.loads(home.trust_list.read_bytes())
    assert not home.previous_anchor_private.exists()
    with pytest.raises(TrustListError) as caught:
        trust_at(home, NOW + 11 * DAY, old_pin)
    assert caught.value.reason is Reason.TRUST_LIST_BAD_SIGNATURE
    assert trust_at(home, NOW + 11 * DAY, new_pin).sequence == rolled.sequence + 1


def _key_of(jwk):
    from verifier.keys import jwk_to_key
    return jwk_to_key(jwk)[0]


def test_a_list_naming_an_anchor_that_did_not_sign_it_is_refused(home):
    from issuer.keys.keystore import _read_private, trust_list_payload
    from issuer.keys.signing import sign_jws
    from verifier.trust import TRUST_LIST_TYPE

    config = load_config(home)
    config.trust_list_seq += 1
    payload = trust_list_payload(config, NOW, anchor=b64url(b"\x01" * 32))
    forged = sign_jws(_read_private(home, home.anchor_private), payload, TRUST_LIST_TYPE)
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(forged, pin_of(home), NOW)
    assert caught.value.reason is Reason.TRUST_LIST_BAD_SIGNATURE
    assert "did not sign" in caught.value.detail


# Several issuers -------------------------------------------------------------------------------

def test_one_trust_list_carries_several_issuers(home, tmp_path):
    shanghai = Home(tmp_path / "shanghai")
    init_home(shanghai, iss="SH", name="Shanghai health code", now=NOW)
    add_issuer(home, export_issuer(shanghai), now=NOW + 10)
    trust = trust_at(home, NOW + 20)
    assert trust.issuers == {"HZ": "Hangzhou health code (demo issuer)",
                             "SH": "Shanghai health code"}
    hz, sh = sign(home, NOW + 30), sign(shanghai, NOW + 30)
    assert verify(hz, trust, NOW + 40).iss == "HZ"
    assert verify(sh, trust, NOW + 40).iss == "SH"
    # Shanghai's key cannot speak for Hangzhou.
    sh_key, _, _ = load_signing_key(shanghai)
    posing = issue_credential(sh_key, iss="HZ", colour="green", score=99, iat=NOW + 30, ttl=DAY)
    assert reason(posing, trust, NOW + 40) is Reason.KEY_NOT_VALID
    # The verdict names the issuer that signed the code.
    result = CliRunner().invoke(verifier_cli, ["check", sh, "--trust", str(home.trust_list),
                                               "--json", "--at", iso(NOW + 40)])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert (verdict["iss"], verdict["issuer_name"]) == ("SH", "Shanghai health code")
    human = CliRunner().invoke(verifier_cli, ["check", sh, "--trust", str(home.trust_list),
                                              "--at", iso(NOW + 40)])
    assert "issuer Shanghai health code (SH)" in human.output
    with pytest.raises(ValueError):
        add_issuer(home, {**export_issuer(shanghai), "iss": "HZ"})
    with pytest.raises(ValueError):
        add_issuer(home, {"typ": "something else"})


# Revocation ------------------------------------------------------------------------------------

@pytest.fixture
def service(home, tmp_path) -> Iterator[IssuerService]:
    service = IssuerService.open(home, f"sqlite:///{tmp_path / 'issuer.db'}")
    yield service
    service.close()


def _person(service, n: int = 1) -> str:
    return service.create_person(actor="test", name=f"P{n}", id_number=f"ID{n}",
                                 phone="13700000001", organisation="Org", now=NOW)


def test_revoked_codes_are_rejected_and_only_unexpired_ones_are_listed(service, home):
    alice, bob = _person(service, 1), _person(service, 2)
    short = service.issue(alice, actor="t", ttl=HOUR, now=NOW)
    long = service.issue(alice, actor="t", ttl=DAY, now=NOW)
    other = service.issue(bob, actor="t", ttl=DAY, now=NOW)
    one = service.issue(bob, actor="t", ttl=DAY, now=NOW + 1)
    service.store.revoke(one["cti"], actor="t", reason="issued in error", now=NOW + 10)
    assert sorted(service.store.revoke_person(alice, actor="t", reason="test corrected",
                                              now=NOW + 20)) == sorted([short["cti"], long["cti"]])
    key, config = service.signer()
    publish_revocations(home, service.store, key, config, now=NOW + 30)
    trust = trust_at(home, NOW + 40)
    revocations, problems = Revocations.load_dir(home.keys, trust)
    assert problems == {}
    for record in (short, long, one):
        assert reason(record["text"], trust, NOW + 40, revocations) is Reason.REVOKED
    assert reason(other["text"], trust, NOW + 40, revocations) is None
    # After the short one has expired it drops out of the next list.
    publish_revocations(home, service.store, key, config, now=NOW + 2 * HOUR)
    listed = Revocations.load_dir(home.keys, trust_at(home, NOW + 2 * HOUR))[0].get("HZ")
    assert len(listed) == 2
    actions = [e["action"] for e in service.store.audit_entries(alice)]
    assert "credential.revoke_all" in actions


def test_revoke_cli_and_check_cli(service, home):
    person = _person(service)
    record = service.issue(person, actor="t")
    runner = CliRunner()
    out = runner.invoke(issuer_cli, ["revoke", record["cti"], "--reason", "error",
                                     "--home", str(home.root)],
                        env={"HEALTHCODE_DATABASE_URL": str(service.store.engine.url)})
    assert out.exit_code == 0, out.output
    assert revocation_path(home, "HZ").exists()
    check = runner.invoke(verifier_cli, ["check", record["text"], "--trust",
                                         str(home.trust_list), "--json"])
    assert check.exit_code == 1
    assert json.loads(check.stdout)["reason"] == "revoked"
    both = runner.invoke(issuer_cli, ["revoke", record["cti"], "--person", person,
                                      "--reason", "x", "--home", str(home.root)])
    assert both.exit_code == 2
    missing = runner.invoke(issuer_cli, ["revoke", "ab" * 12, "--reason", "x",
                                         "--home", str(home.root)],
                            env={"HEALTHCODE_DATABASE_URL": str(service.store.engine.url)})
    assert missing.exit_code == 1 and "no credential" in missing.output


# Sync over HTTP -------------------------------------------------------------------------------

@contextmanager
def serving(httpd) -> Iterator[str]:
    """Run ``httpd`` (a socketserver) in a thread; yield its base URL on 127.0.0.1."""
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def issuer_server(home, tmp_path) -> Iterator[tuple[str, object]]:
    """The real issuer app on a free port of 127.0.0.1."""
    app = create_app({"HOME": str(home.root), "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url, app
    app.extensions["healthcode"].close()


@pytest.fixture
def checkpoint(home, tmp_path) -> Path:
    """A verifier's folder: only the pinned anchor, copied out of band."""
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    shutil.copy(home.anchor_public, folder / "anchor.pub.pem")
    return folder / "trust-list.json"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.name != SYNC_STATE_FILE}


def test_sync_fetches_verifies_and_follows_changes(issuer_server, checkpoint, home):
    url, app = issuer_server
    service = app.extensions["healthcode"]
    first = sync([url], checkpoint)
    assert first.ok, first.errors
    assert first.trust_list == "updated" and first.revocations == {"HZ": "updated"}
    again = sync([url], checkpoint)
    assert again.ok and again.trust_list == "unchanged"
    assert set(again.revocations.values()) == {"unchanged"}
    state = json.loads((checkpoint.parent / SYNC_STATE_FILE).read_bytes())
    assert state["urls"] == [url] and state["last_sync"] > 0
    assert "cti" not in json.dumps(state)
    # A code is revoked at the issuer: the next sync brings it to the checkpoint.
    person = _person(service)
    record = service.issue(person, actor="t")
    assert verify(record["text"], TrustList.load(checkpoint),
                  revocations=Revocations.load_dir(checkpoint.parent,
                                                   TrustList.load(checkpoint))[0]).iss == "HZ"
    service.store.revoke(record["cti"], actor="t", reason="error")
    assert sync([url], checkpoint).revocations == {"HZ": "updated"}
    out = CliRunner().invoke(verifier_cli, ["check", record["text"], "--trust", str(checkpoint),
                                            "--json"])
    assert json.loads(out.stdout)["reason"] == "revoked"
    # A key rotation at the issuer reaches the checkpoint with the next sync, from the CLI.
    rotate_key(home)
    out = CliRunner().invoke(verifier_cli, ["sync", url, "--trust", str(checkpoint)])
    assert out.exit_code == 0, out.output
    assert "trust list: updated" in out.output
    assert len(TrustList.load(checkpoint).keys) == 2


def test_sync_follows_an_anchor_roll_over(issuer_server, checkpoint, home):
    url, _ = issuer_server
    assert sync([url], checkpoint).ok
    rotate_anchor(home)
    report = sync([url], checkpoint)
    assert report.ok and report.anchor_rolled_over
    assert (checkpoint.parent / "anchor.pub.pem").read_bytes() == home.anchor_public.read_bytes()


class _Evil(http.server.BaseHTTPRequestHandler):
    """Serves what the test says: truncated, corrupted, older, empty, or an error."""

    mode = "truncate"
    bodies: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.bodies.get(self.path, b"")
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.mode == "stall":  # half the body, then nothing until the test is done
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.started.set()
            self.release.wait(20)
            return
        if self.mode == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if self.mode == "corrupt":
            body = bytearray(body)
            body[len(body) // 2] ^= 0x01
        self.wfile.write(bytes(body))

    def log_message(self, *args):
        pass


@pytest.fixture
def evil_server() -> Iterator[tuple[str, type[_Evil]]]:
    handler = type("Handler", (_Evil,), {"bodies": {}, "started": threading.Event(),
                                         "release": threading.Event()})
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url, handler
        handler.release.set()


@pytest.mark.parametrize("mode, expected", [
    ("truncate", "incomplete_download"), ("corrupt", None), ("error", "http_error"),
    ("older", "trust_list_rollback"), ("empty", "trust_list_malformed"),
    ("foreign", "trust_list_bad_signature")])
def test_a_bad_download_leaves_the_previous_lists_in_place(issuer_server, checkpoint, home,
                                                           evil_server, mode, expected,
                                                           tmp_path):
    url, _ = issuer_server
    old_trust = home.trust_list.read_bytes()
    publish_trust_list(home)  # the checkpoint gets #2
    assert sync([url], checkpoint).ok
    before = snapshot(checkpoint.parent)
    evil_url, handler = evil_server
    trust_body = home.trust_list.read_bytes()
    revocations_body = revocation_path(home, "HZ").read_bytes()
    if mode == "older":
        trust_body = old_trust
    elif mode == "empty":
        trust_body = revocations_body = b""
    elif mode == "foreign":
        other = Home(tmp_path / "other")
        init_home(other, now=NOW)
        trust_body = other.trust_list.read_bytes()
    handler.mode = "plain" if mode in ("older", "empty", "foreign") else mode
    handler.bodies.update({"/trust/trust-list.json": trust_body,
                           "/trust/revocations": revocations_body})
    report = sync([evil_url], checkpoint)
    assert not report.ok
    reasons = {e.reason for e in report.errors}
    if expected is not None:
        assert expected in reasons, reasons
    else:  # a flipped byte: refused by one check or another, never stored
        assert reasons <= {"trust_list_malformed", "trust_list_bad_signature",
                           "revocation_list_malformed", "revocation_list_bad_signature"}
    assert snapshot(checkpoint.parent) == before
    assert TrustList.load(checkpoint).sequence == 2


def test_an_old_key_s_list_with_a_huge_seq_neither_unrevokes_nor_blocks(issuer_server,
                                                                        checkpoint, home,
                                                                        evil_server):
    """Issue 13, finding 2: a list signed by a rotated-out key, dated inside its window, with
    seq = 2**62, was taken by sync (un-revoking every code) and then blocked every genuine list
    as a rollback until the old key left the trust list."""
    from issuer.keys.signing import sign_cose
    from verifier.revocation import encode_payload

    url, app = issuer_server
    service = app.extensions["healthcode"]
    person = _person(service)
    revoked, later = (service.issue(person, actor="t") for _ in range(2))
    service.store.revoke(revoked["cti"], actor="t", reason="error")
    old_key, config, _ = load_signing_key(home)  # stolen now, used after the rotation
    rotate_key(home)
    rotated_at = load_config(home).key_record(config.current)["exp"]
    assert sync([url], checkpoint).ok
    before = snapshot(checkpoint.parent)
    forged = sign_cose(old_key, encode_payload(iss=config.iss, seq=2**62, iat=rotated_at,
                                               exp=rotated_at + 2 * DAY, ctis=[]))
    evil_url, handler = evil_server
    handler.mode = "plain"
    handler.bodies.update({"/trust/trust-list.json": home.trust_list.read_bytes(),
                           "/trust/revocations": forged})
    report = sync([evil_url], checkpoint)
    assert [e.reason for e in report.errors] == ["revocation_list_rollback"]
    assert snapshot(checkpoint.parent) == before
    out = CliRunner().invoke(verifier_cli, ["check", revoked["text"], "--trust", str(checkpoint),
                                            "--json"])
    assert json.loads(out.stdout)["reason"] == "revoked"
    # Genuine lists still come through.
    service.store.revoke(later["cti"], actor="t", reason="error")
    report = sync([url], checkpoint)
    assert report.ok and report.revocations == {"HZ": "updated"}, report.as_dict()
    out = CliRunner().invoke(verifier_cli, ["check", later["text"], "--trust", str(checkpoint),
                                            "--json"])
    assert json.loads(out.stdout)["reason"] == "revoked"


def test_a_sync_killed_mid_download_leaves_the_previous_lists(issuer_server, checkpoint, home,
                                                             evil_server):
    url, _ = issuer_server
    assert sync([url], checkpoint).ok
    before = snapshot(checkpoint.parent)
    publish_trust_list(home)  # a newer list, which the killed sync was fetching
    evil_url, handler = evil_server
    handler.mode = "stall"
    handler.bodies["/trust/trust-list.json"] = home.trust_list.read_bytes()
    command = [str(Path(sys.executable).with_name("healthcode-verifier")), "sync", evil_url,
               "--trust", str(checkpoint)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert handler.started.wait(20), "the sync never asked for the trust list"
    finally:
        process.kill()
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    assert snapshot(checkpoint.parent) == before  # nothing half-written, nothing left over
    assert TrustList.load(checkpoint).sequence == 1


def test_sync_refuses_to_run_without_a_pinned_anchor(tmp_path):
    out = CliRunner().invoke(verifier_cli, ["sync", "http://127.0.0.1:9/", "--trust",
                                            str(tmp_path / "trust-list.json")])
    assert out.exit_code == 2 and "anchor" in out.output


def test_sync_reports_an_unreachable_issuer(checkpoint):
    report = sync(["http://127.0.0.1:9"], checkpoint)
    assert not report.ok and report.errors[0].reason == "unreachable"
    assert snapshot(checkpoint.parent) == {"anchor.pub.pem": (checkpoint.parent /
                                                              "anchor.pub.pem").read_bytes()}


def test_trust_endpoints_use_etags(issuer_server):
    import urllib.error
    import urllib.request

    url, _ = issuer_server
    for path in ("/trust/trust-list.json", "/trust/revocations"):
        with urllib.request.urlopen(url + path, timeout=10) as response:  # noqa: S310
            etag = response.headers["ETag"]
            assert etag and response.read()
        request = urllib.request.Request(url + path, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        caught.value.close()
        assert caught.value.code == 304


def _post(url: str, token: str | None, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def test_authorities_revoke_through_the_api(issuer_server, checkpoint):
    url, app = issuer_server
    service = app.extensions["healthcode"]
    write = service.create_token("write", "lab", 0)[1]
    read = service.create_token("read", "viewer", 0)[1]
    person = _person(service)
    first, second = (service.issue(person, actor="t") for _ in range(2))
    path = f"{url}/api/credentials/{first['cti']}/revoke"
    assert _post(path, None, {"reason": "x"})[0] == 401
    assert _post(path, read, {"reason": "x"})[0] == 403
    assert _post(path, write, {})[0] == 422  # the reason is required
    assert _post(f"{url}/api/credentials/{'0' * 24}/revoke", write, {"reason": "x"})[0] == 404
    status, body = _post(path, write, {"reason": "issued in error"})
    assert status == 200 and body["revoked"] == [first["cti"]]
    assert _post(path, write, {"reason": "again"})[1]["revoked"] == []
    status, body = _post(f"{url}/api/people/{person}/revoke", write, {"reason": "corrected"})
    assert status == 200 and body["revoked"] == [second["cti"]]
    assert sync([url], checkpoint).ok
    trust = TrustList.load(checkpoint)
    revocations = Revocations.load_dir(checkpoint.parent, trust)[0]
    for record in (first, second):
        assert reason(record["text"], trust, None, revocations) is Reason.REVOKED
    audit = [e["action"] for e in service.store.audit_entries(person)]
    assert audit.count("credential.revoke") == 1 and "credential.revoke_all" in audit


def test_the_kiosk_rejects_revoked_codes_and_shows_sync_and_rollback(issuer_server, checkpoint,
                                                                     home):
    from verifier.kiosk import create_app as kiosk_app

    url, app = issuer_server
    service = app.extensions["healthcode"]
    person = _person(service)
    record = service.issue(person, actor="t")
    older = home.trust_list.read_bytes()
    publish_trust_list(home)
    assert sync([url], checkpoint).ok
    client = kiosk_app({"TRUST": checkpoint, "RULE": "green,yellow,red",
                        "DEFAULT_LOCALE": "en"}).test_client()
    assert client.post("/api/text", json={"text": record["text"]}).get_json()["state"] == "admit"
    status = client.get("/api/status").get_json()
    assert status["sync"]["last_sync"] and status["sync"]["urls"] == [url]
    assert status["revocations"]["lists"][0]["entries"] == 0
    assert status["revocations"]["warning"] is None
    service.store.revoke(record["cti"], actor="t", reason="error")
    assert sync([url], checkpoint).ok
    verdict = client.post("/api/text", json={"text": record["text"]}).get_json()
    assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
    assert "revoked" in verdict["message"].lower()
    # An older trust list copied over the file is refused; the kiosk keeps its list and says so.
    checkpoint.write_bytes(older)
    status = client.get("/api/status").get_json()
    assert status["trust"]["ok"] and status["trust"]["sequence"] == 2
    assert "refused" in status["trust"]["warning"]
    page = client.get("/").get_data(as_text=True)
    assert "refused" in page and "Synced" in page
    # Three days without a sync: the revocation list (valid two days) is out of date.
    later = kiosk_app({"TRUST": checkpoint, "CLOCK": lambda: time.time() + 3 * DAY,
                       "DEFAULT_LOCALE": "en"})
    warning = later.test_client().get("/api/status").get_json()["revocations"]["warning"]
    assert "expired" in warning and "Sync" in warning


def test_the_served_trust_list_drops_a_key_that_outlived_its_codes(issuer_server, checkpoint,
                                                                    home):
    url, _ = issuer_server
    old = load_config(home).current
    rotate_key(home)
    config = load_config(home)
    config.key_record(old)["verify_until"] = 1  # its last credential expired long ago
    home.issuer_config.write_bytes(config.to_json())
    assert sync([url], checkpoint).ok
    assert [k.kid.decode() for k in TrustList.load(checkpoint).keys.values()] == [config.current]


def test_a_dual_signed_list_with_one_bad_signature_is_refused(home):
    rotate_anchor(home, now=NOW + HOUR)
    document = json.loads(home.trust_list.read_bytes())
    signature = document["signatures"][1]["signature"]
    document["signatures"][1]["signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(json.dumps(document), pin_of(home), NOW + HOUR)
    assert caught.value.reason is Reason.TRUST_LIST_BAD_SIGNATURE


@pytest.mark.parametrize("signatures", [[], "x", [{"protected": "e30"}], [{}] * 5, None,
                                        [{"protected": "bm90IGpzb24", "signature": ""}]])
def test_malformed_general_jws_is_malformed(home, signatures):
    document = {"payload": "e30", "signatures": signatures}
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(json.dumps(document), pin_of(home), NOW)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


def test_sync_refuses_an_oversize_download(issuer_server, checkpoint, evil_server):
    url, _ = issuer_server
    assert sync([url], checkpoint).ok
    before = snapshot(checkpoint.parent)
    evil_url, handler = evil_server
    handler.mode = "plain"
    handler.bodies["/trust/trust-list.json"] = b"{" * (5 * 1024 * 1024)
    report = sync([evil_url], checkpoint)
    assert report.trust_list == "http_error" and "larger than" in report.errors[0].detail
    assert snapshot(checkpoint.parent) == before


def test_a_running_kiosk_follows_an_anchor_roll_over(issuer_server, checkpoint, home):
    from verifier.kiosk import create_app as kiosk_app

    url, app = issuer_server
    assert sync([url], checkpoint).ok
    client = kiosk_app({"TRUST": checkpoint}).test_client()
    code = sign(home, int(time.time()))
    assert client.post("/api/text", json={"text": code}).get_json()["state"] == "admit"
    # Dual-signed for 5 s. (With no transition at all, a sync in the next second got a list the
    # server had re-signed by the new anchor alone, which the old pin rightly refused.)
    rotate_anchor(home, transition=5)
    assert sync([url], checkpoint).anchor_rolled_over
    assert client.get("/api/status").get_json()["trust"]["sequence"] == 2
    publish_trust_list(home, now=int(time.time()) + 6)  # transition over
    assert "signatures" not in json.loads(home.trust_list.read_bytes())
    assert sync([url], checkpoint).ok
    status = client.get("/api/status").get_json()
    assert status["trust"]["ok"] and status["trust"]["sequence"] == 3
    assert client.post("/api/text", json={"text": code}).get_json()["state"] == "admit"


@pytest.mark.parametrize("state", [
    "not json", "[]", {"etags": [1], "sources": 5, "last_sync": "yesterday"},
    {"etags": {"{url}/trust/trust-list.json": ["not", "text"], "{url}/trust/revocations": 7},
     "sources": {"{url}/trust/revocations": ["HZ"]}}])
def test_a_damaged_sync_state_is_ignored(issuer_server, checkpoint, state):
    url, _ = issuer_server
    text = state if isinstance(state, str) else json.dumps(state).replace("{url}", url)
    (checkpoint.parent / SYNC_STATE_FILE).write_text(text)
    assert sync([url], checkpoint).ok
    assert sync([url], checkpoint).trust_list == "unchanged"
