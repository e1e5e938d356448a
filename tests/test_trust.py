"""The signed trust list: accepted only when the pinned anchor signed it and it is current."""

import json

import pytest
from conftest import NOW
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import sign_jws
from verifier import Reason, TrustList, TrustListError, load_anchor
from verifier.jws import decode_jws, encode_jws
from verifier.keys import b64url, key_to_jwk, thumbprint
from verifier.trust import TRUST_LIST_TYPE


@pytest.fixture(scope="module")
def signed(home) -> str:
    return home.trust_list.read_text()


@pytest.fixture(scope="module")
def pin(home) -> bytes:
    return load_anchor(home.anchor_public)


def reason_of(data, pin, now=NOW):
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(data, pin, now)
    return caught.value.reason


def test_loads_keys_with_windows(home, trust, signing):
    key, config = signing
    assert trust.sequence == 1
    assert trust.issuers == {config.iss: config.name}
    (entry,) = trust.keys.values()
    assert entry.iss == config.iss
    assert entry.jwk["kid"] == config.current
    assert {"kty", "crv", "x", "y", "kid", "alg"} <= set(entry.jwk)
    assert entry.not_before < NOW < entry.not_after
    assert entry.public_key.public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("form", ["pem", "jwk", "fingerprint", "sha256-fingerprint", "bytes"])
def test_anchor_pin_forms(home, tmp_path, pin, form):
    pem = home.anchor_public.read_bytes()
    public = serialization.load_pem_public_key(pem)
    path = tmp_path / "anchor"
    content = {
        "pem": pem.decode(),
        "jwk": json.dumps(key_to_jwk(public)),
        "fingerprint": b64url(thumbprint(public)),
        "sha256-fingerprint": "sha256:" + b64url(thumbprint(public)) + "\n",
    }.get(form)
    if form == "bytes":
        anchor = pin
    else:
        path.write_text(content)
        anchor = path
    assert TrustList.load(home.trust_list, anchor, now=NOW).anchor == pin


def _resign(signed: str, pin_key, mutate) -> str:
    jws = decode_jws(signed)
    doc = json.loads(jws.payload)
    mutate(doc)
    return sign_jws(pin_key, json.dumps(doc).encode(), TRUST_LIST_TYPE)


def test_tampered_payload_is_refused(signed, pin):
    document = json.loads(signed)
    jws = decode_jws(signed)
    doc = json.loads(jws.payload)
    doc["issuers"][0]["keys"][0]["exp"] += 1
    document["payload"] = b64url(json.dumps(doc).encode())
    assert reason_of(json.dumps(document), pin) is Reason.TRUST_LIST_BAD_SIGNATURE


@pytest.mark.parametrize("member", ["signature", "protected"])
def test_unsigned_is_refused(signed, pin, member):
    document = json.loads(signed)
    document[member] = ""
    assert reason_of(json.dumps(document), pin) in (Reason.TRUST_LIST_BAD_SIGNATURE,
                                                    Reason.TRUST_LIST_MALFORMED)


def test_missing_signature_member_is_malformed(signed, pin):
    document = json.loads(signed)
    del document["signature"]
    assert reason_of(json.dumps(document), pin) is Reason.TRUST_LIST_MALFORMED


def test_list_signed_by_another_key_is_refused(signed, pin):
    impostor = ec.generate_private_key(ec.SECP256R1())
    forged = _resign(signed, impostor, lambda doc: None)
    assert reason_of(forged, pin) is Reason.TRUST_LIST_BAD_SIGNATURE


def test_header_alg_must_fit_the_key(signed, pin):
    document = json.loads(signed)
    header = dict(decode_jws(signed).header)
    header["alg"] = "none"
    document["protected"] = b64url(json.dumps(header).encode())
    assert reason_of(json.dumps(document), pin) is Reason.TRUST_LIST_BAD_SIGNATURE


