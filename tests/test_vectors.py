"""Known-answer vectors: every stage of the encoding, and the reason of every rejection."""

import pytest
from vectorlib import load, private_key, trust_from

from issuer.signing import sign_raw
from verifier import VerificationError, decode_unverified, verify
from verifier.base45 import b45decode, b45encode
from verifier.claims import encode_claims
from verifier.cose import decode_sign1, encode_protected, encode_sign1, sig_structure
from verifier.errors import RevocationListError
from verifier.keys import jwk_to_key
from verifier.labels import CREDENTIAL_PREFIX, Colour
from verifier.revocation import RevocationList, encode_payload, entry_hash

VALID = load("valid.json")
INVALID = load("invalid.json")
REVOCATIONS = load("revocations.json")


@pytest.mark.parametrize("vector", VALID, ids=[v["title"] for v in VALID])
def test_valid_vector_every_stage(vector):
    stages = {k: bytes.fromhex(v) if k not in ("base45", "text") else v
              for k, v in vector["stages"].items()}
    inputs = vector["inputs"]
    key = private_key(vector["key"])
    public, alg, kid = jwk_to_key({k: v for k, v in vector["key"].items() if k != "d"})

    claims = encode_claims(
        iss=inputs["iss"], iat=inputs["iat"], exp=inputs["exp"], cti=bytes.fromhex(inputs["cti"]),
        colour=Colour(inputs["colour"]), score=inputs["score"],
        policy=bytes.fromhex(inputs["policy"]) if inputs.get("policy") else None)
    assert claims == stages["claims_cbor"]
    assert encode_protected(alg, kid) == stages["protected"]
    assert sig_structure(stages["protected"], claims) == stages["sig_structure"]
    assert sign_raw(key, stages["sig_structure"]) == stages["signature"]  # RFC 6979
    cose = encode_sign1(stages["protected"], claims, stages["signature"])
    assert cose == stages["cose"]
    assert b45encode(cose) == stages["base45"]
    assert CREDENTIAL_PREFIX + stages["base45"] == stages["text"]

    # and back: text -> COSE -> members -> verified claims
    assert b45decode(stages["base45"]) == cose
    assert decode_sign1(cose) == (stages["protected"], {}, claims, stages["signature"])
    credential = verify(stages["text"], trust_from(vector["trust"]), now=vector["now"])
    expected = vector["expected"]
    got = credential.as_dict()
    for field in ("iss", "iat", "exp", "cti", "colour", "score", "policy", "kid", "alg"):
        assert got[field] == expected[field], field
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
    for name in ("valid.json", "invalid.json", "revocations.json"):
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
