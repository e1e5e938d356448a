"""Known-answer vectors: every stage of the encoding, and the reason of every rejection."""

from typing import Any

import cbor2
import pytest
from vectorlib import load, private_key, trust_from

from issuer.keys.signing import sign_raw
from verifier import VerificationError, decode_unverified, verify
from verifier.base45 import b45decode, b45encode
from verifier.claims import Credential, IdCheck, encode_claims
from verifier.cose import decode_sign1, encode_protected, encode_sign1, sig_structure
from verifier.errors import RevocationListError
from verifier.keys import b64url_decode, jwk_to_key
from verifier.labels import (
    CREDENTIAL_PREFIX,
    PRESENTATION_PREFIX,
    Claim,
    Colour,
    Confirmation,
    CoseKey,
    Header,
)
from verifier.presentation import (
    Presentation,
    cnf_for,
    decode_presentation,
    encode_presentation,
    presentation_message,
    presentation_protected,
)
from verifier.revocation import RevocationList, encode_payload, entry_hash

VALID = load("valid.json")
INVALID = load("invalid.json")
REVOCATIONS = load("revocations.json")
PRESENTATIONS = [v for v in load("presentations.json") if "stages" in v]
REFUSED_PRESENTATIONS = [v for v in load("presentations.json") if "reason" in v]
_FIELDS = ("iss", "iat", "exp", "cti", "colour", "score", "policy", "kid", "alg", "id_check",
           "family")


def _public(jwk: dict[str, str]) -> dict[str, str]:
    """The public half of a vector's private JWK, as a trust list would publish it."""
    return {k: v for k, v in jwk.items() if k not in ("d", "use")}


def _stages(hexed: dict[str, str]) -> dict[str, Any]:
    return {k: bytes.fromhex(v) if k not in ("base45", "text") else v for k, v in hexed.items()
            if isinstance(v, str)}


def _check_credential_stages(jwk: dict[str, str], inputs: dict[str, Any],
                             stages: dict[str, Any], cnf: Any = None) -> bytes:
    """Re-derive a credential's every stage from its inputs; return its COSE bytes."""
    _, alg, kid = jwk_to_key(_public(jwk))
    claims = encode_claims(
        iss=inputs["iss"], iat=inputs["iat"], exp=inputs["exp"], cti=bytes.fromhex(inputs["cti"]),
        colour=Colour(inputs["colour"]), score=inputs["score"],
        policy=bytes.fromhex(inputs["policy"]) if inputs.get("policy") else None, cnf=cnf,
        id_check=IdCheck(**inputs["id_check"]) if inputs.get("id_check") else None,
        family=inputs.get("family", False))
    assert claims == stages["claims_cbor"]
    assert encode_protected(alg, kid) == stages["protected"]
    assert sig_structure(stages["protected"], claims) == stages["sig_structure"]
    assert sign_raw(private_key(jwk), stages["sig_structure"]) == stages["signature"]  # RFC 6979
    cose = encode_sign1(stages["protected"], claims, stages["signature"])
    assert cose == stages["cose"]
    assert b45encode(cose) == stages["base45"]
    assert CREDENTIAL_PREFIX + stages["base45"] == stages["text"]
    assert b45decode(stages["base45"]) == cose
    assert decode_sign1(cose) == (stages["protected"], {}, claims, stages["signature"])
    return cose


def _check_expected(credential: Credential, expected: dict[str, Any],
                    fields: tuple[str, ...] = _FIELDS) -> None:
    got = credential.as_dict()
    for field in fields:
        assert got[field] == expected[field], field


@pytest.mark.parametrize("vector", VALID, ids=[v["title"] for v in VALID])
def test_valid_vector_every_stage(vector):
    stages = _stages(vector["stages"])
    _check_credential_stages(vector["key"], vector["inputs"], stages)
    # and back: text -> COSE -> members -> verified claims
    credential = verify(stages["text"], trust_from(vector["trust"]), now=vector["now"])
    _check_expected(credential, vector["expected"])
    assert decode_unverified(stages["text"]) == credential


