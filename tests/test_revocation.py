"""Signed revocation lists: accepted only when the issuer's trusted key signed them, strict
format, exact membership, rollback refused."""

import hashlib
import random
import time

import cbor2
import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.keys.signing import sign_cose, sign_raw
from verifier import Reason, RevocationList, Revocations
from verifier.cose import decode_sign1, encode_protected, encode_sign1, sig_structure
from verifier.errors import RevocationListError
from verifier.keys import kid_for
from verifier.labels import Alg
from verifier.revocation import (
    HASH_BYTES,
    MAX_REVOCATION_BYTES,
    REVOCATION_TYPE,
    REVOCATION_VERSION,
    check_successor,
    encode_payload,
    entry_hash,
    file_name,
)

CTI_LENGTH = 12
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def ctis(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(CTI_LENGTH) for _ in range(n)]


@pytest.fixture(scope="module")
def key(signing):
    return signing[0]


@pytest.fixture(scope="module")
def iss(signing) -> str:
    return signing[1].iss


@pytest.fixture(scope="module")
def sign(key, iss):
    """``sign(revoked, **fields)`` -> a signed list by the shared home's key."""

    def make(revoked=(), seq=1, iat=NOW, exp=NOW + DAY, **overrides):
        fields = {"iss": iss, "seq": seq, "iat": iat, "exp": exp, **overrides}
        return sign_cose(key, encode_payload(ctis=revoked, **fields))

    return make


@pytest.fixture(scope="module")
def resign(key, iss):
    """``resign(**changes)`` -> a list whose payload map has ``changes`` applied (a value of
    None drops the key), signed by the real key: the signature holds, the content may not."""

    def make(**changes):
        doc = {"typ": REVOCATION_TYPE, "ver": REVOCATION_VERSION, "iss": iss, "seq": 1,
               "iat": NOW, "exp": NOW + DAY, "width": HASH_BYTES,
               "hashes": b"".join(sorted(entry_hash(cti) for cti in ctis(3)))}
        doc.update(changes)
        return sign_cose(key, cbor2.dumps({k: v for k, v in doc.items() if v is not None}))

    return make


@pytest.fixture(scope="module")
def small(sign) -> bytes:
    return sign(ctis(20))


def reason_of(data, trust):
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(data, trust)
    return caught.value.reason


def test_round_trip(sign, trust, key, iss):
    revoked = ctis(1000)
    signed = sign(revoked, seq=7)
    listed = RevocationList.from_cose(signed, trust)
    assert (listed.iss, listed.sequence, listed.issued_at, listed.expires_at) == (
        iss, 7, NOW, NOW + DAY)
    assert listed.kid == kid_for(key.public_key())
    assert listed.digest == hashlib.sha256(signed).hexdigest()
    assert len(listed) == listed.count == 1000
    assert all(cti in listed for cti in revoked)
    assert not any(cti in listed for cti in ctis(10_000, seed=2))


def test_hundred_thousand_entries(sign, trust):
    revoked = ctis(100_000, seed=3)
    signed = sign(revoked)
    assert len(signed) < 100_000 * HASH_BYTES + 200
    started = time.perf_counter()
    listed = RevocationList.from_cose(signed, trust)
    assert time.perf_counter() - started < 1.0
    assert all(cti in listed for cti in revoked[::97])
    assert not any(cti in listed for cti in ctis(10_000, seed=4))


def test_empty_list(sign, trust):
    listed = RevocationList.from_cose(sign(), trust)
    assert len(listed) == 0 and listed.hashes == b""
    assert bytes(CTI_LENGTH) not in listed
    assert not listed.contains_hash(b"\x00" * HASH_BYTES)


def test_duplicates_are_dropped(sign, trust):
    revoked = ctis(5)
    listed = RevocationList.from_cose(sign(revoked * 3), trust)
    assert len(listed) == 5
    assert all(cti in listed for cti in revoked)


def test_entry_is_truncated_sha256():
    assert entry_hash(b"abc") == hashlib.sha256(b"abc").digest()[:HASH_BYTES]


def _direct(entries: list[bytes], iss: str = "HZ") -> RevocationList:
    return RevocationList(iss=iss, sequence=1, issued_at=NOW, expires_at=NOW + DAY, kid=b"k",
                          digest="", count=len(entries), hashes=b"".join(entries))


