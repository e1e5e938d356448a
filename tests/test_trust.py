"""The signed trust list: accepted only when the pinned anchor signed it and it is current."""

import json

import pytest
from conftest import NOW, TEST_PASSPHRASE
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import sign_jws, sign_raw
from verifier import Reason, TrustList, TrustListError, load_anchor
from verifier.jws import decode_jws, encode_header, encode_jws, signing_input
from verifier.keys import b64url, key_to_jwk, thumbprint
from verifier.trust import TRUST_LIST_TYPE


@pytest.fixture(scope="module")
def signed(home) -> str:
    return home.trust_list.read_text()


@pytest.fixture(scope="module")
def pin(home) -> bytes:
    return load_anchor(home.anchor_public)


@pytest.fixture(scope="module")
def anchor_key(home):
    """The shared home's trust anchor (private): re-signs lists whose content tests change."""
    from issuer.keys.home import PASSPHRASE_ENV
    from issuer.keys.keystore import _read_private

    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    key = _read_private(home, home.anchor_private)
    mp.undo()
    return key


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


@pytest.mark.parametrize("alg", ["none", "EdDSA", "ES384", None])
def test_header_alg_must_fit_the_key(signed, anchor_key, pin, alg):
    """Re-signed by the anchor over a header naming another algorithm: the signature holds
    (the key's own ES256 checks it), so only the alg check can refuse the list."""
    header = dict(decode_jws(signed).header)
    header["alg"] = alg
    protected = encode_header(header)
    payload = decode_jws(signed).payload
    forged = encode_jws(protected, payload, sign_raw(anchor_key, signing_input(protected,
                                                                               payload)))
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(forged, pin, NOW)
    assert caught.value.reason is Reason.TRUST_LIST_BAD_SIGNATURE
    assert caught.value.detail == "header alg does not fit key"


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
def test_signed_but_invalid_content_is_malformed(signed, anchor_key, pin, mutate, why):
    assert reason_of(_resign(signed, anchor_key, mutate), pin) is Reason.TRUST_LIST_MALFORMED, \
        why


# Each structural rule by its own test: the detail shows which check refused the list.

def _malformed_detail(signed, anchor_key, pin, mutate) -> str:
    with pytest.raises(TrustListError) as caught:
        TrustList.from_jws(_resign(signed, anchor_key, mutate), pin, NOW)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED
    return caught.value.detail


def test_one_key_under_two_issuers_is_malformed(signed, anchor_key, pin):
    def mutate(doc):
        doc["issuers"].append({"iss": "SH", "name": "SH", "keys": doc["issuers"][0]["keys"]})

    assert _malformed_detail(signed, anchor_key, pin, mutate) == "a key appears twice"


def test_one_issuer_twice_without_keys_is_malformed(signed, anchor_key, pin):
    def mutate(doc):
        doc["issuers"] += [{"iss": "SH", "keys": []}, {"iss": "SH", "keys": []}]

    assert _malformed_detail(signed, anchor_key, pin, mutate) == \
        "issuer ids must be distinct, non-empty texts"
    one = TrustList.from_jws(_resign(signed, anchor_key, lambda doc: doc["issuers"].append(
        {"iss": "SH", "keys": []})), pin, NOW)
    assert set(one.issuers) == {"HZ", "SH"} and len(one.keys) == 1


def test_a_fractional_sequence_is_malformed(signed, anchor_key, pin):
    assert _malformed_detail(signed, anchor_key, pin, lambda doc: doc.update(seq=1.5)) == \
        "seq must be epoch seconds"


def test_a_negative_key_start_is_malformed_and_zero_is_not(signed, anchor_key, pin):
    def start(nbf):
        return lambda doc: doc["issuers"][0]["keys"][0].update(nbf=nbf)

    assert _malformed_detail(signed, anchor_key, pin, start(-1)) == "nbf must be epoch seconds"
    (key,) = TrustList.from_jws(_resign(signed, anchor_key, start(0)), pin, NOW).keys.values()
    assert key.not_before == 0


@pytest.mark.parametrize("length", [31, 33])
def test_a_named_anchor_of_the_wrong_length_is_malformed(signed, anchor_key, pin, length):
    named = (pin + bytes(1))[:length]
    assert _malformed_detail(signed, anchor_key, pin,
                             lambda doc: doc.update(anchor=b64url(named))) == \
        "anchor must be a 32-byte thumbprint"
    same = _resign(signed, anchor_key, lambda doc: doc.update(anchor=b64url(pin)))
    assert TrustList.from_jws(same, pin, NOW).anchor == pin


