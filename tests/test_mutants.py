"""Tests that kill what the mutation run (``make mutation``, docs/TESTING.md) found alive: each
pins a behaviour of the verifier core that no other test pinned, by its reason."""

import importlib
import json
import random
import stat
from dataclasses import replace

import cbor2
import pytest
from conftest import DAY, NOW
from cryptography.hazmat.primitives.asymmetric import ec
from test_fastpath import _mutations, both_paths
from test_presentation import present

from issuer.keys.signing import sign_cose, sign_jws, sign_jws_multi
from verifier import (
    Reason,
    RevocationList,
    TrustList,
    TrustListError,
    VerificationError,
    cnf_for,
    load_anchor,
    verify,
)
from verifier.base45 import b45decode, b45encode
from verifier.errors import RevocationListError
from verifier.fastpath import read
from verifier.jws import MAX_JWS_BYTES, decode_jws, encode_header, encode_jws
from verifier.keys import b64url, key_to_jwk, thumbprint
from verifier.labels import CREDENTIAL_PREFIX
from verifier.trust import TRUST_LIST_TYPE, check_successor, save_anchor
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


# trust.TrustList: anchors, roll-over, successors, names, files.
@pytest.fixture(scope="module")
def anchors():
    return ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


def _list_payload(home, anchor=None, **changes) -> bytes:
    doc = {**json.loads(decode_jws(home.trust_list.read_text()).payload), **changes}
    if anchor is not None:
        doc["anchor"] = b64url(thumbprint(anchor.public_key()))
    return json.dumps(doc).encode()


def _trust_reason(data, pin, now=NOW) -> Reason:
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(data, pin, now)
    return caught.value.reason


def test_a_list_the_pinned_anchor_did_not_sign_is_refused_whatever_anchor_it_names(home,
                                                                                     anchors):
    pinned, other = anchors
    pin = thumbprint(pinned.public_key())
    forged = sign_jws(other, _list_payload(home, anchor=other), TRUST_LIST_TYPE)
    assert _trust_reason(forged, pin) is Reason.TRUST_LIST_BAD_SIGNATURE


def test_a_list_naming_an_anchor_that_did_not_sign_it_is_refused(home, anchors):
    pinned, other = anchors
    data = sign_jws(pinned, _list_payload(home, anchor=other), TRUST_LIST_TYPE)
    assert _trust_reason(data, thumbprint(pinned.public_key())) \
        is Reason.TRUST_LIST_BAD_SIGNATURE


def test_a_roll_over_is_told_apart_from_a_list_under_its_own_anchor(home, anchors):
    old, new = anchors
    data = sign_jws_multi([old, new], _list_payload(home, anchor=new), TRUST_LIST_TYPE)
    old_pin, new_pin = thumbprint(old.public_key()), thumbprint(new.public_key())
    rolled = TrustList.from_jws(data, old_pin, NOW)
    assert (rolled.anchor, rolled.rolled_over_from) == (new_pin, old_pin)
    assert TrustList.from_jws(data, new_pin, NOW).rolled_over_from is None


def test_a_signer_header_without_a_usable_key_is_a_bad_signature(home, anchors):
    pinned, _ = anchors
    header = {"alg": "ES256", "typ": TRUST_LIST_TYPE, "jwk": {"kty": "EC", "crv": "P-256"}}
    data = encode_jws(encode_header(header), _list_payload(home), b"\x00" * 64)
    assert _trust_reason(data, thumbprint(pinned.public_key())) \
        is Reason.TRUST_LIST_BAD_SIGNATURE


def test_the_trust_list_format_is_version_1(home):
    assert json.loads(decode_jws(home.trust_list.read_text()).payload)["ver"] == 1


def test_a_trust_list_of_another_version_is_malformed(home, anchors):
    pinned, _ = anchors
    for ver in (0, 2):
        data = sign_jws(pinned, _list_payload(home, ver=ver), TRUST_LIST_TYPE)
        assert _trust_reason(data, thumbprint(pinned.public_key())) \
            is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize(("have", "got", "same_digest", "refused"), [
    (5, 4, False, True), (5, 4, True, True), (5, 5, False, True), (5, 5, True, False),
    (5, 6, False, False), (5, 6, True, False)])
def test_the_successor_rule(trust, have, got, same_digest, refused):
    previous = replace(trust, sequence=have, digest="a")
    new = replace(trust, sequence=got, digest="a" if same_digest else "b")
    if refused:
        with pytest.raises(TrustListError) as caught:
            check_successor(previous, new)
        assert caught.value.reason is Reason.TRUST_LIST_ROLLBACK
    else:
        check_successor(previous, new)
    check_successor(None, new)


def test_an_issuer_name_falls_back_from_the_region_to_the_language(trust):
    named = replace(trust, issuer_names={"HZ": {"zh": "杭州健康码", "en": "Hangzhou"}})
    assert named.issuer_name("HZ", "zh-CN") == "杭州健康码"
    assert named.issuer_name("HZ", "en-GB") == "Hangzhou"