def test_lookup_ignores_matches_across_entries():
    # The 7 bytes at offset 2 (inside the first two entries) are the third entry: the search
    # must skip that unaligned match and find the aligned one, or report absence without it.
    first, second = bytes.fromhex("00000000010203"), bytes.fromhex("00000000090909")
    straddling = (first + second)[2:2 + HASH_BYTES]
    assert straddling == bytes.fromhex("00000102030000")
    assert _direct([first, second, straddling]).contains_hash(straddling)
    assert not _direct([first, second]).contains_hash(straddling)


def test_lookup_at_the_index_edges():
    low, high = b"\x00" * HASH_BYTES, b"\xff" * HASH_BYTES
    listed = _direct([low, high])
    assert listed.contains_hash(low) and listed.contains_hash(high)
    assert not listed.contains_hash(b"\xff" * (HASH_BYTES - 1) + b"\xfe")
    assert not listed.contains_hash(low[:-1]) and not listed.contains_hash(low + b"\x00")


def test_lookup_with_crowded_and_empty_buckets():
    # Buckets far larger than the ~15 of a uniform list (and long runs of empty ones) take the
    # index build's slow path; every entry must still be found, and nothing else.
    rng = random.Random(5)
    crowded = {bytes.fromhex("1234") + rng.randbytes(HASH_BYTES - 2) for _ in range(300)}
    crowded |= {bytes.fromhex("12") + rng.randbytes(HASH_BYTES - 1) for _ in range(300)}
    crowded |= {bytes.fromhex("fffe") + rng.randbytes(HASH_BYTES - 2) for _ in range(100)}
    entries = sorted(crowded | {rng.randbytes(HASH_BYTES) for _ in range(2000)})
    listed = _direct(entries)
    assert all(listed.contains_hash(entry) for entry in entries)
    values = {int.from_bytes(entry, "big") + d for entry in entries for d in (-1, 1)}
    neighbours = {v.to_bytes(HASH_BYTES, "big") for v in values
                  if 0 <= v < 1 << 8 * HASH_BYTES} - set(entries)
    assert not any(listed.contains_hash(entry) for entry in neighbours)


def test_direct_construction_checks_the_blob():
    with pytest.raises(ValueError):
        _direct([b"\x02" * HASH_BYTES, b"\x01" * HASH_BYTES])
    with pytest.raises(ValueError):
        RevocationList(iss="HZ", sequence=1, issued_at=0, expires_at=0, kid=b"k", digest="",
                       count=2, hashes=b"\x01" * HASH_BYTES)


def test_expired_list_still_applies(sign, trust):
    revoked = ctis(3)
    # Signed when the shared home's key was made (NOW - 1 day), valid one hour.
    listed = RevocationList.from_cose(sign(revoked, iat=NOW - DAY, exp=NOW - DAY + 3600), trust)
    assert listed.expired(NOW) and not listed.expired(NOW - DAY)
    assert revoked[0] in listed


def test_a_list_may_expire_the_second_it_is_signed(sign, trust):
    """``exp == iat`` (and ``seq`` 0) loads; ``expired()`` turns true one second after
    ``exp``, never at it."""
    listed = RevocationList.from_cose(sign(ctis(1), seq=0, iat=NOW, exp=NOW), trust)
    assert (listed.sequence, listed.issued_at, listed.expires_at) == (0, NOW, NOW)
    assert not listed.expired(NOW - 1) and not listed.expired(NOW)
    assert listed.expired(NOW + 1)
    later = RevocationList.from_cose(sign(ctis(1), iat=NOW, exp=NOW + DAY), trust)
    assert not later.expired(NOW + DAY) and later.expired(NOW + DAY + 1)


def test_a_list_dated_outside_the_keys_signing_window_is_refused(sign, trust):
    before = sign(ctis(1), iat=NOW - 2 * DAY, exp=NOW)
    assert reason_of(before, trust) is Reason.REVOCATION_LIST_BAD_SIGNATURE


def test_signed_by_a_key_not_in_the_trust_list(trust, iss):
    impostor = ec.generate_private_key(ec.SECP256R1())
    forged = sign_cose(impostor, encode_payload(iss=iss, seq=1, iat=NOW, exp=NOW + DAY,
                                                ctis=ctis(3)))
    assert reason_of(forged, trust) is Reason.REVOCATION_LIST_BAD_SIGNATURE


