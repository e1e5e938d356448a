"""Check-ID fields: a static code carries, signed, the masked name and the id number's last 4
characters, so that a checkpoint has something to compare with the holder's ID document; a
code bound to a phone carries none. Known-answer vectors: tests/vectors/valid.json and
invalid.json ("check-ID ...")."""

from __future__ import annotations

import pytest
from conftest import DAY, NOW
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import issue_credential
from issuer.render.qr import make_qr
from verifier import IdCheck, Reason, VerificationError, cnf_for, verify


@pytest.mark.parametrize(("name", "id_number", "expected"), [
    ("李四", "330106198502021234", ("李*", "1234")),
    (" Zhāng Sān ", "3301 0619 8511 1156 7x", ("Z*", "567X")),
    ("Ann", "A-1", ("A*", "A1")),
    ("王小明", "ID０１２３４５", ("王*", "ID")),  # full-width digits are not ASCII: dropped
])
def test_the_fields_of_a_person(name, id_number, expected):
    assert IdCheck.of(name, id_number) == expected


@pytest.mark.parametrize(("name", "id_number"), [("", "1234"), ("  ", "1234"), ("Li", "--")])
def test_nothing_to_show_is_refused(name, id_number):
    with pytest.raises(ValueError):
        IdCheck.of(name, id_number)


def test_a_static_code_carries_them_signed(signing, trust):
    key, config = signing
    text = issue_credential(key, iss=config.iss, colour="yellow", score=59, iat=NOW, ttl=DAY,
                            policy=bytes(8), id_check=IdCheck("李*", "123X"))
    credential = verify(text, trust, NOW)
    assert credential.static and credential.id_check == IdCheck("李*", "123X")
    assert credential.as_dict()["id_check"] == {"name": "李*", "id_tail": "123X"}


def test_a_code_without_them_says_none(make_code, trust):
    assert verify(make_code(), trust, NOW).id_check is None


def test_the_issuer_never_signs_them_on_a_phone_bound_code(signing):
    key, config = signing
    phone = cnf_for(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(ValueError, match="bound to a phone"):
        issue_credential(key, iss=config.iss, colour="green", score=80, iat=NOW, ttl=DAY,
                         cnf=phone, id_check=IdCheck("李*", "1234"))


@pytest.mark.parametrize("fields", [
    IdCheck("李四", "1234"), IdCheck("*", "1234"), IdCheck(" *", "1234"),
    IdCheck("李" * 8 + "*", "1234"), IdCheck("李*", "12345"), IdCheck("李*", "12x4"),
    IdCheck("李*", ""),
])
def test_the_issuer_never_signs_malformed_ones(signing, fields):
    key, config = signing
    with pytest.raises(ValueError, match="check-ID"):
        issue_credential(key, iss=config.iss, colour="green", score=80, iat=NOW, ttl=DAY,
                         id_check=fields)


def test_a_forged_change_of_the_fields_breaks_the_signature(signing, trust):
    key, config = signing
    text = issue_credential(key, iss=config.iss, colour="green", score=80, iat=NOW, ttl=DAY,
                            id_check=IdCheck("L*", "1234"))
    from verifier.base45 import b45decode, b45encode

    data = bytearray(b45decode(text[5:]))
    data[data.index(b"1234")] = ord("9")
    with pytest.raises(VerificationError) as caught:
        verify(text[:5] + b45encode(bytes(data)), trust, NOW)
    assert caught.value.reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("name", ["李*", "Z*", "𠀀*"])  # a 4-byte character is the worst case
def test_a_card_code_stays_within_qr_version_10_at_ecc_m(signing, name):
    key, config = signing
    text = issue_credential(key, iss=config.iss, colour="yellow", score=100, iat=NOW,
                            ttl=30 * DAY, policy=bytes(8), id_check=IdCheck(name, "123X"))
    qr = make_qr(text)
    assert (qr.error, qr.version <= 10) == ("M", True), (qr.version, len(text))