@pytest.mark.parametrize("vector", INVALID, ids=[v["title"] for v in INVALID])
def test_invalid_vector_reason(vector):
    with pytest.raises(VerificationError) as caught:
        verify(vector["text"], trust_from(vector["trust"]), now=vector["now"])
    assert caught.value.reason == vector["reason"]


def test_vectors_are_what_the_generator_writes(tmp_path, monkeypatch):
    """The committed vectors are current: regenerating them changes nothing."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parent / "vectors" / "generate.py"
    spec = importlib.util.spec_from_file_location("generate_vectors", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    for name in ("valid.json", "invalid.json", "revocations.json", "presentations.json"):
        assert (tmp_path / name).read_text() == (script.parent / name).read_text()


def test_revocation_list_vector_every_stage():
    vector = REVOCATIONS[0]
    inputs, stages = vector["inputs"], vector["stages"]
    fields = {k: inputs[k] for k in ("iss", "seq", "iat", "exp")}
    payload = encode_payload(**fields, ctis=[bytes.fromhex(c) for c in inputs["ctis"]])
    assert payload.hex() == stages["payload"]
    assert sorted(entry_hash(bytes.fromhex(c)).hex() for c in vector["revoked"]) \
        == stages["hashes"]
    key = private_key(vector["key"])
    _, alg, kid = jwk_to_key({k: v for k, v in vector["key"].items() if k != "d"})
    assert encode_protected(alg, kid).hex() == stages["protected"]
    message = sig_structure(bytes.fromhex(stages["protected"]), payload)
    assert sign_raw(key, message).hex() == stages["signature"]  # RFC 6979
    listed = RevocationList.from_cose(bytes.fromhex(stages["cose"]), trust_from(vector["trust"]))
    assert (listed.iss, listed.sequence, len(listed)) == (inputs["iss"], inputs["seq"], 3)
    assert all(bytes.fromhex(c) in listed for c in vector["revoked"])
    assert not any(bytes.fromhex(c) in listed for c in vector["not_revoked"])


@pytest.mark.parametrize("vector", REVOCATIONS[1:], ids=[v["title"] for v in REVOCATIONS[1:]])
def test_invalid_revocation_list_vector_reason(vector):
    with pytest.raises(RevocationListError) as caught:
        RevocationList.from_cose(bytes.fromhex(vector["cose"]), trust_from(vector["trust"]))
    assert caught.value.reason == vector["reason"]


@pytest.mark.parametrize("vector", PRESENTATIONS, ids=[v["title"] for v in PRESENTATIONS])
def test_presentation_vector_every_stage(vector):
    stages, at = _stages(vector["stages"]), vector["inputs"]["presented_at"]
    phone = private_key(vector["holder_key"])
    cnf = cnf_for(phone.public_key())
    assert cbor2.dumps(cnf) == stages["cnf_cbor"]
    credential = _check_credential_stages(vector["key"], vector["inputs"],
                                          _stages(vector["stages"]["credential"]), cnf)

    protected = presentation_protected(at)
    assert protected == stages["protected"]
    # docs/FORMAT.md spells these bytes out: {1 (alg): -7, 15 (CWT claims): {6 (iat): t}}
    assert protected == bytes.fromhex("a201260fa1061a") + at.to_bytes(4, "big")
    message = presentation_message(credential, at)
    assert message == sig_structure(protected, credential) == stages["sig_structure"]
    assert sign_raw(phone, message) == stages["signature"]  # RFC 6979
    cose = encode_sign1(protected, credential, stages["signature"])
    assert cose == stages["cose"]
    assert b45encode(cose) == stages["base45"]
    assert PRESENTATION_PREFIX + stages["base45"] == stages["text"]
    assert encode_presentation(credential, at, stages["signature"]) == stages["text"]

    # and back: text -> presentation -> credential -> verified claims and time
    assert decode_presentation(b45decode(stages["base45"])) == Presentation(
        at, credential, message, stages["signature"])
    verified = verify(stages["text"], trust_from(vector["trust"]), now=vector["now"])
    _check_expected(verified, vector["expected"], (*_FIELDS, "device_bound", "presented_at"))
    assert verified.cnf == cnf and not verified.static


@pytest.mark.parametrize("vector", REFUSED_PRESENTATIONS,
                         ids=[v["title"] for v in REFUSED_PRESENTATIONS])
def test_refused_presentation_vector_reason(vector):
    with pytest.raises(VerificationError) as caught:
        verify(vector["text"], trust_from(vector["trust"]), now=vector["now"])
    assert caught.value.reason == vector["reason"]


def test_the_cnf_key_is_the_holder_jwk_compressed():
    """The cnf COSE_Key, read by hand: x as is, y as its sign bit (RFC 9053 section 7.1.1)."""
    for vector in PRESENTATIONS:
        jwk = vector["holder_key"]
        key = cbor2.loads(bytes.fromhex(vector["stages"]["cnf_cbor"]))[Confirmation.COSE_KEY]
        assert key == {CoseKey.KTY: CoseKey.KTY_EC2, CoseKey.CRV: CoseKey.CRV_P256,
                       CoseKey.X: b64url_decode(jwk["x"]),
                       CoseKey.Y: bool(b64url_decode(jwk["y"])[-1] & 1)}


def _time_moved(presentation: bytes) -> bytes:
    """The presentation with its time one second off (the last byte of the protected header,
    after tag, array head and bstr head): the phone's signature no longer holds."""
    assert presentation[3:10] == bytes.fromhex("a201260fa1061a")
    moved = bytearray(presentation)
    moved[13] ^= 1
    return bytes(moved)