@pytest.mark.parametrize("alg", [Alg.EDDSA, -35])
def test_header_alg_must_be_the_keys(small, trust, key, alg):
    """Re-signed by the real key over a header naming another algorithm: the signature holds
    (checked with the key's pinned ES256), so only the alg check can refuse the list."""
    payload = decode_sign1(small).payload
    protected = cbor2.dumps({1: int(alg), 4: kid_for(key.public_key())})
    assert protected != encode_protected(Alg.ES256, kid_for(key.public_key()))
    forged = encode_sign1(protected, payload, sign_raw(key, sig_structure(protected, payload)))
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(forged, trust)
    assert caught.value.reason is Reason.REVOCATION_LIST_BAD_SIGNATURE
    assert caught.value.detail == "header alg does not fit the key"


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1:]


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda s: (s.protected, _flip(s.payload, len(s.payload) - 1), s.signature),
                 id="last hash byte"),
    pytest.param(lambda s: (s.protected, s.payload[:-HASH_BYTES], s.signature),
                 id="entry dropped"),
    pytest.param(lambda s: (s.protected, s.payload.replace(b"seq\x01", b"seq\x02"), s.signature),
                 id="sequence"),
    pytest.param(lambda s: (s.protected, s.payload, _flip(s.signature, 10)), id="signature"),
    pytest.param(lambda s: (s.protected, s.payload, b""), id="no signature"),
])
def test_tampering_is_a_bad_signature(small, trust, tamper):
    sign1 = decode_sign1(small)
    tampered = encode_sign1(*tamper(sign1))
    assert tampered != small
    assert reason_of(tampered, trust) is Reason.REVOCATION_LIST_BAD_SIGNATURE


def test_list_of_another_issuer_is_a_bad_signature(sign, trust, iss):
    assert reason_of(sign(ctis(3), iss=iss + "X"), trust) is Reason.REVOCATION_LIST_BAD_SIGNATURE


def _unsorted() -> bytes:
    return b"".join(sorted((entry_hash(cti) for cti in ctis(3)), reverse=True))


def _duplicated() -> bytes:
    entries = sorted(entry_hash(cti) for cti in ctis(3))
    return b"".join([entries[0], entries[1], entries[1], entries[2]])


@pytest.mark.parametrize(("changes", "why"), [
    ({"hashes": _unsorted()}, "hashes not sorted"),
    ({"hashes": _duplicated()}, "an entry twice"),
    ({"hashes": bytes(HASH_BYTES + 1)}, "not whole entries"),
    ({"hashes": "00" * HASH_BYTES}, "hashes as text"),
    ({"width": 8, "hashes": bytes(8)}, "wider entries"),
    ({"width": "7"}, "width as text"),
    ({"typ": "healthcode-trust-list"}, "wrong type"),
    ({"ver": 2}, "unknown version"),
    ({"ver": True}, "version as a boolean"),
    ({"seq": -1}, "negative sequence"),
    ({"seq": "1"}, "sequence as text"),
    ({"iat": 1.5}, "float time"),
    ({"exp": NOW - 1}, "expires before issued"),
    ({"exp": None}, "no expiry"),
    ({"iss": 7}, "issuer as a number"),
    ({"extra": 1}, "unknown key"),
])
def test_signed_but_invalid_content_is_malformed(resign, trust, changes, why):
    assert reason_of(resign(**changes), trust) is Reason.REVOCATION_LIST_MALFORMED, why


@pytest.mark.parametrize("payload", [b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps({1: 2}),
                                     cbor2.dumps({"typ": REVOCATION_TYPE}) + b"\x00"])
def test_signed_non_list_payload_is_malformed(key, trust, payload):
    assert reason_of(sign_cose(key, payload), trust) is Reason.REVOCATION_LIST_MALFORMED


def test_a_credential_is_not_a_revocation_list(make_code, trust):
    from verifier.base45 import b45decode
    from verifier.labels import CREDENTIAL_PREFIX

    code = b45decode(make_code()[len(CREDENTIAL_PREFIX):])
    assert reason_of(code, trust) is Reason.REVOCATION_LIST_MALFORMED


@pytest.mark.parametrize("data", [
    b"", b"\x00", b"\xd2", b"\xd2\x84", cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])),
    cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])), b"[" * 100_000,
    # A byte string claiming 2**62 bytes: refused without allocating them.
    b"\xd2\x84\x40\xa0\x5b" + (1 << 62).to_bytes(8, "big") + b"abc",
])
def test_garbage_is_malformed(data, trust):
    assert reason_of(data, trust) is Reason.REVOCATION_LIST_MALFORMED


