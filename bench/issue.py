"""Issue throughput: claims -> QR text, against the raw deterministic ES256 signature inside it.

Baseline: ``key.sign(message, ECDSA(SHA256(), deterministic_signing=True))`` on a message as
long as a credential's Sig_structure, with the issuer's key, in a tight loop.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from issuer.keys.signing import issue_credential
from issuer.render.qr import make_qr
from verifier import CREDENTIAL_PREFIX
from verifier.base45 import b45decode, b45encode
from verifier.claims import CTI_LENGTH, encode_claims
from verifier.cose import decode_sign1, encode_protected, encode_sign1, sig_structure
from verifier.keys import alg_for, kid_for
from verifier.labels import Colour

from . import report
from .fixtures import COLOUR, SCORE, TTL, BenchIssuer, make_issuer
from .timing import Settings, compare, measure

_DETERMINISTIC_ES256 = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_SEED = 6979


def _raw_signer(issuer: BenchIssuer, length: int) -> Callable[[], object]:
    message = random.Random(_SEED).randbytes(length)
    key = issuer.key
    return lambda: key.sign(message, _DETERMINISTIC_ES256)  # type: ignore[call-arg]


def _issuer_call(issuer: BenchIssuer) -> Callable[[], str]:
    key, iss, iat = issuer.key, issuer.iss, issuer.iat
    return lambda: issue_credential(key, iss=iss, colour=COLOUR, score=SCORE, iat=iat, ttl=TTL)


def _stages(issuer: BenchIssuer, text: str) -> list[tuple[str, str, Callable[[], object]]]:
    key, iss, iat = issuer.key, issuer.iss, issuer.iat
    sign1 = decode_sign1(b45decode(text[len(CREDENTIAL_PREFIX):]))
    protected, payload, signature = sign1.protected, sign1.payload, sign1.signature
    cti = secrets.token_bytes(CTI_LENGTH)
    message = sig_structure(protected, payload)
    der = key.sign(message, _DETERMINISTIC_ES256)  # type: ignore[call-arg]
    cose = encode_sign1(protected, payload, signature)

    def header() -> bytes:
        public = key.public_key()
        return encode_protected(alg_for(public), kid_for(public))

    def der_to_raw() -> bytes:
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return [
        ("random `cti`", "`secrets.token_bytes`", lambda: secrets.token_bytes(CTI_LENGTH)),
        ("claims → CBOR (with checks)", "`encode_claims`",
         lambda: encode_claims(iss=iss, iat=iat, exp=iat + TTL, cti=cti,
                               colour=Colour(COLOUR), score=SCORE)),
        ("protected header (kid = JWK thumbprint, per call)", "`kid_for` + `encode_protected`",
         header),
        ("Sig_structure build", "`sig_structure`", lambda: sig_structure(protected, payload)),
        ("ECDSA P-256 deterministic sign itself", "`key.sign`",
         lambda: key.sign(message, _DETERMINISTIC_ES256)),  # type: ignore[call-arg]
        ("DER → r‖s", "`decode_dss_signature`", der_to_raw),
        ("COSE_Sign1 → CBOR", "`encode_sign1`",
         lambda: encode_sign1(protected, payload, signature)),
        ("Base45 encode + prefix", "`b45encode`", lambda: CREDENTIAL_PREFIX + b45encode(cose)),
    ]


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for issue throughput."""
    es256 = make_issuer()
    text = es256.issue()
    sign1 = decode_sign1(b45decode(text[len(CREDENTIAL_PREFIX):]))
    length = len(sig_structure(sign1.protected, sign1.payload))
    raw = _raw_signer(es256, length)
    issue = _issuer_call(es256)
    to_text = compare(raw, issue, settings)
    with_qr = compare(raw, lambda: make_qr(issue()), settings.slow())
    rows = [
        ["claims → QR text (`issue_credential`)", report.stats_us(to_text.baseline),
         report.stats_us(to_text.candidate), report.per_second(to_text.candidate.median),
         report.ratios(to_text)],
        ["claims → QR symbol (`issue_credential` + `make_qr`)",
         report.stats_us(with_qr.baseline), report.stats_us(with_qr.candidate),
         report.per_second(with_qr.candidate.median), report.ratios(with_qr)],
    ]
    stage_rows = []
    summed = 0.0
    total = measure(issue, settings).median
    for name, code, fn in _stages(es256, text):
        seconds = measure(fn, settings).median
        summed += seconds
        stage_rows.append([name, code, report.us(seconds), f"{seconds / total:.0%}"])
    stage_rows += [
        ["**sum of the stages, each timed alone**", "", report.us(summed), f"{summed / total:.0%}"],
        ["**`issue_credential` end to end**", "", report.us(total), "100%"],
        ["residual: cache interference + call glue", "", report.us(total - summed),
         f"{(total - summed) / total:.0%}"],
    ]
    body = "\n".join([
        "### 2. Issue: claims → QR text",
        "",
        f"`issuer.keys.signing.issue_credential` (ES256) against the raw deterministic ES256 sign "
        f"(`ECDSA(SHA256(), deterministic_signing=True)`) of a {length}-byte message, "
        "interleaved round by round.",
        "",
        report.table(["what", "raw sign µs, median (min)", "ours µs, median (min)", "ours/s",
                      "ratio, median (min/min)"], rows),
        "",
        "#### Where the time goes (ES256, µs per credential, medians)",
        "",
        report.table(["stage", "code", "µs", "share"], stage_rows, align="llrr"),
    ])
    return report.Section(body, [
        ["issue ES256: claims → QR text vs raw deterministic ES256 sign", report.ratios(to_text),
         "no target set"],
    ])