def test_a_pinned_anchor_file_is_readable_by_everyone(tmp_path, anchors):
    path = tmp_path / "anchor.pub.pem"
    jwk = key_to_jwk(anchors[0].public_key())
    assert save_anchor(path, jwk) == thumbprint(anchors[0].public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize(("padding", "loads"), [(0, True), (1, False)])
def test_an_anchor_file_is_read_up_to_64_kib(tmp_path, anchors, padding, loads):
    pin = "sha256:" + b64url(thumbprint(anchors[0].public_key()))
    path = tmp_path / "anchor.pin"
    path.write_text(" " * (64 * 1024 - len(pin) + padding) + pin)
    if loads:
        assert load_anchor(path) == thumbprint(anchors[0].public_key())
    else:
        with pytest.raises(TrustListError) as caught:
            load_anchor(path)
        assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize(("padding", "loads"), [(0, True), (1, False)])
def test_a_trust_list_file_is_read_up_to_its_size_limit(home, tmp_path, padding, loads):
    data = home.trust_list.read_bytes()
    path = tmp_path / "trust-list.json"
    path.write_bytes(data + b" " * (MAX_JWS_BYTES - len(data) + padding))
    pin = load_anchor(home.anchor_public)
    if loads:
        assert TrustList.load(path, pin, NOW).sequence >= 1
    else:
        with pytest.raises(TrustListError) as caught:
            TrustList.load(path, pin, NOW)
        assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize("text", ["not base64url!", "-----BEGIN PUBLIC KEY-----\nnot a key\n",
                                  "{not json", '{"kty": "EC"}'])
def test_an_unreadable_anchor_file_is_malformed(tmp_path, text):
    path = tmp_path / "anchor"
    path.write_text(text)
    with pytest.raises(TrustListError) as caught:
        load_anchor(path)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


def _names_list(home, anchor, names) -> bytes:
    doc = json.loads(decode_jws(home.trust_list.read_text()).payload)
    doc["issuers"][0]["names"] = names
    doc["anchor"] = b64url(thumbprint(anchor.public_key()))
    return sign_jws(anchor, json.dumps(doc).encode(), TRUST_LIST_TYPE)


@pytest.mark.parametrize(("names", "loads"), [
    ({f"x{i}": "n" for i in range(16)}, True), ({f"x{i}": "n" for i in range(17)}, False),
    ({"z": "n"}, True), ({"": "n"}, False), ({"x" * 35: "n"}, True), ({"x" * 36: "n"}, False),
    ({"zh-CN": "杭"}, True), ({"zh-CN": "x" * 200}, True), ({"zh-CN": ""}, False),
    ({"zh-CN": "x" * 201}, False)])
def test_issuer_names_limits(home, anchors, names, loads):
    """At most 16 names, tags of 1 to 35 characters (BCP 47's longest), names of 1 to 200."""
    data, pin = _names_list(home, anchors[0], names), thumbprint(anchors[0].public_key())
    if loads:
        assert TrustList.from_jws(data, pin, NOW).issuer_names["HZ"] == names
    else:
        assert _trust_reason(data, pin) is Reason.TRUST_LIST_MALFORMED


# revocation.RevocationList: the search for an entry, the format's numbers.
def _list_of(*entries: bytes) -> RevocationList:
    hashes = b"".join(sorted(entries))
    return RevocationList(iss="HZ", sequence=1, issued_at=NOW, expires_at=NOW + DAY, kid=b"k",
                          digest="", count=len(entries), hashes=hashes)


def test_an_entry_is_found_only_on_an_entry_boundary():
    wanted = b"\x01" * 7
    # The first list holds it only across two entries (offset 6): not revoked.
    across = _list_of(b"\x01\x01\x00\x00\x00\x00\x01", b"\x01\x01\x01\x01\x01\x01\x02")
    assert not across.contains_hash(wanted)
    # The second holds it across the same boundary and, one byte on, as an entry: revoked.
    both = _list_of(b"\x01\x01\x00\x00\x00\x00\x01", wanted)
    assert both.contains_hash(wanted)


def test_an_entry_of_another_width_is_never_found():
    listed = b"\x01\x02\x03\x04\x05\x06\x07"
    revocations = _list_of(listed)
    assert revocations.contains_hash(listed)
    assert not revocations.contains_hash(listed[:6])
    assert not revocations.contains_hash(listed + b"\x08")


def test_a_list_built_directly_has_no_key_start():
    assert _list_of().order == (NOW, 0, 1)


def _signed_list(signing, **changes) -> bytes:
    key, config = signing
    doc = {"typ": "healthcode-revocations", "ver": 1, "iss": config.iss, "seq": 1, "iat": NOW,
           "exp": NOW + DAY, "width": 7, "hashes": b"", **changes}
    return sign_cose(key, cbor2.dumps(doc))


@pytest.mark.parametrize("width", [7.0, 8, "7"])
def test_a_revocation_list_width_other_than_the_integer_7_is_malformed(signing, trust, width):
    assert RevocationList.from_cose(_signed_list(signing), trust).count == 0
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(_signed_list(signing, width=width), trust)
    assert caught.value.reason is Reason.REVOCATION_LIST_MALFORMED


# verify._verify_presentation: the staleness detail tells an old picture from a fast clock.
def test_a_presentation_one_second_old_is_told_as_old(make_code, trust):
    device = ec.generate_private_key(ec.SECP256R1())
    bound = make_code(cnf=cnf_for(device.public_key()))
    with pytest.raises(VerificationError) as caught:
        verify(present(device, bound, NOW), trust, NOW + 1, window=0)
    assert caught.value.reason is Reason.STALE_PRESENTATION
    assert caught.value.detail == "made 1 s ago; a live code is at most 0 s old"