def _of_size(key, iss, size: int) -> bytes:
    """A valid signed list of exactly ``size`` bytes: as many entries as fit, the rest made
    up in the unprotected header (which nothing reads and the signature does not cover)."""
    count = (size - 200) // HASH_BYTES
    stride = (1 << 8 * HASH_BYTES) // count  # sorted, distinct entries without sorting
    hashes = b"".join((i * stride).to_bytes(HASH_BYTES, "big") for i in range(count))
    payload = cbor2.dumps({"typ": REVOCATION_TYPE, "ver": REVOCATION_VERSION, "iss": iss,
                           "seq": 1, "iat": NOW, "exp": NOW + DAY, "width": HASH_BYTES,
                           "hashes": hashes})
    sign1 = decode_sign1(sign_cose(key, payload))

    def padded(pad: int) -> bytes:
        return cbor2.dumps(cbor2.CBORTag(18, [sign1.protected, {"pad": bytes(pad)}, payload,
                                              sign1.signature]))

    short = size - len(padded(0))  # a longer pad may need a longer head: try a few below
    (data,) = [data for pad in range(max(0, short - 3), short + 1)
               if len(data := padded(pad)) == size]
    return data


def test_a_file_of_exactly_the_size_limit_is_read_one_byte_more_is_not(tmp_path, key, iss,
                                                                       trust):
    assert MAX_REVOCATION_BYTES == 16 * 1024 * 1024
    path = tmp_path / "list.cose"
    path.write_bytes(_of_size(key, iss, MAX_REVOCATION_BYTES))
    listed = RevocationList.load(path, trust)
    assert listed.count == (MAX_REVOCATION_BYTES - 200) // HASH_BYTES
    path.write_bytes(_of_size(key, iss, MAX_REVOCATION_BYTES + 1))
    with pytest.raises(RevocationListError) as caught:
        RevocationList.load(path, trust)
    assert caught.value.reason is Reason.REVOCATION_LIST_MALFORMED
    assert caught.value.detail == f"larger than {MAX_REVOCATION_BYTES} bytes"


def test_oversize_is_malformed_before_parsing(trust):
    started = time.perf_counter()
    assert reason_of(b"\xd2" + bytes(MAX_REVOCATION_BYTES), trust) is (
        Reason.REVOCATION_LIST_MALFORMED)
    assert time.perf_counter() - started < 0.1


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes(trust, data):
    with pytest.raises(RevocationListError):
        RevocationList.from_cose(data, trust)


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_lists(small, trust, data):
    mutated = bytearray(small)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            mutated[at] ^= data.draw(st.integers(1, 255))
        elif action == "delete":
            del mutated[at]
        elif action == "insert":
            mutated.insert(at, data.draw(st.integers(0, 255)))
        else:
            del mutated[at:]
        if not mutated:
            break
    try:
        listed = RevocationList.from_cose(bytes(mutated), trust)
    except RevocationListError:
        return
    # Only the unsigned unprotected header can change without breaking the signature.
    assert listed.hashes == RevocationList.from_cose(small, trust).hashes


def test_load_reads_the_file(tmp_path, small, trust):
    path = tmp_path / "list.cose"
    path.write_bytes(small)
    assert RevocationList.load(path, trust) == RevocationList.from_cose(small, trust)
    with pytest.raises(OSError):
        RevocationList.load(tmp_path / "missing.cose", trust)


def test_successor_rules(sign, trust):
    def listed(seq, revoked, iat=NOW):
        return RevocationList.from_cose(sign(revoked, seq=seq, iat=iat), trust)

    current = listed(5, ctis(3))
    check_successor(None, current)
    check_successor(current, listed(5, ctis(3)))  # the same file again
    check_successor(current, listed(6, ctis(2)))  # same second, newer state of the same key
    check_successor(current, listed(1, ctis(2), iat=NOW + 1))  # signed later: seq is a tie-break
    for older_or_other in (listed(4, ctis(3)), listed(5, ctis(4)),
                           listed(2**62, ctis(3), iat=NOW - 1)):
        with pytest.raises(RevocationListError) as caught:
            check_successor(current, older_or_other)
        assert caught.value.reason is Reason.REVOCATION_LIST_ROLLBACK