def test_expired_list_is_refused(trust, signed, pin):
    assert TrustList.from_jws(signed, pin, trust.expires_at).sequence == 1
    assert reason_of(signed, pin, trust.expires_at + 1) is Reason.TRUST_LIST_EXPIRED


@pytest.mark.parametrize("data", [
    "", "{}", "[]", "null", "not json", '{"payload": 1, "protected": 2, "signature": 3}',
    '{"payload": "!!", "protected": "!!", "signature": "!!"}', "[" * 100_000,
    "x" * (5 * 1024 * 1024),
])
def test_garbage_is_malformed(data, pin):
    assert reason_of(data, pin) is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize(("mutate", "why"), [
    (lambda d: d.update(typ="something-else"), "wrong type"),
    (lambda d: d.update(ver=2), "unknown version"),
    (lambda d: d.update(seq="1"), "sequence as text"),
    (lambda d: d.pop("exp"), "no expiry"),
    (lambda d: d["issuers"][0]["keys"][0].update(kid="AAAAAAAAAAA"), "kid not the thumbprint"),
    (lambda d: d["issuers"][0]["keys"][0].update(alg="EdDSA"), "alg not the key's"),
    (lambda d: d["issuers"][0]["keys"][0].update(d="AAAA"), "private member"),
    (lambda d: d["issuers"][0]["keys"][0].update(crv="P-384"), "other curve"),
    (lambda d: d["issuers"][0]["keys"][0].pop("nbf"), "no signing window"),
    (lambda d: d["issuers"].append(dict(d["issuers"][0])), "issuer twice"),
    (lambda d: d.update(issuers="HZ"), "issuers not a list"),
    (lambda d: d["issuers"][0].update(names=["王"]), "names not a mapping"),
    (lambda d: d["issuers"][0].update(names={"zh-CN": ""}), "an empty name"),
    (lambda d: d["issuers"][0].update(names={"zh-CN": "x" * 201}), "a name too long"),
    (lambda d: d["issuers"][0].update(names={"zh-CN": 7}), "a name not a text"),
])
def test_signed_but_invalid_content_is_malformed(home, signed, pin, mutate, why):
    from issuer.keys.home import PASSPHRASE_ENV
    from issuer.keys.keystore import _read_private

    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    anchor = _read_private(home, home.anchor_private)
    mp.undo()
    assert reason_of(_resign(signed, anchor, mutate), pin) is Reason.TRUST_LIST_MALFORMED, why


def test_the_issuer_is_named_in_the_reader_s_language(trust):
    """The demo issuer's list names it in Chinese and English; other readers get its name."""
    assert trust.issuer_name("HZ", "zh-CN") == "杭州健康码（演示签发机构）"
    assert trust.issuer_name("HZ", "en") == trust.issuer_name("HZ", "en-GB") == \
        "Hangzhou health code (demo issuer)"
    assert trust.issuer_name("HZ", "fr") == trust.issuer_name("HZ") == trust.issuers["HZ"]
    assert trust.issuer_name("XX", "zh-CN") == "XX"


def test_verifies_with_an_independent_jose_library(signed, home):
    """joserfc checks our JWS with the anchor key from its PEM file."""
    from joserfc import jws
    from joserfc.jwk import ECKey

    anchor = ECKey.import_key(home.anchor_public.read_text())
    result = jws.deserialize_json(json.loads(signed), anchor, algorithms=["ES256"])
    assert json.loads(result.payload)["typ"] == TRUST_LIST_TYPE


def test_roundtrip_of_the_envelope():
    key = ec.generate_private_key(ec.SECP256R1())
    text = sign_jws(key, b'{"a": 1}', "x")
    parsed = decode_jws(text)
    assert parsed.payload == b'{"a": 1}'
    assert parsed.header["jwk"] == {k: v for k, v in key_to_jwk(key.public_key()).items()
                                    if k != "use"}
    assert encode_jws(parsed.signing_input.split(b".")[0].decode(), parsed.payload,
                      parsed.signature) == text