@pytest.mark.parametrize("length", [31, 33])
def test_a_pin_file_of_the_wrong_length_is_malformed(tmp_path, pin, length):
    path = tmp_path / "anchor.txt"
    path.write_text(b64url((pin + bytes(1))[:length]))
    with pytest.raises(TrustListError) as caught:
        load_anchor(path)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED
    assert caught.value.detail == "anchor thumbprint is not 32 bytes"
    path.write_text(b64url(pin))
    assert load_anchor(path) == pin


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


@pytest.mark.parametrize("mangle", [
    lambda pem: pem.replace("A", "B", 3),  # the key's algorithm id turns unknown
    lambda pem: pem.replace("Q", "A", 1),
    lambda pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
])
def test_a_mangled_anchor_pem_is_malformed(home, tmp_path, mangle):
    """A damaged anchor key file is refused with a reason, never an uncaught cryptography
    error (UnsupportedAlgorithm escaped load_anchor before)."""
    path = tmp_path / "anchor.pub.pem"
    path.write_text(mangle(home.anchor_public.read_text()))
    with pytest.raises(TrustListError) as caught:
        load_anchor(path)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


# ---- strict JSON and base64url (docs/FORMAT.md, "What a verifier reads") ----

def _payload_text(signed) -> str:
    return decode_jws(signed).payload.decode()


@pytest.mark.parametrize(("change", "why"), [
    (lambda t: t.replace('"ver": 1', '"ver": 1, "x": NaN'), "NaN, in a field nobody reads"),
    (lambda t: t.replace('"ver": 1', '"ver": 1, "x": -Infinity'), "Infinity"),
    (lambda t: t.replace('"ver": 1', '"ver": 1, "seq": 99'), "a key twice (the last won)"),
    (lambda t: t.replace('"ver": 1', '"ver": 1.0'), "version 1.0 (== 1 in Python)"),
    (lambda t: t.replace('"ver": 1', '"ver": true'), "version true (== 1 in Python)"),
    (lambda t: t.replace('"ver": 1', f'"ver": 1, "x": {2**53}'), "an integer past 2**53"),
    (lambda t: "\ufeff" + t, "a byte-order mark"),
    (lambda t: t.replace('"ver": 1', '"ver": 1, "x": ' + "[" * 16 + "]" * 16),
     "nested deeper than 16"),
    (lambda t: t.replace('"name": "', '"name": 5, "n": "', 1), "an issuer name that is no text"),
])
def test_json_outside_the_language_is_malformed(signed, anchor_key, pin, change, why):
    text = _payload_text(signed)
    assert '"ver": 1' in text and '"name": "' in text
    TrustList.from_jws(sign_jws(anchor_key, text.encode(), TRUST_LIST_TYPE), pin, NOW)
    data = sign_jws(anchor_key, change(text).encode(), TRUST_LIST_TYPE)
    assert reason_of(data, pin) is Reason.TRUST_LIST_MALFORMED, why


def test_a_duplicate_key_in_the_envelope_is_malformed(signed, pin):
    assert signed.count('"signature": "') == 1
    doubled = signed.replace('"signature": "', '"signature": "AAAA", "signature": "')
    assert reason_of(doubled, pin) is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize("junk", ["!!!!", "!!!", "    ", "\n\n\n\n", "*.~~", "+", "/"])
def test_base64url_with_any_other_character_is_malformed(signed, pin, junk):
    """urlsafe_b64decode skipped characters outside its alphabet: a signature with junk in
    it verified (and + / are base64, not base64url)."""
    document = json.loads(signed)
    value = document["signature"]
    document["signature"] = value[:10] + junk + value[10:]
    assert reason_of(json.dumps(document), pin) is Reason.TRUST_LIST_MALFORMED


def test_base64url_of_impossible_length_is_malformed(signed, pin):
    document = json.loads(signed)
    document["signature"] += "AAA"
    assert len(document["signature"]) % 4 == 1
    assert reason_of(json.dumps(document), pin) is Reason.TRUST_LIST_MALFORMED
