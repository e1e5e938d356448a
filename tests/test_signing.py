"""issuer.keys.signing: sign_credential returns the cti it signed; the protected header is the
signing key's own, whichever key signs (it is cached per key)."""

from __future__ import annotations

from conftest import DAY, NOW
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from issuer.keys.signing import Signed, issue_credential, sign_credential
from verifier import IdCheck, decode_unverified, verify
from verifier.keys import kid_for


def test_sign_credential_returns_the_cti_inside_the_code(signing, trust):
    key, config = signing
    signed = sign_credential(key, iss=config.iss, colour="yellow", score=55, iat=NOW, ttl=DAY,
                             policy=bytes(8), id_check=IdCheck.of("王伍", "330106198803031234"))
    assert isinstance(signed, Signed)
    assert decode_unverified(signed.text).cti == signed.cti
    credential = verify(signed.text, trust, NOW + 60)
    assert (credential.cti, credential.colour.value, credential.score) == (signed.cti, "yellow", 55)
    again = sign_credential(key, iss=config.iss, colour="yellow", score=55, iat=NOW, ttl=DAY)
    assert again.cti != signed.cti  # fresh and random


def test_issue_credential_is_sign_credentials_text(signing):
    key, config = signing
    args = {"iss": config.iss, "colour": "green", "score": 90, "iat": NOW, "ttl": DAY,
            "cti": bytes(range(12))}
    signed = sign_credential(key, **args)
    assert signed == (issue_credential(key, **args), bytes(range(12)))


def test_each_key_signs_under_its_own_kid():
    keys = [ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate(),
            ec.generate_private_key(ec.SECP256R1())]
    for _ in range(2):  # the second round reads the cached headers
        for key in keys:
            text = issue_credential(key, iss="HZ", colour="green", score=90, iat=NOW, ttl=DAY)
            assert decode_unverified(text).kid == kid_for(key.public_key())
