"""EU certificates made to order for the DCC tests: document signer certificates (X.509, with a
chosen key, validity, extended key usage and country), and ``HC1:`` texts signed ES256 or PS256
around any payload, header or tag, so that each refusal can be reached on purpose."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import cbor2
from conftest import DAY, NOW
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from verifier.base45 import b45encode
from verifier.cose import sig_structure

ES256, PS256 = -7, -37
TEST, VACCINATION, RECOVERY = (f"1.3.6.1.4.1.1847.2021.1.{n}" for n in (1, 2, 3))


def dsc(key: Any = None, *, country: str | None = "DE", eku: tuple[str, ...] | None = None,
        not_before: int = NOW - 30 * DAY, not_after: int = NOW + 365 * DAY) -> tuple[Any, bytes]:
    """``(private key, certificate DER)``: a self-signed document signer certificate."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(([x509.NameAttribute(NameOID.COUNTRY_NAME, country)] if country else [])
                     + [x509.NameAttribute(NameOID.COMMON_NAME, "DSC for tests")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(datetime.fromtimestamp(not_before, UTC))
               .not_valid_after(datetime.fromtimestamp(not_after, UTC)))
    if eku is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in eku]), critical=False)
    signer = ec.generate_private_key(ec.SECP256R1())  # the (untrusted) issuer: not checked
    return key, builder.sign(signer, hashes.SHA256()).public_bytes(Encoding.DER)


def certificate(kind: str = "v", **entry: Any) -> dict[str, Any]:
    """A health certificate of ``kind`` (``v``, ``t``, ``r``) for Erika Mustermann."""
    entries = {
        "v": {"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
              "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01", "co": "DE",
              "is": "Robert Koch-Institut",
              "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"},
        "t": {"tg": "840539006", "tt": "LP217198-3", "sc": "2026-11-17T10:00:00Z",
              "tr": "260415000", "tc": "Testzentrum", "co": "DE", "is": "Robert Koch-Institut",
              "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#T"},
        "r": {"tg": "840539006", "fr": "2026-10-01", "df": "2026-10-12", "du": "2027-03-31",
              "co": "DE", "is": "Robert Koch-Institut",
              "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#R"},
    }
    return {"ver": "1.3.0", "dob": "1964-08-12",
            "nam": {"fn": "Mustermann", "gn": "Erika", "fnt": "MUSTERMANN", "gnt": "ERIKA"},
            kind: [{**entries[kind], **entry}]}


def claims(health: dict[str, Any] | None = None,
           changes: dict[int, Any] | None = None) -> dict[Any, Any]:
    """CWT claims around ``health`` (default: a vaccination), issued a day ago, valid 30 days;
    ``changes`` replace claims by label."""
    base = {1: "DE", 6: NOW - DAY, 4: NOW + 30 * DAY, -260: {1: health or certificate()}}
    return {**base, **(changes or {})}


def sign(key: Any, payload: bytes, protected: dict[int, Any] | bytes,
         unprotected: dict[Any, Any] | None = None, alg: int = ES256) -> tuple[bytes, bytes]:
    """``(serialized protected header, signature)`` over ``payload``."""
    head = protected if isinstance(protected, bytes) else cbor2.dumps(protected)
    message = sig_structure(head, payload)
    if alg == PS256:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return head, key.sign(message, pss, hashes.SHA256())
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return head, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def cose(key: Any, der: bytes, payload: Any = None, *, alg: int = ES256,
         protected: dict[int, Any] | None = None, unprotected: dict[Any, Any] | None = None,
         tags: tuple[int, ...] = (18,)) -> bytes:
    """A COSE_Sign1 over ``payload`` (claims, encoded here unless already bytes), signed by
    ``key``; the kid is the DSC's (the first 8 bytes of the SHA-256 of ``der``)."""
    body = payload if isinstance(payload, bytes) else cbor2.dumps(
        claims() if payload is None else payload)
    kid = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256())[:8]
    head, signature = sign(key, body, {1: alg, 4: kid} if protected is None else protected,
                           alg=alg)
    item: Any = [head, unprotected or {}, body, signature]
    for tag in reversed(tags):
        item = cbor2.CBORTag(tag, item)
    return cbor2.dumps(item)


def text(data: bytes, *, compress: bool = True) -> str:
    """The ``HC1:`` text of COSE bytes (zlib-compressed unless told otherwise)."""
    return "HC1:" + b45encode(zlib.compress(data, 9) if compress else data)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)