def test_order_follows_the_signed_time_and_a_newer_key_wins_a_tie(tmp_path, monkeypatch):
    """A rotated-out key can sign only inside its window, so its lists, whatever their seq,
    are older than its successor's: they never replace them (finding 2 of issue 13)."""
    from issuer.keys.home import PASSPHRASE_ENV, Home
    from issuer.keys.keystore import init_home, load_signing_key, rotate_key
    from verifier.trust import TrustList

    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path)
    init_home(home, now=NOW)
    old, config, _ = load_signing_key(home)
    rotate_key(home, now=NOW + 100)
    new = load_signing_key(home)[0]
    trust = TrustList.load(home.trust_list, home.anchor_public, now=NOW + 100)

    def listed(key, iat, seq, revoked=()):
        return RevocationList.from_cose(sign_cose(key, encode_payload(
            iss=config.iss, seq=seq, iat=iat, exp=iat + DAY, ctis=revoked)), trust)

    genuine = listed(new, NOW + 100, 3, ctis(3))
    for forged in (listed(old, NOW + 99, 2**62), listed(old, NOW + 100, 2**62)):
        with pytest.raises(RevocationListError) as caught:
            check_successor(genuine, forged)
        assert caught.value.reason is Reason.REVOCATION_LIST_ROLLBACK
    # Dated after its window: refused outright, with its own reason.
    with pytest.raises(RevocationListError) as caught:
        listed(old, NOW + 101, 2**62)
    assert caught.value.reason is Reason.REVOCATION_LIST_BAD_SIGNATURE
    # The honest hand-over: the new key's first list replaces the old key's last one.
    check_successor(listed(old, NOW + 100, 2, ctis(2)), genuine)
    check_successor(listed(old, NOW + 50, 2**62), genuine)


def test_successor_of_another_issuer_is_refused(small, trust, iss):
    mine = RevocationList.from_cose(small, trust)
    theirs = _direct([], iss=iss + "X")
    with pytest.raises(RevocationListError) as caught:
        check_successor(mine, theirs)
    assert caught.value.reason is Reason.REVOCATION_LIST_MALFORMED


@pytest.mark.parametrize(("iss", "name"), [
    ("HZ", "revocations-HZ.cose"),
    ("city_2-b", "revocations-city_2-b.cose"),
    ("A" * 32, f"revocations-{'A' * 32}.cose"),
    ("A" * 33, f"revocations-~{'41' * 33}.cose"),
    ("../keys", "revocations-~2e2e2f6b657973.cose"),
    ("a/b", "revocations-~612f62.cose"),
    ("..", "revocations-~2e2e.cose"),
    ("HZ\n", "revocations-~485a0a.cose"),
    ("Zürich", "revocations-~5ac3bc72696368.cose"),
    ("", "revocations-~.cose"),
])
def test_file_name_is_safe(iss, name):
    assert file_name(iss) == name
    assert "/" not in name and "\\" not in name and ".." not in name


def test_load_dir_skips_and_reports_bad_files(tmp_path, sign, trust, iss):
    revoked = ctis(3)
    (tmp_path / file_name(iss)).write_bytes(sign(revoked))
    (tmp_path / "revocations-XX.cose").write_bytes(b"\xd2garbage")
    (tmp_path / "revocations-YY.cose").write_bytes(sign(ctis(2)))  # right list, wrong name
    (tmp_path / "revocations-ZZ.cose").mkdir()
    (tmp_path / "notes.txt").write_bytes(b"not a list, not looked at")
    revocations, errors = Revocations.load_dir(tmp_path, trust)
    assert [listed.iss for listed in revocations] == [iss] and len(revocations) == 1
    assert revocations.is_revoked(iss, revoked[0])
    assert not revocations.is_revoked(iss, ctis(1, seed=9)[0])
    assert not revocations.is_revoked("XX", revoked[0])
    assert revocations.get("XX") is None
    assert {name: exc.reason for name, exc in errors.items()} == {
        "revocations-XX.cose": Reason.REVOCATION_LIST_MALFORMED,
        "revocations-YY.cose": Reason.REVOCATION_LIST_MALFORMED,
        "revocations-ZZ.cose": Reason.REVOCATION_LIST_MALFORMED,
    }


def test_load_dir_of_an_empty_folder(tmp_path, trust):
    revocations, errors = Revocations.load_dir(tmp_path, trust)
    assert len(revocations) == 0 and errors == {}
    assert not Revocations().is_revoked("HZ", bytes(CTI_LENGTH))


def test_revocations_keep_each_list_under_its_issuer(small, trust, iss):
    listed = RevocationList.from_cose(small, trust)
    assert Revocations({iss: listed}).get(iss) is listed
    with pytest.raises(ValueError):
        Revocations({"elsewhere": listed})
