"""The verify fast path agrees with the general path on every input (differential tests)."""

import random

import cbor2
import pytest
from conftest import DAY, NOW
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from issuer.keys.signing import sign_cose
from verifier import VerificationError, verify
from verifier.base45 import b45decode, b45encode
from verifier.fastpath import es256_der, read
from verifier.labels import CREDENTIAL_PREFIX
from verifier.verify import _verify_general

AT = NOW + 60


def outcome(fn, *args):
    try:
        return ("valid", tuple(fn(*args)))
    except VerificationError as exc:
        return ("rejected", exc.reason)


def both_paths(text, trust):
    fast = outcome(verify, text, trust, AT)
    data = b45decode(text[len(CREDENTIAL_PREFIX):])
    general = outcome(_verify_general, data, trust, AT)
    return fast, general


@pytest.mark.parametrize("score", [0, 1, 23, 24, 55, 99, 100])
@pytest.mark.parametrize("policy", [None, bytes(8), b"\xff" * 8])
def test_valid_codes_take_the_fast_path_and_agree(make_code, trust, score, policy):
    text = make_code(colour="red", score=score, policy=policy)
    data = b45decode(text[len(CREDENTIAL_PREFIX):])
    code = read(data)
    assert code is not None and code[0] in trust.by_protected
    assert code[4:] == ("HZ", NOW, NOW + DAY, code[7], 2, score, policy)
    fast, general = both_paths(text, trust)
    assert fast == general and fast[0] == "valid"


@pytest.mark.parametrize("iss_length", [1, 2, 8, 23, 24, 32])
def test_issuer_id_lengths_agree(make_code, trust, iss_length):
    fast, general = both_paths(make_code(iss="H" * iss_length), trust)
    assert fast == general == ("rejected", "key_not_valid")  # not the trusted issuer id


def _mutations(payload: bytes, rng: random.Random):
    for i in range(len(payload)):
        for value in {0x00, 0x01, 0x17, 0x18, 0x19, 0x20, 0x40, 0x60, 0x7F, 0x80, 0xA0, 0xFF,
                      payload[i] ^ 1, rng.randrange(256)}:
            if value != payload[i]:
                yield payload[:i] + bytes([value]) + payload[i + 1:]
    for cut in range(1, len(payload)):
        yield payload[:cut]
    yield payload + b"\x00"


def test_signed_claim_mutations_agree(signing, make_code, trust):
    """Every claims byte changed and re-signed by the real key: both paths, same verdict."""
    key, _ = signing
    rng = random.Random(7)
    for policy in (None, bytes(range(8))):
        text = make_code(score=42, policy=policy)
        payload = b45decode(text[len(CREDENTIAL_PREFIX):])[19:-66]
        seen = set()
        for mutated in _mutations(payload, rng):
            forged = CREDENTIAL_PREFIX + b45encode(sign_cose(key, mutated))
            fast, general = both_paths(forged, trust)
            assert fast == general, mutated.hex()
            seen.add(fast[0] if fast[0] == "valid" else fast[1])
        assert {"valid", "invalid_claims", "malformed"} <= seen


def test_non_canonical_but_valid_encodings_agree(signing, trust):
    """Longer-than-needed CBOR heads are legal CBOR: the general path accepts them."""
    key, config = signing
    claims = {1: config.iss, 6: NOW, 4: NOW + DAY, 7: bytes(12), -65537: {1: 0, 2: 50}}
    payload = cbor2.dumps(claims)
    variants = [
        payload.replace(b"\x02\x18\x32", b"\x02\x19\x00\x32"),   # score in 2 bytes
        payload.replace(b"\x01\x00\x02", b"\x01\x18\x00\x02"),   # colour in 1+1 bytes
        cbor2.dumps({**claims, 8: {1: {1: 2}}}),                  # cnf present
        cbor2.dumps(dict(reversed(list(claims.items())))),        # other claim order
        cbor2.dumps({**claims, 99: "extension"}),                 # unknown claim
    ]
    for variant in variants:
        assert variant != payload
        fast, general = both_paths(CREDENTIAL_PREFIX + b45encode(sign_cose(key, variant)), trust)
        assert fast == general, variant.hex()


def test_der_matches_the_general_encoder():
    rng = random.Random(1)
    specials = [bytes(32), b"\x00" + bytes([0x80]) + rng.randbytes(30), b"\x80" * 32,
                b"\x7f" + rng.randbytes(31), b"\x01" + bytes(31)]
    halves = specials + [rng.randbytes(32) for _ in range(300)]
    for r in halves:
        for s in halves[:40]:
            der = es256_der(r, s)
            expected = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
            assert der is None or der == expected
            assert der is not None or r[0] == 0 or s[0] == 0


def test_fast_reader_never_raises_on_garbage(make_code):
    rng = random.Random(3)
    good = b45decode(make_code()[len(CREDENTIAL_PREFIX):])
    samples = [rng.randbytes(rng.randrange(0, 200)) for _ in range(3000)]
    samples += [good[:rng.randrange(len(good))] + rng.randbytes(rng.randrange(12))
                for _ in range(3000)]
    samples += [bytes(b ^ (rng.random() < 0.02) * rng.randrange(256) for b in good)
                for _ in range(3000)]
    for sample in samples:
        assert read(sample) is None or len(sample) == len(good)
