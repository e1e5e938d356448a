"""Foreign codes: a valid code of each corpus (tests/interop/), text → verified
``ForeignCode`` through ``verifier.verify``, against the raw signature check it contains.

Baseline: ``cryptography``'s verify of a message as long as the code's decoded envelope, with a
fresh key of the code's algorithm (ES256, or PS256 with RSA 2048 as the EU corpus's case),
in a tight loop, interleaved round by round with the verifier. The ratio is what the format's
Python keeps of the crypto library's speed (our own codes: ``bench verify``, 0.92).
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from verifier import verify
from verifier.base45 import b45decode
from verifier.formats import ForeignTrust
from verifier.formats.dcckeys import DccKeys
from verifier.formats.nzcpdid import NzcpIssuers
from verifier.formats.shckeys import ShcIssuers
from verifier.timefmt import parse_instant

from . import report
from .timing import Settings, compare

INTEROP = Path(__file__).resolve().parent.parent / "tests" / "interop"
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"
_SEED = 20261205


def _raw(alg: str, length: int) -> Callable[[], object]:
    message = random.Random(_SEED).randbytes(length)
    if alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.sign(message, ec.ECDSA(hashes.SHA256()))
        public = key.public_key()
        return lambda: public.verify(der, message, ec.ECDSA(hashes.SHA256()))
    key = rsa.generate_private_key(65537, 2048)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature = key.sign(message, pss, hashes.SHA256())
    public = key.public_key()
    return lambda: public.verify(signature, message, pss, hashes.SHA256())


def _dcc(name: str) -> tuple[str, ForeignTrust, int, int]:
    case = json.loads((INTEROP / "dcc" / "common" / "2DCode" / "raw" / name).read_text())
    keys = DccKeys.from_der(base64.b64decode(case["TESTCTX"]["CERTIFICATE"]))
    text = case["PREFIX"]
    length = len(zlib.decompress(b45decode(text[4:])))
    return text, ForeignTrust(dcc=keys), parse_instant(case["TESTCTX"]["VALIDATIONCLOCK"]), length


def _shc() -> tuple[str, ForeignTrust, int, int]:
    folder = INTEROP / "shc" / "examples"
    keys = ShcIssuers.from_bytes(SHC_ISS, (folder / "issuer" / ".well-known" / "jwks.json")
                                 .read_bytes())
    text = (folder / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    signing_input = len(text[5:]) // 2 - 87  # the JWS less its signature and one dot
    return text, ForeignTrust(shc=keys), parse_instant("2023-06-24T00:00:00Z"), signing_input


def _nzcp() -> tuple[str, ForeignTrust, int, int]:
    folder = INTEROP / "nzcp" / "examples" / "valid"
    keys = NzcpIssuers.from_bytes((folder / "did.json").read_bytes())
    text = (folder / "nzcp.txt").read_text().strip()
    return text, ForeignTrust(nzcp=keys), parse_instant("2021-11-10T00:00:00Z"), \
        len(base64.b32decode(text.split("/")[-1] + "=" * (-len(text.split("/")[-1]) % 8)))


def run(settings: Settings) -> report.Section:
    cases = [("EU DCC (`HC1:`), ES256", "common/CO3", "ES256", _dcc("CO3.json")),
             ("EU DCC (`HC1:`), PS256, RSA 2048", "common/CO1", "PS256", _dcc("CO1.json")),
             ("SMART Health Card (`shc:/`), ES256", "example 00", "ES256", _shc()),
             ("NZ COVID Pass (`NZCP:/`), ES256", "valid", "ES256", _nzcp())]
    rows, summary = [], []
    for name, case, alg, (text, foreign, now, length) in cases:
        verify(text, None, now, foreign=foreign)  # valid, or this raises
        comparison = compare(_raw(alg, length), lambda t=text, f=foreign, n=now: verify(
            t, None, n, foreign=f), settings)
        rows.append([name, case, f"{length:,} bytes", report.stats_us(comparison.baseline),
                     report.stats_us(comparison.candidate),
                     report.per_second(comparison.candidate.median),
                     report.ratios(comparison)])
        summary.append([f"verify: {name}", report.per_second(comparison.candidate.median),
                        f"{report.ratio(comparison.ratio)} of the raw signature check"])
    body = report.table(["format", "corpus case", "message", "baseline µs, median (min)",
                         "`verify()` µs, median (min)", "`verify()`/s",
                         "ratio, median (min/min)"], rows)
    return report.Section("### Foreign codes: QR text → verified `ForeignCode`\n\n" + body,
                          summary)
