"""verifier.formats.shckeys: an issuer's key set and revocation lists, each checked on
load; the set of issuers held, replaced and merged without losing a newer revocation list."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from shccards import ISS, NOW, b64u, case_id, claims, crl, header, jwk, jwks, qr, sign

from verifier.errors import Reason, RevocationListError, TrustListError, VerificationError
from verifier.formats.shc import verify
from verifier.formats.shckeys import MAX_CRL_BYTES, MAX_JWKS_BYTES, MAX_KEYS, ShcIssuers

_KEY = ec.generate_private_key(ec.SECP256R1())
_NEW = ec.generate_private_key(ec.SECP256R1())
KID, NEW_KID = jwk(_KEY)["kid"], jwk(_NEW)["kid"]
OTHER = "https://other.example"


def card(key=_KEY, **over) -> str:
    return qr(sign(key, header(jwk(key)["kid"]), claims(**over)))


def refused(error, *args, where=ShcIssuers.from_bytes):
    with pytest.raises(error) as caught:
        where(*args)
    assert caught.value.context["format"] == "shc"
    return caught.value.reason


@pytest.mark.parametrize("iss", [
    "http://issuer.example", "https://issuer.example/", "https://", "https:///path",
    " https://issuer.example", "https://issuer.example/a b", "https://issuer.example?x=1",
    "https://issuer.example#k", "HTTPS://issuer.example", "https://" + "a" * 1100, None, 7,
])
def test_issuer_urls_the_specification_forbids(iss):
    assert refused(TrustListError, iss, jwks(jwk(_KEY))) is Reason.TRUST_LIST_MALFORMED


def _point_off_the_curve() -> dict:
    key = jwk(_KEY)
    return {**key, "y": b64u(bytes(32))}


@pytest.mark.parametrize("data", [
    b"", b"[]", b'{"keys": {}}', b'{"keys": []}', b'{"keys": [1]}', b"\xff",
    b'{"keys": [], "keys": []}', "{}", None,
    jwks(*[jwk(_KEY)] * (MAX_KEYS + 1)),
    b" " * (MAX_JWKS_BYTES + 1),
    jwks({**jwk(_KEY), "d": b64u(bytes(32))}),
    jwks({**jwk(_KEY), "kty": "RSA"}),
    jwks({**jwk(_KEY), "crv": "P-384"}),
    jwks({**jwk(_KEY), "alg": "ES384"}),
    jwks({**jwk(_KEY), "use": "enc"}),
    jwks({k: v for k, v in jwk(_KEY).items() if k != "use"}),
    jwks({**jwk(_KEY), "kid": KID[:8]}),
    jwks({**jwk(_KEY), "kid": NEW_KID}),
    jwks({k: v for k, v in jwk(_KEY).items() if k != "kid"}),
    jwks({**jwk(_KEY), "x": jwk(_KEY)["x"][:-2]}),
    jwks({**jwk(_KEY), "x": jwk(_KEY)["x"] + "="}),
    jwks({**jwk(_KEY), "x": 5}),
    jwks(_point_off_the_curve()),
    jwks(jwk(_KEY, crlVersion=0)), jwks(jwk(_KEY, crlVersion="1")),
    jwks(jwk(_KEY, crlVersion=True)), jwks(jwk(_KEY, crlVersion=1.0)),
    jwks(jwk(_KEY, crlVersion=1), jwk(_KEY, crlVersion=2)),
    jwks(jwk(_KEY, x5c="MIIB")), jwks(jwk(_KEY, x5c=[])), jwks(jwk(_KEY, x5c=["MIIB"] * 6)),
    jwks(jwk(_KEY, x5c=["not base64!"])), jwks(jwk(_KEY, x5c=["AAAA"])), jwks(jwk(_KEY, x5c=[7])),
], ids=case_id)
def test_key_sets_refused_whole(data):
    assert refused(TrustListError, ISS, data) is Reason.TRUST_LIST_MALFORMED


def test_a_key_listed_twice_is_one_key():
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=1), jwk(_KEY, crlVersion=1),
                                           jwk(_NEW)))
    assert verify(card(), keys, NOW).kid == KID
    assert verify(card(_NEW), keys, NOW).kid == NEW_KID


@pytest.mark.parametrize(("lists", "expected"), [
    ([b"[]"], Reason.REVOCATION_LIST_MALFORMED),
    ([b"{"], Reason.REVOCATION_LIST_MALFORMED),
    ([b" " * (MAX_CRL_BYTES + 1)], Reason.REVOCATION_LIST_MALFORMED),
    (["not bytes"], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(NEW_KID, [])], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, [], method="hash")], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, [], ctr=0)], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, [], ctr="2")], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, [], ctr=3)], Reason.REVOCATION_LIST_MALFORMED),  # newer than the key set
    ([crl(KID, [], ctr=1)], Reason.REVOCATION_LIST_ROLLBACK),  # older than the key set
    ([crl(KID, None, ctr=2)], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, "abc", ctr=2)], Reason.REVOCATION_LIST_MALFORMED),
    *(([crl(KID, [entry], ctr=2)], Reason.REVOCATION_LIST_MALFORMED)
      for entry in ["", "a" * 25, "a+b", "a=", "a.", "a.1.2", "a.-1", "a.1e9", "a.١", ".1", 7,
                    None, ["a"]]),
    ([crl(KID, ["a", "a.1"], ctr=2)], Reason.REVOCATION_LIST_MALFORMED),
    ([crl(KID, ["a"], ctr=2), crl(KID, ["b"], ctr=2)], Reason.REVOCATION_LIST_MALFORMED),
], ids=lambda v: case_id(v, 60))
def test_revocation_lists_refused(lists, expected):
    assert refused(RevocationListError, ISS, jwks(jwk(_KEY, crlVersion=2)), lists) is expected


def test_a_list_for_a_key_announcing_none_is_used():
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY)), crl(KID, ["r"], ctr=5))
    with pytest.raises(VerificationError) as caught:
        verify(card(vc_rid="r"), keys, NOW)
    assert caught.value.reason is Reason.REVOKED


def test_a_refused_add_changes_nothing():
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=1)), crl(KID, ["r"]))
    with pytest.raises(RevocationListError):
        keys.add(ISS, jwks(jwk(_NEW, crlVersion=1)), crl(NEW_KID, ["r", "r"]))
    with pytest.raises(TrustListError):
        keys.add(OTHER, b"{}")
    assert keys.issuers == (ISS,) and OTHER not in keys and len(keys) == 1
    assert verify(card(), keys, NOW).kid == KID
    with pytest.raises(VerificationError):
        verify(card(vc_rid="r"), keys, NOW)


def test_add_replaces_an_issuer():
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY)))
    keys.add(ISS, jwks(jwk(_NEW)))
    assert verify(card(_NEW), keys, NOW).kid == NEW_KID
    with pytest.raises(VerificationError) as caught:
        verify(card(), keys, NOW)  # the issuer dropped this key
    assert caught.value.reason is Reason.UNKNOWN_KEY


def test_merged_holds_both_and_refuses_an_older_list():
    held = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=2)), crl(KID, ["r"], ctr=2))
    other = ShcIssuers.from_bytes(OTHER, jwks(jwk(_NEW)))
    both = held.merged(other)
    assert both.issuers == (ISS, OTHER) and held.issuers == (ISS,)
    assert verify(card(_NEW, iss=OTHER), both, NOW).issuer == OTHER
    older = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=1)), crl(KID, [], ctr=1))
    assert refused(RevocationListError, older, where=held.merged) is \
        Reason.REVOCATION_LIST_ROLLBACK
    with pytest.raises(RevocationListError):
        held.add(ISS, jwks(jwk(_KEY, crlVersion=1)), crl(KID, [], ctr=1))
    newer = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY, crlVersion=3)), crl(KID, [], ctr=3))
    assert verify(card(vc_rid="r"), held.merged(newer), NOW).issuer == ISS  # un-revoked


def test_load_reads_the_lists_where_the_issuer_publishes_them(tmp_path):
    site = tmp_path / ".well-known"
    (site / "crl").mkdir(parents=True)
    (site / "jwks.json").write_bytes(jwks(jwk(_KEY, crlVersion=1), jwk(_NEW, crlVersion=1)))
    (site / "crl" / f"{KID}.json").write_bytes(crl(KID, ["r"]))
    keys = ShcIssuers.load(ISS, site / "jwks.json")
    assert [dict(verify(card(k), keys, NOW).shows)["revocation_list"] for k in (_KEY, _NEW)] \
        == ["checked", "not held"]
    with pytest.raises(VerificationError):
        verify(card(vc_rid="r"), keys, NOW)
    bare = ShcIssuers.load(ISS, site / "jwks.json", crl_paths=[])
    assert verify(card(vc_rid="r"), bare, NOW).issuer == ISS
    (site / "big.json").write_bytes(b" " * (MAX_JWKS_BYTES + 10))
    with pytest.raises(TrustListError):
        ShcIssuers.load(ISS, site / "big.json")
    with pytest.raises(OSError):
        ShcIssuers.load(ISS, site / "missing.json")


def test_an_unknown_key_names_the_step_and_kid():
    keys = ShcIssuers.from_bytes(ISS, jwks(jwk(_KEY)))
    with pytest.raises(VerificationError) as caught:
        keys.key(ISS, NEW_KID)
    assert (caught.value.reason, caught.value.context) == (
        Reason.UNKNOWN_KEY, {"format": "shc", "step": "key", "kid": NEW_KID})


def test_the_key_set_file_members_it_does_not_know_are_ignored():
    key = {**jwk(_KEY), "key_ops": ["verify"], "ext": True}
    document = json.dumps({"keys": [key], "issuer": "whoever"}).encode()
    assert verify(card(), ShcIssuers.from_bytes(ISS, document), NOW).kid == KID
