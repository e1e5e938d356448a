"""QR size of a typical static credential and of a phone's live presentation of one, next to
the EU Digital COVID Certificate's median; and what checking a live presentation costs against
checking a static credential, timed in the same run.

Size is not a timing, but it decides scanning: at one printed or on-screen width, fewer modules
means larger modules, which survive blur and distance (docs/DESIGN notes).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.signing import issue_credential, sign_raw
from issuer.render.qr import make_qr
from verifier import (
    PRESENTATION_PREFIX,
    Alg,
    cnf_for,
    encode_presentation,
    presentation_message,
    verify,
)
from verifier.base45 import b45decode
from verifier.keys import verify_signature
from verifier.labels import Confirmation, CoseKey
from verifier.presentation import decode_presentation, holder_key
from verifier.verify import decode_text

from . import report
from .fixtures import COLOUR, SCORE, TTL, BenchIssuer, make_issuer
from .timing import Settings, compare, measure

#: The EU Digital COVID Certificate's median, as the design notes give it (not measured here).
EU_DCC_VERSION, EU_DCC_ECC, EU_DCC_MODULES, EU_DCC_CHARS = 18, "Q", 89, 555
POLICY = bytes(8)
#: The largest QR version a live presentation may take at ECC M (the issue's target).
PRESENTATION_MAX_VERSION = 12


def _present(issuer: BenchIssuer, phone: ec.EllipticCurvePrivateKey, policy: bytes | None,
             cnf: dict | None = None) -> str:
    """A presentation, made at the bench clock, of a typical credential bound to ``phone``
    (``cnf``: another confirmation claim than the format's, to measure an alternative)."""
    code = issue_credential(issuer.key, iss=issuer.iss, colour=COLOUR, score=SCORE,
                            iat=issuer.iat, ttl=TTL, policy=policy,
                            cnf=cnf or cnf_for(phone.public_key()))
    credential = b45decode(code.partition(":")[2])
    at = issuer.now
    return encode_presentation(credential, at,
                               sign_raw(phone, presentation_message(credential, at)))


def _uncompressed(phone: ec.EllipticCurvePrivateKey) -> dict:
    """The ``cnf`` claim with the full ``y`` coordinate instead of its sign bit."""
    cnf = cnf_for(phone.public_key())
    y = phone.public_key().public_numbers().y.to_bytes(32, "big")
    return {Confirmation.COSE_KEY: {**cnf[Confirmation.COSE_KEY], CoseKey.Y: y}}


def _size_row(label: str, text: str) -> list[str]:
    qr = make_qr(text)
    modules = qr.symbol_size(border=0)[0]
    cose = len(b45decode(text.partition(":")[2]))  # after the prefix, HCC1: or HCP1:
    return [label, str(cose), str(len(text)), f"{qr.version}-{qr.error}",
            f"{modules}×{modules}", f"{EU_DCC_MODULES / modules:.2f}×"]


def _live_stages(live: str, cnf: dict, total: float, settings: Settings) -> list[list[str]]:
    """Rows of where a live presentation's verify time goes: the presentation's own stages
    timed alone, and the rest (the credential inside, and glue) by difference."""
    parsed = decode_presentation(decode_text(live, PRESENTATION_PREFIX))
    phone = holder_key(cnf)
    stages = [
        ("prefix, Base45, COSE_Sign1, header and time", "`decode_presentation`",
         lambda: decode_presentation(decode_text(live, PRESENTATION_PREFIX))),
        ("phone key from `cnf` (point decompression)", "`holder_key`", lambda: holder_key(cnf)),
        ("phone's ECDSA P-256 signature", "`verify_signature`",
         lambda: verify_signature(phone, Alg.ES256, parsed.message, parsed.signature)),
    ]
    timed = [(name, code, measure(fn, settings).median) for name, code, fn in stages]
    timed.append(("the credential inside (general path, issuer's signature), call glue",
                  "rest of `verify`", total - sum(seconds for _, _, seconds in timed)))
    return [[name, code, report.us(seconds), f"{seconds / total:.0%}"]
            for name, code, seconds in timed]


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for QR size and the cost of a live presentation."""
    issuer = make_issuer()
    phone = ec.generate_private_key(ec.SECP256R1())
    static, live = issuer.issue(), _present(issuer, phone, None)
    assert verify(live, issuer.trust, issuer.now).presented_at == issuer.now
    rows = [
        _size_row("static credential, no policy digest", static),
        _size_row("static credential + 8-byte policy digest", issuer.issue(policy=POLICY)),
        _size_row("live presentation (HCP1), no policy digest", live),
        _size_row("live presentation + 8-byte policy digest", _present(issuer, phone, POLICY)),
        _size_row("*not the format*: presentation + policy digest, `cnf` with the full y",
                  _present(issuer, phone, POLICY, _uncompressed(phone))),
    ]
    rows.append(["EU DCC median (design-doc figure, not measured)", "", f"~{EU_DCC_CHARS}",
                 f"{EU_DCC_VERSION}-{EU_DCC_ECC}", f"{EU_DCC_MODULES}×{EU_DCC_MODULES}", "1.00×"])
    worst = max(int(row[3].split("-")[0]) for row in rows[2:4])
    met = "**met**" if worst <= PRESENTATION_MAX_VERSION else "**not met**"
    trust, now = issuer.trust, issuer.now
    cost = compare(lambda: verify(static, trust, now), lambda: verify(live, trust, now),
                   settings)
    body = "\n".join([
        "### 5. QR size",
        "",
        "ES256, issuer id `HZ`, green, score 87, 12-byte `cti`; a presentation carries the "
        "phone's P-256 key in `cnf` (x and the sign of y) and an ES256 signature by it; "
        "rendered by `issuer.render.qr.make_qr` (segno, alphanumeric mode, ECC M, no boost). The "
        "last column is the module size at the same printed width, relative to the EU "
        "certificate.",
        "",
        report.table(["credential", "COSE bytes", "QR characters", "version-ECC",
                      "modules (no quiet zone)", "module size vs EU DCC"], rows),
        "",
        f"A live presentation takes version {worst} at ECC M at most (target ≤ "
        f"{PRESENTATION_MAX_VERSION}: {met}); point compression in `cnf` is what keeps it "
        "there.",
        "",
        "#### Verifying a live presentation",
        "",
        "`verify(presentation)` against `verify(static credential)`, same issuer key, "
        "interleaved round by round: the presentation costs two ECDSA P-256 verifies (the "
        "issuer's, then the phone's, after decompressing its key) and takes the general CBOR "
        "path (the fast path knows only the static layout).",
        "",
        report.table(["what", "static µs, median (min)", "live µs, median (min)",
                      "live/s", "ratio live/static, median (min/min)"],
                     [["`verify(text, trust, now)`", report.stats_us(cost.baseline),
                       report.stats_us(cost.candidate), report.per_second(cost.candidate.median),
                       report.ratios(cost)]]),
        "",
        report.table(["stage", "code", "µs", "share"],
                     _live_stages(live, cnf_for(phone.public_key()), cost.candidate.median,
                                  settings), align="llrr"),
    ])
    plain, presentation = rows[0], rows[2]
    return report.Section(body, [
        ["QR size, static credential (no policy)", f"version {plain[3]}, {plain[4]}",
         f"{plain[2]} characters; EU DCC median 18-Q, 89×89, ~555"],
        ["QR size, live presentation (no policy)",
         f"version {presentation[3]}, {presentation[4]}",
         f"{presentation[2]} characters; target ≤ {PRESENTATION_MAX_VERSION}-M: {met}"],
        ["verify a live presentation vs a static credential", report.ratios(cost),
         "two signatures against one"],
    ])
