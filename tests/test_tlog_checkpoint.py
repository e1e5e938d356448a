"""verifier.tlog.checkpoint and .cosignature: C2SP checkpoints signed by a log and cosigned by
witnesses (cosignature/v1)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from vectorlib import load

from verifier.tlog import checkpoint as cp
from verifier.tlog import cosignature, note
from verifier.tlog.errors import TlogError, TlogReason

V = load("tlog/checkpoint.json")
COSIG = load("tlog/cosignature.json")


def _seeded(label):
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


@pytest.mark.parametrize("vector", V["valid"], ids=lambda v: v["origin"])
def test_valid_bodies(vector):
    parsed = cp.parse_checkpoint(vector["body"])
    assert parsed == cp.Checkpoint(vector["origin"], vector["size"],
                                   bytes.fromhex(vector["root_hex"]), tuple(vector["extensions"]))
    assert parsed.body() == vector["body"]


@pytest.mark.parametrize("vector", V["invalid"], ids=lambda v: v["desc"])
def test_invalid_bodies(vector):
    with pytest.raises(TlogError) as caught:
        cp.parse_checkpoint(vector["body"])
    assert caught.value.reason is TlogReason.BAD_CHECKPOINT


ROOT = bytes(range(32))


@pytest.mark.parametrize("body", [
    "log\n012\n" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "log\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "log\n+1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "log\n１\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    f"log\n{2**64}\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "log\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
    "log\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
])
def test_strict_fields(body):
    with pytest.raises(TlogError) as caught:
        cp.parse_checkpoint(body)
    assert caught.value.reason is TlogReason.BAD_CHECKPOINT


def test_extension_lines_round_trip():
    checkpoint = cp.Checkpoint("example.org/log", 0, ROOT, ("ext one", "ext two"))
    assert cp.parse_checkpoint(checkpoint.body()) == checkpoint


def test_the_cosignature_vectors():
    log = note.Ed25519Signer("example.org/healthcode-log", _seeded(COSIG["log"]["seed_label"]))
    assert log.verifier.vkey == COSIG["log"]["vkey"]
    body = COSIG["checkpoint_body"]
    signed = cp.sign_checkpoint(cp.parse_checkpoint(body), [log])
    verifiers = []
    for w in COSIG["witnesses"]:
        key = _seeded(w["seed_label"])
        signer = cosignature.CosignatureSigner(w["name"], key, clock=lambda t=w["timestamp"]: t)
        assert signer.verifier.vkey == w["vkey"]
        assert f"{signer.key_id:08x}" == w["key_id"]
        message = cosignature.cosigned_message(body, w["timestamp"])
        assert message.decode() == w["signed_message"]
        assert key.sign(message).hex() == w["signature_hex"]
        signed = note.append_signatures(signed, [signer])
        verifiers.append(cosignature.CosignatureVerifier.from_vkey(w["vkey"]))
    assert signed == COSIG["note"]
    opened = cp.open_checkpoint(signed, "example.org/healthcode-log",
                                [note.Ed25519Verifier.from_vkey(COSIG["log"]["vkey"])],
                                verifiers, quorum=2)
    assert opened.witnesses == {w["name"]: w["timestamp"] for w in COSIG["witnesses"]}
    assert opened.log_keys == ("example.org/healthcode-log",)


def test_a_cosignature_key_id_uses_type_4():
    key = _seeded("w")
    plain = note.Ed25519Signer("w.example", key)
    cosigner = cosignature.CosignatureSigner("w.example", key, clock=lambda: 1)
    assert cosigner.key_id == note.key_id("w.example", 0x04, plain.verifier.raw) != plain.key_id
    with pytest.raises(TlogError):
        note.Ed25519Verifier.from_vkey(cosigner.verifier.vkey)


@pytest.fixture
def log_and_witnesses():
    log = note.Ed25519Signer("example.org/log", _seeded("log"))
    witnesses = [cosignature.CosignatureSigner(f"w{i}.example", _seeded(f"w{i}"),
                                               clock=lambda: 1_790_000_000) for i in range(3)]
    checkpoint = cp.Checkpoint("example.org/log", 10, ROOT)
    return log, witnesses, checkpoint


def test_open_checkpoint_counts_witnesses(log_and_witnesses):
    log, witnesses, checkpoint = log_and_witnesses
    signed = note.append_signatures(cp.sign_checkpoint(checkpoint, [log]), witnesses[:2])
    verifiers = [w.verifier for w in witnesses]
    opened = cp.open_checkpoint(signed, "example.org/log", [log.verifier], verifiers, quorum=2)
    assert opened.checkpoint == checkpoint and sorted(opened.witnesses) == ["w0.example",
                                                                             "w1.example"]
    with pytest.raises(TlogError) as caught:
        cp.open_checkpoint(signed, "example.org/log", [log.verifier], verifiers, quorum=3)
    assert caught.value.reason is TlogReason.TOO_FEW_COSIGNATURES


def test_witnesses_alone_do_not_make_a_checkpoint(log_and_witnesses):
    log, witnesses, checkpoint = log_and_witnesses
    signed = note.sign_note(checkpoint.body(), witnesses)
    with pytest.raises(TlogError) as caught:
        cp.open_checkpoint(signed, "example.org/log", [log.verifier],
                           [w.verifier for w in witnesses])
    assert caught.value.reason is TlogReason.UNKNOWN_KEY


def test_another_origin_is_refused(log_and_witnesses):
    log, _, checkpoint = log_and_witnesses
    with pytest.raises(TlogError) as caught:
        cp.open_checkpoint(cp.sign_checkpoint(checkpoint, [log]), "example.org/other",
                           [log.verifier])
    assert caught.value.reason is TlogReason.BAD_CHECKPOINT


@pytest.mark.parametrize("change", ["size", "root", "time", "signature"])
def test_a_changed_cosigned_checkpoint_is_refused(log_and_witnesses, change):
    log, witnesses, checkpoint = log_and_witnesses
    signed = note.append_signatures(cp.sign_checkpoint(checkpoint, [log]), witnesses[:1])
    text, lines = note.split_note(signed)
    if change == "size":
        text = text.replace("\n10\n", "\n11\n")
    elif change == "root":
        text = cp.Checkpoint("example.org/log", 10, bytes(32)).body()
    else:
        raw = lines[1].signature
        raw = (raw[:7] + bytes([raw[7] ^ 1]) + raw[8:] if change == "time"
               else raw[:-1] + bytes([raw[-1] ^ 1]))
        lines[1] = note.Signature(lines[1].name, lines[1].key_id, raw)
    forged = text + "\n" + "".join(line.line for line in lines)
    with pytest.raises(TlogError) as caught:
        cp.open_checkpoint(forged, "example.org/log", [log.verifier], [witnesses[0].verifier])
    assert caught.value.reason is TlogReason.BAD_SIGNATURE


def test_a_cosignature_from_the_future_is_refused_when_asked(log_and_witnesses):
    log, witnesses, checkpoint = log_and_witnesses
    signed = note.append_signatures(cp.sign_checkpoint(checkpoint, [log]), witnesses[:1])
    strict = cosignature.CosignatureVerifier(witnesses[0].name, witnesses[0].verifier.raw,
                                             max_future=60, clock=lambda: 1_780_000_000)
    with pytest.raises(TlogError) as caught:
        cp.open_checkpoint(signed, "example.org/log", [log.verifier], [strict])
    assert caught.value.reason is TlogReason.BAD_SIGNATURE


@pytest.mark.parametrize(("body", "timestamp"), [
    ("a\nb\nc\n", -1), ("a\nb\nc\n", 2**63), ("a\nb\n", 1), ("a\nb\nc", 1), ("a\nb\nc\n", 1.0),
])
def test_cosigned_message_refuses_what_it_cannot_sign(body, timestamp):
    with pytest.raises(TlogError) as caught:
        cosignature.cosigned_message(body, timestamp)
    assert caught.value.reason is TlogReason.BAD_COSIGNATURE
