"""SMART Health Cards made in the tests: an issuer's key, its key set and revocation list,
and cards signed with it, each stage open to tampering. Built with cryptography, hashlib and
zlib directly, not with the verifier's own helpers, so that the two can disagree."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISS = "https://issuer.example/shc"
HEALTH_CARD = "https://smarthealth.cards#health-card"
#: The tests' clock, and a card's default issue time an hour before it.
NOW = 1_795_500_000
NBF = NOW - 3600


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk(private: ec.EllipticCurvePrivateKey, **extra: Any) -> dict[str, Any]:
    """The public JWK of ``private`` as an issuer publishes it (kid: RFC 7638 thumbprint)."""
    numbers = private.public_key().public_numbers()
    members = {"crv": "P-256", "kty": "EC", "x": b64u(numbers.x.to_bytes(32, "big")),
               "y": b64u(numbers.y.to_bytes(32, "big"))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = b64u(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "use": "sig", "alg": "ES256", **extra}


def jwks(*keys: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


def crl(kid: str, rids: list[Any], ctr: Any = 1, **extra: Any) -> bytes:
    return json.dumps({"kid": kid, "method": "rid", "ctr": ctr, "rids": rids, **extra}).encode()


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"resource:{i}", "resource": r}
                      for i, r in enumerate(resources)]}


PATIENT = {"resourceType": "Patient", "name": [{"family": "Anyperson", "given": ["Jane", "Q."]}],
           "birthDate": "1980-02-29"}


def dose(date: str, code: str = "207", status: str = "completed") -> dict[str, Any]:
    return {"resourceType": "Immunization", "status": status,
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": code}]},
            "patient": {"reference": "resource:0"}, "occurrenceDateTime": date}


def claims(**over: Any) -> dict[str, Any]:
    """A card's payload: issued at NBF by ISS, two doses; ``over`` replaces members
    (``vc`` members too, when given as ``vc_<name>``)."""
    vc = {"type": [HEALTH_CARD],
          "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": bundle(
              PATIENT, dose("2021-01-01"), dose("2021-01-29", "208"))}}
    for name in [n for n in over if n.startswith("vc_")]:
        vc[name[3:]] = over.pop(name)
    return {"iss": ISS, "nbf": NBF, "vc": vc, **over}


def sign(private: ec.EllipticCurvePrivateKey, header: dict[str, Any] | bytes,
         payload: dict[str, Any] | bytes) -> str:
    """A compact JWS: ``header`` (a dict, or its bytes), ``payload`` (a dict, minified and
    deflated, or the bytes to carry as they are), signed ES256 as r||s."""
    head = b64u(header if isinstance(header, bytes) else json.dumps(header).encode())
    body = b64u(payload if isinstance(payload, bytes)
                else deflate(json.dumps(payload, separators=(",", ":")).encode()))
    der = private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{head}.{body}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def header(kid: str, **over: Any) -> dict[str, Any]:
    return {"zip": "DEF", "alg": "ES256", "kid": kid, **over}


def qr(jws: str) -> str:
    """A card's QR text: shc:/ and two digits per JWS character."""
    return "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in jws)


def chunks(jws: str, count: int) -> list[str]:
    """The texts of ``jws`` split over ``count`` QR codes (shc:/i/n/…)."""
    size = -(-len(jws) // count)
    return [f"shc:/{i + 1}/{count}/" + qr(jws[i * size:(i + 1) * size])[5:]
            for i in range(count)]


def case_id(value: Any, length: int = 50) -> str:
    """A test id for ``value`` that is the same in every process: the random parts (keys,
    key ids, signatures: long base64 runs) written as an ellipsis, so that pytest-xdist's
    workers collect the same tests."""
    return re.sub(r"[A-Za-z0-9_-]{20,}", "…", repr(value))[:length]


def draw_svg_qr(playwright, svg: str) -> bytes:
    """A PNG of a QR code given as SVG (the SMART corpus has its cards' codes as SVG only),
    drawn 800 px wide on white by Chromium."""
    from webcam import CHROMIUM

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    try:
        page = browser.new_page(viewport={"width": 900, "height": 900})
        page.set_content(f'<body style="margin:40px;background:#fff">{svg}</body>')
        page.locator("svg").first.evaluate(
            "s => { s.style.width = '800px'; s.style.height = '800px'; }")
        return page.screenshot()
    finally:
        browser.close()
