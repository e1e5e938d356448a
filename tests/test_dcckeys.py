"""The keys of EU certificates (verifier/formats/dcckeys.py): document signer certificates read
from the lists national backends publish (JSON) or a PEM bundle, each checked before use; the
DER walk that reads the certificates cryptography refuses, against cryptography's reading."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import warnings
from collections import Counter
from pathlib import Path

import dccmaker
import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

from verifier.errors import Reason, TrustListError
from verifier.formats.dcckeys import (
    MAX_FILE_BYTES,
    DccKeys,
    read_certificate,
    walk_der,
)
from verifier.formats.dcckeys import _with_cryptography as with_cryptography

CORPUS = Path(__file__).parent / "interop" / "dcc"


def _corpus_certificates() -> dict[str, bytes]:
    found: dict[bytes, str] = {}
    for path in sorted(CORPUS.glob("**/2DCode/raw/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
        found.setdefault(der, path.relative_to(CORPUS).as_posix())
    return {name: der for der, name in found.items()}


CERTIFICATES = _corpus_certificates()


def _entry(der: bytes, **fields) -> dict[str, str]:
    return {"certificateType": "DSC", "country": "DE",
            "kid": base64.b64encode(hashlib.sha256(der).digest()[:8]).decode(),
            "rawData": base64.b64encode(der).decode(), **fields}


def _pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


@pytest.mark.parametrize("name", sorted(CERTIFICATES))
def test_the_der_walk_reads_what_cryptography_reads(name):
    der = CERTIFICATES[name]
    walked = walk_der(der)
    read = with_cryptography(der)
    if name == "common/2DCode/raw/CO15.json":  # an empty extended key usage: refused there
        assert read is None and walked[3] == ()
        assert read_certificate(der).types == frozenset()
        return
    spki = read[0].public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert (spki, *read[1:]) == walked


@pytest.mark.parametrize(("not_before", "not_after"), [
    (631_152_000, 2_524_608_000),  # 1990 (UTCTime, 19xx) to 2050 (GeneralizedTime)
    (946_684_800, 2_524_607_999),  # 2000 (UTCTime, 20xx) to the last second of 2049
    (-631_152_000, 0),  # 1950, the first year UTCTime writes as 19xx, to 1970
])
def test_the_der_walk_reads_both_kinds_of_time(not_before, not_after):
    _, der = dccmaker.dsc(not_before=not_before, not_after=not_after)
    assert walk_der(der)[1:3] == with_cryptography(der)[1:3] == (not_before, not_after)


def test_the_corpus_has_its_77_certificates():
    assert len(CERTIFICATES) == 77


@pytest.mark.parametrize("damage", [
    lambda d: d[:-1], lambda d: d[:40], lambda d: b"", lambda d: b"\x30\x80" + d[2:],
    lambda d: b"\x30\x84\xff\xff\xff\xff" + d[4:], lambda d: d + b"\x00",
    lambda d: b"\x31" + d[1:], lambda d: b"\x30\x00", lambda d: b"\x30\x02\x30\x00",
    lambda d: d.replace(b"\x06\x03\x55\x1d\x25", b"\x06\x03\x55\x1d\x25\x80", 1),
], ids=["one byte short", "cut", "empty", "indefinite length", "huge length",
        "trailing byte", "a set", "nothing inside", "an empty body", "a broken extension"])
def test_the_der_walk_refuses_what_is_not_a_certificate(damage):
    with pytest.raises(ValueError):
        walk_der(damage(CERTIFICATES["common/2DCode/raw/CO6.json"]))


def test_random_damage_to_a_certificate_is_a_value_error_or_a_reading():
    chance = random.Random(19)
    outcomes: Counter[str] = Counter()
    for _ in range(3000):
        data = bytearray(chance.choice(list(CERTIFICATES.values())))
        at = chance.randrange(len(data))
        data[at] ^= chance.randrange(1, 256)
        try:
            walk_der(bytes(data))
            outcomes["read"] += 1
        except ValueError:
            outcomes["refused"] += 1
        try:
            read_certificate(bytes(data))
        except ValueError:
            pass
    assert outcomes["read"] and outcomes["refused"]


def test_a_national_list_in_both_shapes():
    _, der_de = dccmaker.dsc(eku=(dccmaker.TEST,))
    _, der_none = dccmaker.dsc(country=None)
    document = {"certificates": [_entry(der_de), _entry(der_none, country="AT")]}
    for data in (json.dumps(document), json.dumps(document["certificates"])):
        keys = DccKeys.from_bytes(data.encode())
        assert [(d.country, d.types, d.der) for d in keys] == [
            ("DE", frozenset({"test"}), der_de), ("AT", frozenset(), der_none)]
        assert keys.rejected == ()
        assert keys.by_kid(hashlib.sha256(der_de).digest()[:8])[0].allows("test")
        assert not keys.by_kid(hashlib.sha256(der_de).digest()[:8])[0].allows("recovery")


def test_the_listed_kid_and_country_win_over_the_certificate():
    _, der = dccmaker.dsc(country="FR")
    (dsc,) = DccKeys.from_bytes(json.dumps(
        [_entry(der, kid=base64.b64encode(b"12345678").decode(), country="MC")]).encode())
    assert (dsc.kid, dsc.country) == (b"12345678", "MC")
    (dsc,) = DccKeys.from_bytes(json.dumps([{"rawData": _entry(der)["rawData"]}]).encode())
    assert (dsc.kid, dsc.country) == (hashlib.sha256(der).digest()[:8], "FR")


def test_unusable_entries_are_left_out_and_said_why():
    _, good = dccmaker.dsc()
    _, small_rsa = dccmaker.dsc(dccmaker.rsa_key(1024))
    _, ed = dccmaker.dsc(ed25519.Ed25519PrivateKey.generate())
    with warnings.catch_warnings():  # cryptography 51 deprecates DSA: all the more reason
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        _, dsa_der = dccmaker.dsc(dsa.generate_private_key(2048))
    entries = [
        _entry(good), _entry(good, certificateType="CSCA"), _entry(good, rawData="not base64!"),
        _entry(good, kid="c2hvcnQ="), _entry(good, kid=7), _entry(good, country="Germany"),
        "an entry", _entry(small_rsa), _entry(ed), _entry(dsa_der),
        _entry(good, rawData=base64.b64encode(b"\x30\x03\x02\x01\x01").decode()),
        _entry(good, rawData=base64.b64encode(bytes(20_000)).decode()),
    ]
    keys = DccKeys.from_bytes(json.dumps({"certificates": entries}).encode())
    assert len(keys) == 1
    assert [which for which, _ in keys.rejected] == [
        f"entry {n} (kid {entries[n - 1]['kid']})" if isinstance(entries[n - 1], dict)
        and isinstance(entries[n - 1]["kid"], str) else f"entry {n}" for n in range(2, 13)]


def test_a_pem_bundle():
    _, one = dccmaker.dsc()
    _, two = dccmaker.dsc(ec.generate_private_key(ec.SECP384R1()), country="NL")
    public = _pem(b"\x30\x00", "PUBLIC KEY")
    keys = DccKeys.from_bytes(b"\xef\xbb\xbf\n" + _pem(one) + public + _pem(two))
    assert [(d.kid, d.country) for d in keys] == [
        (hashlib.sha256(one).digest()[:8], "DE"), (hashlib.sha256(two).digest()[:8], "NL")]
    assert [which for which, _ in keys.rejected] == ["PEM block 2"]


@pytest.mark.parametrize("data", [
    b"", b"not a list", b"42", b'{"certificates": 3}', b'{"other": []}', b"\xff\xfe",
    b"[" * 100_000 + b"]" * 100_000, b"-----BEGIN CERTIFICATE-----\nno end",
    b" " * (MAX_FILE_BYTES + 1),
], ids=["empty", "text", "a number", "not a list", "no certificates", "not UTF-8",
        "nested", "a PEM without its end", "too large"])
def test_an_unreadable_key_file_is_refused(data):
    with pytest.raises(TrustListError) as caught:
        DccKeys.from_bytes(data)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED
    assert caught.value.context["format"] == "dcc"


def test_one_certificate_from_its_der():
    _, der = dccmaker.dsc()
    assert DccKeys.from_der(der).certificates[0].der == der
    with pytest.raises(TrustListError):
        DccKeys.from_der(der[:-5])


def test_merge_keeps_each_certificate_once_and_every_one_under_a_shared_kid():
    _, one = dccmaker.dsc()
    _, two = dccmaker.dsc()
    first = DccKeys.from_der(one)
    shared = DccKeys.from_der(two, kid=first.certificates[0].kid)
    merged = first.merged(shared).merged(first)
    assert len(merged) == 2
    assert [d.der for d in merged.by_kid(first.certificates[0].kid)] == [one, two]
    assert merged.by_kid(b"unknown!") == ()


def test_the_json_it_writes_reads_back(tmp_path):
    _, one = dccmaker.dsc(eku=(dccmaker.RECOVERY,))
    _, two = dccmaker.dsc(country=None)
    keys = DccKeys.from_der(one).merged(DccKeys.from_der(two))
    path = tmp_path / "dcc.json"
    path.write_bytes(keys.to_json())
    again = DccKeys.load(path)
    assert [(d.kid, d.country, d.types, d.der, d.not_before, d.not_after) for d in again] == \
        [(d.kid, d.country, d.types, d.der, d.not_before, d.not_after) for d in keys]
