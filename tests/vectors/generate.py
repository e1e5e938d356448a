"""Regenerate tests/vectors/*.json: known-answer vectors for the credential format.

Run ``make vectors`` (or ``python tests/vectors/generate.py``). Keys are derived from fixed
labels and signatures are deterministic (RFC 6979), so the output is byte-for-byte stable; a
diff after running this means the format changed.

Valid vectors carry every intermediate stage in hex (claims CBOR, protected header,
Sig_structure, signature, COSE_Sign1, Base45); invalid ones carry the expected reason. The
holder presentations (``presentations.json``) carry the same for both layers: the credential
with its ``cnf`` claim, signed by the issuer, and the presentation around it, signed by the
phone's key (derived from a fixed label too; RFC 6979 keeps its signatures stable).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from issuer.keys.signing import sign_raw  # noqa: E402
from verifier.base45 import b45encode  # noqa: E402
from verifier.claims import IdCheck, encode_claims  # noqa: E402
from verifier.cose import encode_protected, encode_sign1, sig_structure  # noqa: E402
from verifier.keys import b64url, key_to_jwk, kid_for  # noqa: E402
from verifier.labels import (  # noqa: E402
    CREDENTIAL_PREFIX,
    PRESENTATION_PREFIX,
    Alg,
    Claim,
    Confirmation,
    CoseKey,
    Header,
    Health,
)
from verifier.presentation import cnf_for, presentation_protected  # noqa: E402
from verifier.revocation import HASH_BYTES, encode_payload, entry_hash  # noqa: E402

HERE = Path(__file__).resolve().parent
NOW = 1_795_500_000  # 2026-11-23T...Z
ISS = "HZ"
KEY_NBF, KEY_EXP = NOW - 30 * 86400, NOW + 335 * 86400
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def p256_key(label: str) -> ec.EllipticCurvePrivateKey:
    """A fixed test key: the scalar is SHA-256 of ``label`` reduced mod the group order."""
    scalar = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % P256_ORDER
    return ec.derive_private_key(scalar, ec.SECP256R1())


def ed25519_key(label: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def private_jwk(key) -> dict[str, str]:
    """The test key as a private JWK (test material only: never do this with a real key)."""
    jwk = key_to_jwk(key.public_key())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        d = key.private_numbers().private_value.to_bytes(32, "big")
    else:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )
        d = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {**jwk, "d": b64url(d)}


def trusted(key) -> dict[str, Any]:
    """The trust entry of a vector: the public JWK with its signing window and issuer."""
    return {"iss": ISS, "jwk": key_to_jwk(key.public_key()), "nbf": KEY_NBF, "exp": KEY_EXP}


def stages(key, claims_cbor: bytes, alg: int | None = None) -> dict[str, str]:
    public = key.public_key()
    alg = int(alg if alg is not None else (Alg.EDDSA if isinstance(key, ed25519.Ed25519PrivateKey)
                                          else Alg.ES256))
    protected = cbor2.dumps({1: alg, 4: kid_for(public)})
    if alg in (Alg.ES256, Alg.EDDSA):
        assert protected == encode_protected(Alg(alg), kid_for(public))
    return {"claims_cbor": claims_cbor.hex(),
            **signed(key, protected, claims_cbor, CREDENTIAL_PREFIX)}


def signed(key, protected: bytes, payload: bytes, prefix: str) -> dict[str, str]:
    """Every stage of a COSE_Sign1 of ``payload`` under ``protected``, up to its text."""
    to_sign = sig_structure(protected, payload)
    signature = sign_raw(key, to_sign)
    cose = encode_sign1(protected, payload, signature)
    b45 = b45encode(cose)
    return {"protected": protected.hex(), "sig_structure": to_sign.hex(),
            "signature": signature.hex(), "cose": cose.hex(), "base45": b45,
            "text": prefix + b45}


def claims(**inputs) -> bytes:
    id_check = inputs.get("id_check")
    return encode_claims(**{**inputs, "cti": bytes.fromhex(inputs["cti"]),
                            "policy": bytes.fromhex(inputs["policy"]) if inputs.get("policy")
                            else None,
                            "id_check": IdCheck(**id_check) if id_check else None})


def raw_claims(inputs: dict[str, Any], **override) -> bytes:
    """Claims CBOR built by hand, to sign contents :func:`encode_claims` would refuse."""
    health = {Health.COLOUR: {"green": 0, "yellow": 1, "red": 2}[inputs["colour"]],
              Health.SCORE: inputs["score"]}
    body = {Claim.ISS: inputs["iss"], Claim.IAT: inputs["iat"], Claim.EXP: inputs["exp"],
            Claim.CTI: bytes.fromhex(inputs["cti"]), Claim.HEALTH: health}
    in_health = {"colour": Health.COLOUR, "score": Health.SCORE, "id_check": Health.ID_CHECK,
                 "family": Health.FAMILY}
    for label, value in override.items():
        target = health if label in in_health else body
        key = in_health.get(label) or Claim[label.upper()]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return cbor2.dumps({int(k): ({int(a): b for a, b in v.items()} if isinstance(v, dict) else v)
                        for k, v in body.items()})


def main() -> None:
    issuer = p256_key("healthcode test vector issuer")
    other = p256_key("healthcode test vector stranger")
    edkey = ed25519_key("healthcode test vector eddsa issuer")
    base = {"iss": ISS, "iat": NOW - 3600, "exp": NOW + 20 * 3600,
            "cti": "0102030405060708090a0b0c", "colour": "green", "score": 87}
    valid = [
        ("green 87, ES256, no policy", issuer, base),
        ("yellow 55 with a policy digest", issuer,
         {**base, "colour": "yellow", "score": 55, "policy": "8f3c2a1d00e4b7a9"}),
        ("red 0, score at the lower bound", issuer, {**base, "colour": "red", "score": 0}),
        ("green 100, score at the upper bound", issuer, {**base, "score": 100}),
        ("EdDSA (Ed25519) signing key", edkey, base),
        ("a static code with its check-ID fields (a printed card)", issuer,
         {**base, "colour": "yellow", "score": 59, "policy": "8f3c2a1d00e4b7a9",
          "id_check": {"name": "李*", "id_tail": "123X"}}),
    ]
    out_valid = []
    for title, key, inputs in valid:
        st = stages(key, claims(**inputs))
        out_valid.append({
            "title": title, "now": NOW, "key": private_jwk(key), "trust": [trusted(key)],
            "inputs": inputs, "stages": st,
            "expected": {**inputs, "policy": inputs.get("policy"),
                         "id_check": inputs.get("id_check"), "family": False,
                         "kid": kid_for(key.public_key()).decode("ascii"),
                         "alg": key_to_jwk(key.public_key())["alg"]},
        })

    good = claims(**base)
    cnf = {1: {1: 2, -1: 1, -2: bytes(32), -3: True}}
    invalid = [
        ("expired: now past exp plus the clock skew", issuer, good, NOW + 21 * 3600, "expired"),
        ("not yet valid: iat beyond now plus the clock skew", issuer, good, NOW - 7200,
         "not_yet_valid"),
        ("signed by a key the trust list does not hold", other, good, NOW, "unknown_key"),
        ("score 101", issuer, raw_claims(base, score=101), NOW, "invalid_claims"),
        ("colour 3", issuer, raw_claims(base, colour=3), NOW, "invalid_claims"),
        ("cti missing", issuer, raw_claims(base, cti=None), NOW, "invalid_claims"),
        ("issued before the key's signing window", issuer,
         claims(**{**base, "iat": KEY_NBF - 10, "exp": NOW + 3600}), NOW, "key_not_valid"),
        ("iss differs from the key's issuer", issuer, claims(**{**base, "iss": "SH"}), NOW,
         "key_not_valid"),
        ("device-bound credential shown bare", issuer, raw_claims(base, cnf=cnf), NOW,
         "holder_proof_missing"),
        ("check-ID name without the mask", issuer,
         raw_claims(base, id_check={1: "李四", 2: "1234"}), NOW, "invalid_claims"),
        ("check-ID id tail of 5 characters", issuer,
         raw_claims(base, id_check={1: "李*", 2: "01234"}), NOW, "invalid_claims"),
        ("check-ID fields on a code bound to a phone", issuer,
         raw_claims(base, cnf=cnf, id_check={1: "李*", 2: "1234"}), NOW, "invalid_claims"),
        ("family mark on a static code (a family code is bound to a phone)", issuer,
         raw_claims(base, family=True), NOW, "invalid_claims"),
    ]
    out_invalid = []
    for title, key, body, now, reason in invalid:
        out_invalid.append({"title": title, "now": now, "trust": [trusted(issuer)],
                            "text": stages(key, body)["text"], "reason": reason})
    es384 = stages(issuer, good, alg=-35)["text"]
    bad_sig = bytearray(bytes.fromhex(stages(issuer, good)["cose"]))
    bad_sig[-1] ^= 0x01
    untagged = cbor2.dumps(cbor2.loads(bytes.fromhex(stages(issuer, good)["cose"])).value)
    for title, text, reason in [
        ("ES384 named in the protected header", es384, "unsupported_algorithm"),
        ("last signature byte flipped", CREDENTIAL_PREFIX + b45encode(bytes(bad_sig)),
         "bad_signature"),
        ("COSE_Sign1 without tag 18", CREDENTIAL_PREFIX + b45encode(untagged), "malformed"),
        ("EU certificate prefix", "HC1:" + stages(issuer, good)["base45"], "malformed"),
        ("lower-case Base45", CREDENTIAL_PREFIX + stages(issuer, good)["base45"].lower(),
         "malformed"),
        ("empty after the prefix", CREDENTIAL_PREFIX, "malformed"),
    ]:
        out_invalid.append({"title": title, "now": NOW, "trust": [trusted(issuer)],
                            "text": text, "reason": reason})

    out_revocations = revocation_vectors(issuer, other)
    out_presentations = presentation_vectors(issuer, edkey, base)
    for name, vectors in (("valid.json", out_valid), ("invalid.json", out_invalid),
                          ("revocations.json", out_revocations),
                          ("presentations.json", out_presentations)):
        (HERE / name).write_text(json.dumps(vectors, indent=1) + "\n")
        print(f"wrote {len(vectors)} vectors to {HERE / name}")


def signed_list(key, payload: bytes) -> dict[str, str]:
    protected = encode_protected(Alg.ES256, kid_for(key.public_key()))
    signature = sign_raw(key, sig_structure(protected, payload))
    return {"payload": payload.hex(), "protected": protected.hex(), "signature": signature.hex(),
            "cose": encode_sign1(protected, payload, signature).hex()}


def revocation_vectors(issuer, other) -> list[dict[str, Any]]:
    """Signed revocation lists: one valid (every stage), and the reasons of bad ones."""
    revoked = [bytes([n] * 12) for n in (3, 1, 2, 1)]  # unsorted, with a duplicate
    fields = {"iss": ISS, "seq": NOW, "iat": NOW, "exp": NOW + 2 * 86400}
    payload = encode_payload(**fields, ctis=revoked)
    hashes = sorted({entry_hash(cti) for cti in revoked})
    vectors: list[dict[str, Any]] = [{
        "title": "three revoked credentials (input unsorted, one twice)",
        "key": private_jwk(issuer), "trust": [trusted(issuer)],
        "inputs": {**fields, "ctis": [cti.hex() for cti in revoked]},
        "stages": {"hashes": [h.hex() for h in hashes], **signed_list(issuer, payload)},
        "revoked": sorted({cti.hex() for cti in revoked}),
        "not_revoked": [bytes([n] * 12).hex() for n in (0, 4, 255)],
    }]
    unsorted = cbor2.dumps({"typ": "healthcode-revocations", "ver": 1, **fields,
                            "width": HASH_BYTES, "hashes": b"".join(reversed(hashes))})
    for title, key, body, reason in [
        ("hashes not sorted (signed by the issuer)", issuer, unsorted,
         "revocation_list_malformed"),
        ("signed by a key the trust list does not hold", other, payload,
         "revocation_list_bad_signature"),
        ("list of another issuer", issuer, encode_payload(**{**fields, "iss": "SH"}, ctis=revoked),
         "revocation_list_bad_signature"),
        ("dated before the key's signing window", issuer,
         encode_payload(**{**fields, "iat": KEY_NBF - 10}, ctis=revoked),
         "revocation_list_bad_signature"),
    ]:
        vectors.append({"title": title, "trust": [trusted(issuer)],
                        "cose": signed_list(key, body)["cose"], "reason": reason})
    return vectors


def presentation_vectors(issuer, edkey, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Holder presentations: valid ones with every stage of both layers, then refusals."""
    phone = p256_key("healthcode test vector phone")
    cnf = cnf_for(phone.public_key())
    valid = [
        ("green 87, made 5 s before the check", issuer, base, NOW - 5),
        ("yellow 55 with a policy digest, 60 s old: the edge of the window", issuer,
         {**base, "colour": "yellow", "score": 55, "policy": "8f3c2a1d00e4b7a9"}, NOW - 60),
        ("red 12, the phone's clock 30 s ahead: the edge of the future skew", issuer,
         {**base, "colour": "red", "score": 12}, NOW + 30),
        ("EdDSA issuer key; the phone's key is ES256 all the same", edkey, base, NOW),
        ("a family code: a dependant's yellow 59 on the guardian's phone", issuer,
         {**base, "colour": "yellow", "score": 59, "policy": "8f3c2a1d00e4b7a9",
          "family": True}, NOW - 5),
    ]
    vectors: list[dict[str, Any]] = []
    for title, key, inputs, at in valid:
        credential = stages(key, claims(**inputs, cnf=cnf))
        outer = signed(phone, presentation_protected(at), bytes.fromhex(credential["cose"]),
                       PRESENTATION_PREFIX)
        vectors.append({
            "title": title, "now": NOW, "key": private_jwk(key), "holder_key": private_jwk(phone),
            "trust": [trusted(key)], "inputs": {**inputs, "presented_at": at},
            "stages": {"cnf_cbor": cbor2.dumps(cnf).hex(),
                       "credential": credential, **outer},
            "expected": {**inputs, "policy": inputs.get("policy"), "device_bound": True,
                         "id_check": None, "family": inputs.get("family", False),
                         "presented_at": at,
                         "kid": kid_for(key.public_key()).decode("ascii"),
                         "alg": key_to_jwk(key.public_key())["alg"]},
        })

    def present(body: bytes, at: int = NOW, holder=phone, header: dict | None = None) -> str:
        protected = presentation_protected(at) if header is None else cbor2.dumps(header)
        cose = bytes.fromhex(stages(issuer, body)["cose"])
        return signed(holder, protected, cose, PRESENTATION_PREFIX)["text"]

    good = claims(**base, cnf=cnf)
    y = phone.public_key().public_numbers().y.to_bytes(32, "big")  # instead of its sign bit
    uncompressed = {Confirmation.COSE_KEY: {**cnf[Confirmation.COSE_KEY], CoseKey.Y: y}}
    for title, text, now, reason in [
        ("90 s old: past the 60 s window", present(good), NOW + 90, "stale_presentation"),
        ("dated 31 s ahead: past the 30 s future skew", present(good, NOW + 31), NOW,
         "stale_presentation"),
        ("signed by another phone's key", present(good, holder=p256_key(
            "healthcode test vector other phone")), NOW, "bad_holder_signature"),
        ("device-bound credential shown bare, without a presentation",
         stages(issuer, good)["text"], NOW, "holder_proof_missing"),
        ("static credential (no cnf) inside a presentation", present(claims(**base)), NOW,
         "bad_holder_signature"),
        ("holder algorithm EdDSA (-8) in the presentation header", present(
            good, holder=ed25519_key("healthcode test vector eddsa phone"),
            header={Header.ALG: Alg.EDDSA, Header.CWT_CLAIMS: {Claim.IAT: NOW}}), NOW,
         "unsupported_algorithm"),
        ("no time in the presentation header", present(good, header={Header.ALG: Alg.ES256}),
         NOW, "malformed"),
        ("cnf key with the uncompressed y coordinate", present(
            claims(**base, cnf=uncompressed)), NOW, "invalid_claims"),
        ("family mark false instead of true", present(
            raw_claims(base, cnf=cnf, family=False)), NOW, "invalid_claims"),
        ("family mark as the integer 1", present(
            raw_claims(base, cnf=cnf, family=1)), NOW, "invalid_claims"),
    ]:
        vectors.append({"title": title, "now": now, "trust": [trusted(issuer)], "text": text,
                        "reason": reason})
    return vectors


if __name__ == "__main__":
    main()
