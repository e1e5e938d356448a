"""verifier.tlog.note: C2SP signed notes, against golang.org/x/mod/sumdb/note's vectors and the
C2SP example; vkeys; strict parsing."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from vectorlib import load

from verifier.tlog import note
from verifier.tlog.errors import TlogError, TlogReason

V = load("tlog/note.json")
KEYS = {label: note.Ed25519Verifier.from_vkey(vkey) for label, vkey in V["keys"].items()}


def _signer(skey: str) -> note.Ed25519Signer:
    """A Go ``PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`` signer key."""
    _, _, name, key_id, blob = skey.split("+", 4)
    raw = base64.b64decode(blob)
    signer = note.Ed25519Signer(name, ed25519.Ed25519PrivateKey.from_private_bytes(raw[1:]))
    assert f"{signer.key_id:08x}" == key_id
    return signer


def test_the_go_keys_round_trip_and_have_their_ids():
    for label, vkey in V["keys"].items():
        assert KEYS[label].vkey == vkey
    assert _signer(V["skeys"]["peter"]).verifier.vkey == V["keys"]["peter"]


@pytest.mark.parametrize("vector", V["sign"], ids=lambda v: v["desc"])
def test_sign(vector):
    assert note.sign_note(vector["text"], [_signer(V["skeys"][vector["signer"]])]) == vector["want"]


def test_signing_again_replaces_the_signers_old_signature():
    signer = _signer(V["skeys"]["peter"])
    want = V["sign"][0]["want"]
    assert note.append_signatures(want, [signer]) == want


@pytest.mark.parametrize("vector", V["open"], ids=lambda v: v["desc"])
def test_open(vector):
    message = bytes.fromhex(vector["note_hex"]) if "note_hex" in vector else vector["note"]
    known = [KEYS[k] for k in vector["known"]]
    if "reason" in vector:
        with pytest.raises(TlogError) as caught:
            note.open_note(message, known)
        assert caught.value.reason == vector["reason"]
        return
    opened = note.open_note(message, known)
    assert opened.text == vector["text"]
    assert [s.name for s in opened.signatures] == vector["verified"]
    assert [s.name for s in opened.unverified] == vector["unverified"]


@pytest.mark.parametrize("vector", V["bad_vkeys"], ids=lambda v: v["desc"])
def test_bad_vkeys(vector):
    with pytest.raises(TlogError) as caught:
        note.Ed25519Verifier.from_vkey(vector["vkey"])
    assert caught.value.reason is TlogReason.BAD_KEY


def test_every_mangling_of_a_vkey_is_refused():
    """As sumdb/note's TestNewVerifier: every proper substring, every byte changed."""
    vkey = V["keys"]["peter"]
    variants = {vkey[i:j] for i in range(len(vkey) + 1) for j in range(i + 1, len(vkey) + 1)}
    variants |= {vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1:] for i in range(len(vkey))}
    variants.discard(vkey)
    for variant in variants:
        with pytest.raises(TlogError):
            note.Ed25519Verifier.from_vkey(variant)


def test_a_signature_for_a_known_name_with_another_key_id_is_ignored():
    """C2SP: ignore signatures from unknown keys even if they share a name with a known one."""
    text = V["sign"][0]["want"]
    other = note.Ed25519Signer("PeterNeumann", ed25519.Ed25519PrivateKey.generate())
    opened = note.open_note(note.append_signatures(text, [other]), [KEYS["peter"]])
    assert [s.key_id for s in opened.unverified] == [other.key_id]


@pytest.mark.parametrize(("message", "reason"), [
    ("text\r\n\n— PeterNeumann AAAAAAA=\n", TlogReason.BAD_NOTE),
    ("x" * 70_000 + "\n\n— a AAAAAAA=\n", TlogReason.BAD_NOTE),
    (b"x\n\n\xe2\x80\x94 a AAAAAAA=\n" * 5000, TlogReason.BAD_NOTE),
    ("text\n\n— a AAAAAA==\n", TlogReason.BAD_NOTE),  # 4 bytes: a key ID and no signature
    ("text\n\n— a AAAAAAB=\n", TlogReason.BAD_NOTE),  # non-canonical base64
    ("text\n\n— a+b AAAAAAA=\n", TlogReason.BAD_NOTE),
    ("text\n\n-- a AAAAAAA=\n", TlogReason.BAD_NOTE),
    ("text\n\n\n", TlogReason.BAD_NOTE),
    ("", TlogReason.BAD_NOTE),
    (None, TlogReason.BAD_NOTE),
    ("text\n\n— a AAAAAAA=\n", TlogReason.UNKNOWN_KEY),
])
def test_malformed_notes_are_refused(message, reason):
    with pytest.raises(TlogError) as caught:
        note.open_note(message, [KEYS["peter"]])
    assert caught.value.reason is reason


def test_sixteen_signatures_are_accepted():
    text = "many witnesses\n"
    signers = [note.Ed25519Signer(f"w{i}", ed25519.Ed25519PrivateKey.generate())
               for i in range(16)]
    signed = note.sign_note(text, signers)
    assert len(note.open_note(signed, [s.verifier for s in signers]).signatures) == 16


def test_two_verifiers_with_one_name_and_id_are_ambiguous():
    with pytest.raises(TlogError) as caught:
        note.open_note(V["sign"][0]["want"], [KEYS["peter"], KEYS["peter"]])
    assert caught.value.reason is TlogReason.BAD_KEY


@pytest.mark.parametrize("text", ["no newline", "a\x00b\n", 5])
def test_sign_refuses_bad_text(text):
    with pytest.raises(TlogError) as caught:
        note.sign_note(text, [_signer(V["skeys"]["peter"])])
    assert caught.value.reason is TlogReason.BAD_NOTE


def test_a_note_text_may_hold_blank_lines():
    signer = _signer(V["skeys"]["peter"])
    text = "first\n\nthird\n\n"
    assert note.open_note(note.sign_note(text, [signer]), [signer.verifier]).text == text