def _pycose_key(jwk: dict[str, str]):
    from pycose.keys import EC2Key, OKPKey
    from pycose.keys.curves import P256, Ed25519

    if jwk["kty"] == "OKP":
        return OKPKey(crv=Ed25519, x=b64url_decode(jwk["x"]))
    return EC2Key(crv=P256, x=b64url_decode(jwk["x"]), y=b64url_decode(jwk["y"]))


@pytest.mark.parametrize("vector", PRESENTATIONS, ids=[v["title"] for v in PRESENTATIONS])
def test_pycose_verifies_both_signatures(vector):
    """pycose checks the phone's signature on the presentation and the issuer's on the
    credential inside, with the plain public keys (it cannot read a compressed COSE_Key: its
    y must be the coordinate, so the test gives it the holder's JWK)."""
    from pycose.messages import Sign1Message

    stages = vector["stages"]
    outer = Sign1Message.decode(bytes.fromhex(stages["cose"]))
    outer.key = _pycose_key(vector["holder_key"])
    assert outer.verify_signature()
    assert outer.phdr[Header.CWT_CLAIMS] == {Claim.IAT: vector["inputs"]["presented_at"]}
    assert outer.payload == bytes.fromhex(stages["credential"]["cose"])
    inner = Sign1Message.decode(outer.payload)
    inner.key = _pycose_key(vector["key"])
    assert inner.verify_signature()
    assert cbor2.loads(inner.payload)[Claim.CNF] == cbor2.loads(bytes.fromhex(stages["cnf_cbor"]))
    moved = Sign1Message.decode(_time_moved(bytes.fromhex(stages["cose"])))
    moved.key = _pycose_key(vector["holder_key"])
    assert not moved.verify_signature()


@pytest.mark.parametrize("vector", PRESENTATIONS, ids=[v["title"] for v in PRESENTATIONS])
def test_python_cwt_verifies_both_signatures(vector):
    """python-cwt's COSE layer (its CWT layer checks exp against the wall clock, and these
    vectors live at a fixed time): the presentation under the phone's key gives the
    credential, the credential under the issuer's key gives the claims."""
    import cwt
    from cwt import COSEKey

    stages = vector["stages"]
    cose = cwt.COSE.new()
    credential = cose.decode(bytes.fromhex(stages["cose"]),
                             COSEKey.from_jwk(_public(vector["holder_key"])))
    assert credential == bytes.fromhex(stages["credential"]["cose"])
    claims = cose.decode(credential, COSEKey.from_jwk(_public(vector["key"])))
    assert claims == bytes.fromhex(stages["credential"]["claims_cbor"])
    with pytest.raises(cwt.VerifyError):
        cose.decode(_time_moved(bytes.fromhex(stages["cose"])),
                    COSEKey.from_jwk(_public(vector["holder_key"])))
