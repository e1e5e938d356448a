"""Independent COSE implementations verify our codes with the JWK from trust-list.json."""

import json
import time

import cbor2
import pytest

from verifier.base45 import b45decode
from verifier.jws import decode_jws
from verifier.labels import CREDENTIAL_PREFIX, Claim, Health


@pytest.fixture(scope="module")
def published_jwk(home) -> dict:
    """The issuer's key as a verifier would take it from the (signed) trust list file."""
    payload = json.loads(decode_jws(home.trust_list.read_text()).payload)
    (jwk,) = payload["issuers"][0]["keys"]
    return {k: jwk[k] for k in ("kty", "crv", "x", "y", "kid", "alg")}


@pytest.fixture(scope="module")
def cose(make_code) -> bytes:
    # python-cwt checks exp against the wall clock (it takes no "now"), so this code alone is
    # issued at the real current time.
    return b45decode(make_code(colour="yellow", score=64, policy=bytes(range(8)),
                               iat=int(time.time()))[len(CREDENTIAL_PREFIX):])


def test_python_cwt_verifies_and_reads_claims(published_jwk, cose):
    import cwt
    from cwt import COSEKey

    key = COSEKey.from_jwk(published_jwk)
    claims = cwt.decode(cose, key, no_verify=False)  # python-cwt checks signature and exp
    assert claims[Claim.ISS] == "HZ"
    assert claims[Claim.HEALTH] == {Health.COLOUR: 1, Health.SCORE: 64,
                                    Health.POLICY: bytes(range(8))}
    assert len(claims[Claim.CTI]) == 12
    assert claims[Claim.EXP] - claims[Claim.IAT] == 86_400
    assert key.kid == published_jwk["kid"].encode()  # the JWK kid string is the COSE kid


def test_python_cwt_refuses_a_tampered_code(published_jwk, cose):
    import cwt
    from cwt import COSEKey

    tampered = bytearray(cose)
    tampered[-5] ^= 1
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(tampered), COSEKey.from_jwk(published_jwk))


def test_pycose_verifies(published_jwk, cose):
    from pycose.keys import EC2Key
    from pycose.keys.curves import P256
    from pycose.messages import Sign1Message

    from verifier.keys import b64url_decode

    message = Sign1Message.decode(cose)
    message.key = EC2Key(crv=P256, x=b64url_decode(published_jwk["x"]),
                         y=b64url_decode(published_jwk["y"]))
    assert message.verify_signature()
    assert message.phdr_encoded == cbor2.loads(cose).value[0]
    assert cbor2.loads(message.payload)[Claim.HEALTH][Health.SCORE] == 64
