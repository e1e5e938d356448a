"""Tests that kill what the mutation run (``make mutation``, docs/TESTING.md) found alive: each
pins a behaviour of the verifier core that no other test pinned, by its reason."""

import importlib
import random
from dataclasses import replace

import cbor2
import pytest
from conftest import DAY, NOW
from test_fastpath import _mutations, both_paths

from issuer.keys.signing import sign_cose
from verifier import Reason, VerificationError, verify
from verifier.base45 import b45decode, b45encode
from verifier.fastpath import read
from verifier.labels import CREDENTIAL_PREFIX
from verifier.verify import CLOCK_SKEW, MAX_TEXT_LENGTH

# The module, not the function verifier.verify that the package exports under its name.
verify_module = importlib.import_module("verifier.verify")


def reason_of(text, trust, now, **kw):
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now, **kw)
    return caught.value.reason


# verify.to_epoch: no time given means the verifier's own clock.
def test_without_a_time_verify_reads_the_clock(make_code, trust, monkeypatch):
    text = make_code(iat=NOW, ttl=DAY)
    monkeypatch.setattr(verify_module, "now_seconds", lambda: NOW + 10)
    assert verify(text, trust).exp == NOW + DAY
    monkeypatch.setattr(verify_module, "now_seconds", lambda: NOW + DAY + CLOCK_SKEW + 1)
    assert reason_of(text, trust, None) is Reason.EXPIRED


# verify.decode_text: the length limit, with a code that is valid but for its length.
def _padded_code(signing, length: int) -> str:
    """A correctly signed code whose text is exactly ``length`` characters (an unknown claim,
    which verifiers ignore, pads it)."""
    key, config = signing
    for pad in range(2 * length):
        claims = {1: config.iss, 6: NOW, 4: NOW + DAY, 7: bytes(12), -65537: {1: 0, 2: 50},
                  99: bytes(pad)}
        text = CREDENTIAL_PREFIX + b45encode(sign_cose(key, cbor2.dumps(claims)))
        if len(text) >= length:
            assert len(text) == length, "no padding gives that length"
            return text
    raise AssertionError("unreachable")


def test_a_code_text_of_the_longest_length_is_read(signing, trust):
    assert MAX_TEXT_LENGTH == 2048
    assert verify(_padded_code(signing, 2048), trust, NOW).score == 50


def test_a_longer_code_text_is_refused_before_it_is_read(signing, trust):
    # 2049 characters cannot be Base45 after the 5-character prefix; 2050 is the next valid.
    assert reason_of(_padded_code(signing, 2050), trust, NOW) is Reason.MALFORMED


# fastpath.read: every canonical layout is recognised (the speed the benchmark relies on), and
# nothing past them.
@pytest.mark.parametrize("iss_length", range(1, 25))
@pytest.mark.parametrize(("score", "policy"), [(5, None), (87, None), (5, bytes(range(8))),
                                               (87, bytes(range(8)))])
def test_the_fast_reader_knows_every_canonical_layout(make_code, iss_length, score, policy):
    iss = "H" * iss_length
    data = b45decode(make_code(iss=iss, score=score, policy=policy)[len(CREDENTIAL_PREFIX):])
    code = read(data)
    if iss_length > 23:  # a text head of two bytes: not a layout of ours
        assert code is None
    else:
        assert code is not None and code[4:] == (iss, NOW, NOW + DAY, code[7], 0, score, policy)


def _trust_for(trust, iss: str):
    """``trust`` with its keys moved to the issuer id ``iss`` (a list made for the test)."""
    keys = {kid: replace(key, iss=iss) for kid, key in trust.keys.items()}
    return replace(trust, keys=keys, issuers={iss: iss}, issuer_names={})


def _claims(iss_head: bytes, score: int = 50) -> bytes:
    """Canonical claims but for the issuer id's head (``iss_head``: its CBOR head and text)."""
    rest = cbor2.dumps({6: NOW, 4: NOW + DAY, 7: bytes(12), -65537: {1: 0, 2: score}})
    return bytes((rest[0] + 1,)) + b"\x01" + iss_head + rest[1:]


def test_an_issuer_id_with_a_longer_head_than_needed_is_read_by_the_general_path(signing, trust):
    """A 23-character id written with a two-byte head is legal CBOR and a different layout."""
    key, _ = signing
    iss = "H" * 23
    text = CREDENTIAL_PREFIX + b45encode(sign_cose(key, _claims(b"\x78\x17" + iss.encode())))
    assert verify(text, _trust_for(trust, iss), NOW).iss == iss


def test_an_empty_issuer_id_is_invalid_on_both_paths(signing, trust):
    key, _ = signing
    text = CREDENTIAL_PREFIX + b45encode(sign_cose(key, _claims(b"\x60")))
    assert reason_of(text, trust, NOW) is Reason.INVALID_CLAIMS
    assert reason_of(text, _trust_for(trust, ""), NOW) is Reason.INVALID_CLAIMS


@pytest.mark.parametrize("policy", [None, bytes(range(8))])
def test_signed_mutations_of_a_one_byte_score_agree(signing, make_code, trust, policy):
    """As tests/test_fastpath.py's differential test, for a score written in its head byte."""
    key, _ = signing
    payload = b45decode(make_code(score=5, policy=policy)[len(CREDENTIAL_PREFIX):])[19:-66]
    for mutated in _mutations(payload, random.Random(11)):
        fast, general = both_paths(CREDENTIAL_PREFIX + b45encode(sign_cose(key, mutated)), trust)
        assert fast == general, mutated.hex()
