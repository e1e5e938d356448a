"""SMART Health Cards against their public corpora (tests/interop/shc/SOURCES.md): the
specification's four examples and the dev-tools cases that are a QR text, a QR image, a JWS or
a health card file, each run with its clock pinned and its outcome compared with what the
corpus expects (``card.test.ts``'s error codes, mapped to our reasons below).

A case is *matched* when the verdicts agree: the corpus reports no error and the card is
accepted, or it reports errors and the card is refused with a reason (and at the step) one of
those errors maps to. It is *not checked* when the corpus's only errors are ones a checkpoint
deliberately does not refuse for (NOT_CHECKED, each with why) and the card is accepted. Every
other outcome is a mismatch, explained in MISMATCHES; docs/INTEROP.md reports the counts.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from verifier.errors import HealthCodeError, Reason, VerificationError
from verifier.formats import ForeignTrust, shc, verify_foreign
from verifier.formats.shc import ShcIssuers
from verifier.image import decode_image

CORPUS = Path(__file__).parent / "interop" / "shc"
EXAMPLES = CORPUS / "examples"
DEV_TOOLS = CORPUS / "dev-tools"
TESTDATA = DEV_TOOLS / "testdata"
SPEC_ISS = "https://spec.smarthealth.cards/examples/issuer"
#: card.test.ts's validationTime, 2022-05-31 (for the dev-tools cards).
DEV_TOOLS_CLOCK = 1653955200
#: 2023-06-24: the examples in this copy were issued on 2023-06-22 (nbf 1687450764).
EXAMPLES_CLOCK = 1687564800
VALID = ("valid", "")

#: dev-tools ErrorCode -> the (reason, step) pairs of ours that refuse for the same fault.
REFUSES: dict[str, set[tuple[str, str]]] = {
    "INVALID_NUMERIC_QR_HEADER": {("malformed", "detect"), ("malformed", "decode"),
                                  ("malformed", "chunks")},
    "INVALID_NUMERIC_QR": {("malformed", "decode"), ("malformed", "chunks")},
    "MISSING_QR_CHUNK": {("malformed", "chunks")},
    "QR_DECODE_ERROR": {("no_code", "image")},
    "JSON_PARSE_ERROR": {("malformed", "jws"), ("malformed", "header"), ("malformed", "payload")},
    "INFLATION_ERROR": {("malformed", "payload")},
    "JWS_HEADER_ERROR": {("malformed", "header"), ("unsupported_algorithm", "header")},
    "JWS_VERIFICATION_ERROR": {("unknown_key", "key"), ("bad_signature", "signature")},
    "SIGNATURE_FORMAT_ERROR": {("bad_signature", "signature")},
    # A byte-order mark inside the signed payload: not JSON.
    "TRAILING_CHARACTERS": {("malformed", "payload")},
    # Keys are fetched from the issuer URL by dev-tools; here they are the key sets added.
    "ISSUER_KEY_DOWNLOAD_ERROR": {("trust_list_malformed", "jwks"), ("unknown_key", "key")},
    "ISSUER_NOT_TRUSTED": {("unknown_key", "key")},
    "ISSUER_KID_MISMATCH": {("unknown_key", "key")},
    # No issuer is held under a URL that is not https or ends in "/": its cards' keys are
    # unknown.
    "INVALID_ISSUER_URL": {("unknown_key", "key")},
    "REVOCATION_ERROR": {("revocation_list_malformed", "crl"),
                         ("revocation_list_rollback", "crl")},
    "SCHEMA_ERROR": {("invalid_claims", "claims")},
    "NOT_YET_VALID": {("not_yet_valid", "not_before")},
    "EXPIRATION_ERROR": {("expired", "expiry"), ("invalid_claims", "claims")},
    **{code: {("trust_list_malformed", "jwks")} for code in (
        "INVALID_KEY_WRONG_KTY", "INVALID_KEY_WRONG_ALG", "INVALID_KEY_WRONG_USE",
        "INVALID_KEY_WRONG_KID", "INVALID_KEY_WRONG_CRV", "INVALID_KEY_SCHEMA",
        "INVALID_KEY_PRIVATE", "INVALID_KEY_X5C")},
}

#: dev-tools ErrorCode -> why a checkpoint accepts a card that has only this fault.
NOT_CHECKED: dict[str, str] = {
    "QR_CHUNKING_DEPRECATED": "cards in several QR codes are deprecated, still read: issue 19 "
                              "asks for them (join_chunks)",
    "TRAILING_CHARACTERS": "whitespace around a scanned text or a file is not part of the "
                           "code: the checkpoint strips it (verify_foreign)",
    "FHIR_SCHEMA_ERROR": "FHIR schema and profile validation: a checkpoint reads who and what "
                         "and checks the issuer's signature, nothing more",
    "INVALID_QR": "how the QR symbol was built (segments, needless chunks): a checkpoint "
                  "reads the text the symbol holds",
    "INVALID_QR_VERSION": "the QR symbol's version (size): a checkpoint reads what it can "
                          "scan",
}

#: Warnings in the cases run; none of them is a reason to refuse a card here either.
HARMLESS_WARNINGS = {"JWS_TOO_LONG", "INVALID_QR", "UNBALANCED_QR_CHUNKS",
                     "INVALID_NUMERIC_QR_HEADER", "INVALID_FILE_EXTENSION",
                     "INVALID_QR_VERSION", "FHIR_SCHEMA_ERROR"}


@dataclass(frozen=True)
class Case:
    #: The test's title in its source file.
    title: str
    #: ``qrnumeric``, ``qr`` (images), ``jws``, ``healthcard``, ``fhirhealthcard``, ``keys``.
    kind: str
    files: tuple[str, ...]
    #: The error codes (levels error and fatal) and the warnings the source expects.
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    trust: str = "spec"
    clock: int = DEV_TOOLS_CLOCK
    source: str = "card.test.ts"


def _ex(*names: str) -> tuple[str, ...]:
    return tuple(f"../../examples/{name}" for name in names)


def _chunks(prefix: str, count: int, suffix: str = "") -> tuple[str, ...]:
    return tuple(f"{prefix}-{i}{suffix}.txt" for i in range(count))


_X = EXAMPLES_CLOCK
_02_QR = _ex(*_chunks("example-02-f-qr-code-numeric-value", 3))
_02_SVG = _ex(*(f"example-02-g-qr-code-{i}.svg" for i in range(3)))
_FHIR = ("FHIR_SCHEMA_ERROR",)  # card.test.ts's 110 not-short-url FHIR schema errors

CASES = [
    *(Case(f"Cards: valid 0{n} JWS", "jws", _ex(f"example-0{n}-d-jws.txt"),
           _FHIR if n == 2 else (), ("JWS_TOO_LONG",) if n == 2 else (), clock=_X)
      for n in range(4)),
    *(Case(f"Cards: valid 0{n} health card", "healthcard",
           _ex(f"example-0{n}-e-file.smart-health-card"), _FHIR if n == 2 else (),
           ("JWS_TOO_LONG",) if n == 2 else (), clock=_X) for n in range(4)),
    *(Case(f"Cards: valid 0{n} QR numeric", "qrnumeric",
           _ex(f"example-0{n}-f-qr-code-numeric-value-0.txt"), clock=_X) for n in (0, 1)),
    Case("Cards: valid 02 QR numeric", "qrnumeric", _02_QR, ("QR_CHUNKING_DEPRECATED",),
         ("JWS_TOO_LONG",), clock=_X),
    Case("Cards: valid 02 QR numeric (out of order)", "qrnumeric",
         (_02_QR[1], _02_QR[0], _02_QR[2]), ("QR_CHUNKING_DEPRECATED",), ("JWS_TOO_LONG",),
         clock=_X),
    Case("Cards: valid 03 QR numeric", "qrnumeric",
         _ex("example-03-f-qr-code-numeric-value-0.txt"), clock=_X),
    Case("Cards: valid 1195-byte QR numeric", "qrnumeric",
         ("test-example-1195-byte-qrnumeric.txt",)),
    *(Case(f"Cards: valid 0{n} QR code SVG", "qr", _ex(f"example-0{n}-g-qr-code-0.svg"),
           clock=_X) for n in (0, 1)),
    *(Case(f"Cards: valid 00 QR code: requires scaling {n}", "qr",
           (f"test-example-00-g-qr-code-0-scaled-{n}.jpg",)) for n in (23, 85)),
    Case("Cards: valid 02 QR code SVG", "qr", _02_SVG, ("QR_CHUNKING_DEPRECATED",),
         ("JWS_TOO_LONG",), clock=_X),
    Case("Cards: valid 03 QR code", "qr", _ex("example-03-g-qr-code-0.svg"), clock=_X),
    Case("Cards: valid 00 health card w/ multiple jws", "healthcard",
         ("test-example-00-e-file-multi-jws.smart-health-card",)),
    Case("Cards: valid FHIR api health card", "fhirhealthcard",
         ("test-example-00-fhirhealthcard.json",)),
    Case("Cards: valid FHIR api health card", "fhirhealthcard",
         ("test-example-00-fhirhealthcard-multi-jws.json",)),
    Case("Cards: valid FHIR api health card with optional data", "fhirhealthcard",
         ("test-example-00-fhirhealthcard-with-resource-link.json",)),
    # The issuer directory is the set of issuers a checkpoint holds.
    Case("Cards: issuer in trusted directory ref by name", "jws",
         _ex("example-00-d-jws.txt"), clock=_X),
    Case("Cards: issuer in trusted directory ref by URL", "jws",
         _ex("example-00-d-jws.txt"), clock=_X),
    Case("Cards: jws w/ trailing chars", "jws", ("test-example-00-d-jws-trailing_chars.txt",),
         ("TRAILING_CHARACTERS",)),
    Case("Cards: health card w/ trailing chars", "healthcard",
         ("test-example-00-e-file-trailing_chars.smart-health-card",), ("TRAILING_CHARACTERS",)),
    Case("Cards: numeric QR w/ trailing chars", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-trailing_chars.txt",),
         ("TRAILING_CHARACTERS",)),
    Case("Cards: jws too long", "jws", _ex("example-02-d-jws.txt"), _FHIR, ("JWS_TOO_LONG",),
         clock=_X),
    Case("Cards: unnecessary QR chunks", "qr",
         tuple(f"test-example-00-g-qr-code-{i}-qr_chunk_too_small.png" for i in (0, 1)),
         ("QR_CHUNKING_DEPRECATED",), ("INVALID_QR",)),
    Case("Cards: many unnecessary QR chunks", "qrnumeric",
         _chunks("test-example-00-f-qr-code-numeric-value", 17, "-qr_chunk_too_small"),
         ("QR_CHUNKING_DEPRECATED",), ("INVALID_QR", "UNBALANCED_QR_CHUNKS")),
    Case("Cards: inflated QR code", "qr", ("test-example-00-g-qr-code-inflated-to-v22.png",),
         (), ("INVALID_QR_VERSION",)),
    Case("Cards: invalid deflate", "healthcard",
         ("test-example-00-e-file-invalid_deflate.smart-health-card",), ("INFLATION_ERROR",)),
    Case("Cards: no deflate", "healthcard",
         ("test-example-00-e-file-no_deflate.smart-health-card",),
         ("INFLATION_ERROR", "JWS_HEADER_ERROR"), ("JWS_TOO_LONG",)),
    *(Case(f"Cards: no JWS header '{h}'", "jws", (f"test-example-00-d-jws-no_jws_header_{h}.txt",),
           ("JWS_HEADER_ERROR", "JWS_VERIFICATION_ERROR")) for h in ("alg", "kid", "zip")),
    Case("Cards: wrong JWS header 'kid'", "jws",
         ("test-example-00-d-jws-wrong_jws_header_kid.txt",), ("JWS_VERIFICATION_ERROR",)),
    Case("Cards: JWS Payload with BOM UTF-8 prefix", "jws",
         ("test-example-00-d-jws-utf8_bom_prefix.txt",),
         ("TRAILING_CHARACTERS", "TRAILING_CHARACTERS")),
    *(Case(title, "jws", (f"badcrl/{name}/jws-crl-{name}.txt",),
           ("REVOCATION_ERROR",) * (2 if name == "duplicate-rid" else 1), trust=f"badcrl/{name}")
      for title, name in (("Cards: CRL with invalid method", "invalid-method"),
                          ("Cards: CRL with invalid rid (base64)", "non-base64url-rid"),
                          ("Cards: CRL with invalid rid (duplicate)", "duplicate-rid"),
                          ("Cards: CRL with invalid rid (too long)", "too-long-rid"),
                          ("Cards: CRL with version mismatch", "version-mismatch"))),
    Case("Cards: invalid issuer url", "healthcard",
         ("test-example-00-e-file-invalid_issuer_url.smart-health-card",),
         ("ISSUER_KEY_DOWNLOAD_ERROR", "JWS_VERIFICATION_ERROR")),
    Case("Cards: invalid issuer url (http)", "healthcard",
         ("test-example-00-e-file-invalid_issuer_url_http.smart-health-card",),
         ("INVALID_ISSUER_URL", "INVALID_KEY_X5C")),
    Case("Cards: invalid issuer url (trailing /)", "healthcard",
         ("test-example-00-e-file-issuer_url_with_trailing_slash.smart-health-card",),
         ("INVALID_ISSUER_URL", "INVALID_KEY_X5C")),
    Case("Cards: invalid JWK set", "healthcard",
         ("test-example-00-e-file-bad_jwks.smart-health-card",),
         ("ISSUER_KEY_DOWNLOAD_ERROR", "JWS_VERIFICATION_ERROR"), trust="badjwks"),
    Case("Cards: invalid QR header", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt",),
         ("INVALID_NUMERIC_QR_HEADER",)),
    Case("Cards: wrong file extension", "healthcard", ("test-example-00-e-file.wrong-extension",),
         (), ("INVALID_FILE_EXTENSION",)),
    Case("Cards: invalid signature", "jws", ("test-example-00-d-jws-invalid-signature.txt",),
         ("JWS_VERIFICATION_ERROR",)),
    Case("Cards: invalid single chunk QR header", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-wrong-multi-chunk.txt",), (),
         ("INVALID_NUMERIC_QR_HEADER",)),
    Case("Cards: missing QR chunk", "qrnumeric", (_02_QR[0], _02_QR[2]),
         ("QR_CHUNKING_DEPRECATED", "MISSING_QR_CHUNK"), clock=_X),
    Case("Cards: duplicated QR chunk index", "qrnumeric", (_02_QR[0], _02_QR[2], _02_QR[0]),
         ("QR_CHUNKING_DEPRECATED", "INVALID_NUMERIC_QR_HEADER"), clock=_X),
    Case("Cards: QR chunk index out of range", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-index-out-of-range.txt", _02_QR[1]),
         ("QR_CHUNKING_DEPRECATED", "INVALID_NUMERIC_QR_HEADER")),
    Case("Cards: QR chunk too big", "qrnumeric",
         _chunks("test-example-02-f-qr-code-numeric-value", 2, "-qr_chunk_too_big"),
         ("QR_CHUNKING_DEPRECATED", "INVALID_NUMERIC_QR", "INVALID_NUMERIC_QR"),
         ("JWS_TOO_LONG",)),
    Case("Cards: invalid numeric QR with odd count", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-odd-count.txt",), ("INVALID_NUMERIC_QR",)),
    Case("Cards: invalid numeric QR with value too big", "qrnumeric",
         ("test-example-00-f-qr-code-numeric-value-0-number-too-big.txt",),
         ("INVALID_NUMERIC_QR",)),
    Case("Cards: single segment QR", "qr", ("test-example-00-g-qr-code-0-single_qr_segment.png",),
         ("INVALID_QR", "INVALID_QR_VERSION")),
    Case("Cards: too many QR segments", "qr",
         ("test-example-00-g-qr-code-0-too_many_qr_segment.png",),
         ("INVALID_QR", "INVALID_NUMERIC_QR")),
    Case("Cards: invalid QR version", "qr", ("test-example-00-g-qr-code-0-bad_qr_version.png",),
         ("INVALID_QR_VERSION",), ("INVALID_QR_VERSION",)),
    Case("Cards: corrupted QR code", "qr", ("test-example-00-g-qr-code-0-corrupted.png",),
         ("QR_DECODE_ERROR",)),
    Case("Cards: invalid JWS payload encoding (double-stringify)", "qr",
         ("test-invalid-jws-payload.png",), ("JSON_PARSE_ERROR",)),
    *(Case(f"Cards: der encoded signature{title}", "jws",
           (f"test-example-00-d-jws-der-signature{name}.txt",), ("SIGNATURE_FORMAT_ERROR",))
      for title, name in (("", ""), (" s-negative", "-s-neg"), (" r-negative", "-r-neg"),
                          (" r&s negative", "-rs-neg"))),
    Case("Cards: health card w/ multi-jws and issues", "healthcard",
         ("test-example-00-e-file-multi-jws-issues.smart-health-card",),
         ("JWS_HEADER_ERROR", "JWS_VERIFICATION_ERROR", "TRAILING_CHARACTERS")),
    Case("Cards: issuer not in trusted directory", "jws", _ex("example-00-d-jws.txt"),
         ("ISSUER_NOT_TRUSTED",), trust="none", clock=_X),
    Case("Cards: mismatch kid/issuer", "jws", ("test-example-00-d-jws-issuer-kid-mismatch.txt",),
         ("ISSUER_KID_MISMATCH",), trust="spec+not-smart"),
    # JWS files card.test.ts does not name; api.test.ts (same commit) does.
    Case("jws-with-fhir-error-cascade", "jws", ("test-example-00-d-jws-bad-fhir-metadata.txt",),
         (), ("FHIR_SCHEMA_ERROR",), source="api.test.ts"),
    Case("jws: no deflate", "jws", ("test-example-00-d-jws-no_deflate.txt",),
         ("INFLATION_ERROR", "JWS_HEADER_ERROR"), ("JWS_TOO_LONG",), source="api.test.ts"),
    Case("jws: clear key store", "jws",
         ("test-example-00-d-jws-issuer-not-valid-with-smart-key.txt",),
         ("ISSUER_KEY_DOWNLOAD_ERROR", "JWS_VERIFICATION_ERROR"), source="api.test.ts"),
]

_SAN = "https://smarthealth.cards/examples/issuer"  # keys.test.ts's EXPECTED_SUBJECT_ALT_NAME
#: keys.test.ts: each key file added as an issuer's key set (under the issuer its
#: certificate names, or another URL where the test says so).
KEY_CASES = [
    Case(title, "keys", (name,), errors, trust=iss, source="keys.test.ts")
    for title, name, errors, iss in (
        ("Keys: valid", "valid_key.json", (), _SAN),
        ("Keys: valid keys", "valid_keys.json", (), _SAN),
        ("Keys: valid with x5c (3-cert chain)", "valid_key_with_x5c.json", (), _SAN),
        ("Keys: valid with x5c (2-cert chain)", "valid_2_chain.public.json", (), _SAN),
        ("Keys: wrong key identifier (kid)", "wrong_kid_key.json", ("INVALID_KEY_WRONG_KID",),
         _SAN),
        ("Keys: wrong elliptic curve", "wrong_curve_key.json", ("INVALID_KEY_WRONG_CRV",), _SAN),
        ("Keys: wrong key use (use)", "wrong_use_key.json", ("INVALID_KEY_WRONG_USE",), _SAN),
        ("Keys: wrong algorithm (alg)", "wrong_alg_key.json", ("INVALID_KEY_WRONG_ALG",), _SAN),
        ("Keys: wrong key type (kty)", "wrong_kty_key.json", ("INVALID_KEY_WRONG_KTY",), _SAN),
        ("Keys: private key", "private_key.json", ("INVALID_KEY_PRIVATE",), _SAN),
        ("Keys: wrong SAN in x5c cert", "valid_key_with_x5c.json", ("INVALID_KEY_X5C",),
         "https://invalid.url"),
        ("Keys: wrong SAN in x5c cert (DNS prefix)", "invalid_DNS_SAN.public.json",
         ("INVALID_KEY_X5C",), _SAN),
        ("Keys: no SAN in x5c cert", "invalid_no_SAN.public.json", ("INVALID_KEY_X5C",), _SAN),
        ("Keys: key and x5c cert mismatch", "cert_mismatch.public.json", ("INVALID_KEY_X5C",),
         _SAN),
        ("Keys: invalid x5c cert chain", "invalid_chain.public.json", ("INVALID_KEY_X5C",),
         _SAN),
    )
]

#: JWS files no test of the corpus names: run, reported, counted apart.
NO_EXPECTATION = {
    "test-example-00-d-jws-jws_too_long.txt": ("unknown_key", "key"),
    "test-example-00-e-file-jws_too_long.smart-health-card": ("unknown_key", "key"),
}

#: Every case whose outcome is neither matched nor not checked: why.
MISMATCHES = {
    title: "corpus error: the specification's examples page calls example 03 a \"Revoked "
           "COVID-19 Credential\" and the issuer's revocation list names its rid "
           "(vwAjHdarZuc.1687450765, after its nbf); dev-tools checks the list's form but "
           "never looks a card's rid up in it, so card.test.ts expects it valid"
    for title in ("Cards: valid 03 JWS", "Cards: valid 03 health card",
                  "Cards: valid 03 QR numeric", "Cards: valid 03 QR code")
}

_BADCRL_ISS = "https://raw.githubusercontent.com/smart-on-fhir/health-cards-dev-tools/main/" \
              "testdata/badcrl/"
_SPEC_SITE = (SPEC_ISS, EXAMPLES / "issuer" / ".well-known" / "jwks.json")
TRUST: dict[str, list[tuple[str, Path]]] = {
    "spec": [_SPEC_SITE],
    "none": [],
    "spec+not-smart": [_SPEC_SITE, ("https://example.org/not-smart",
                                    TESTDATA / "issuer.jwks.public.not.smart.json")],
    "badjwks": [_SPEC_SITE, ("https://raw.githubusercontent.com/microsoft/"
                             "health-cards-validation-SDK/main/testdata/badjwks",
                             TESTDATA / "badjwks" / ".well-known" / "jwks.json")],
    **{f"badcrl/{name}": [_SPEC_SITE, (_BADCRL_ISS + name,
                                       TESTDATA / "badcrl" / name / ".well-known" / "jwks.json")]
       for name in ("duplicate-rid", "invalid-method", "non-base64url-rid", "too-long-rid",
                    "version-mismatch")},
}


def trusted(setup: str) -> ShcIssuers:
    """The issuers a checkpoint holds for a case, loaded as an operator would add them."""
    issuers = ShcIssuers()
    for iss, jwks in TRUST[setup]:
        issuers = issuers.merged(ShcIssuers.load(iss, jwks))
    return issuers


def render_svg(svg: str, scale: int = 4) -> bytes:
    """A PNG of a QR code's SVG as the examples draw it (one path of horizontal strokes)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])
    path = re.search(r'<path stroke="#000000" d="([^"]+)"', svg)[1]
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for op, a, b in re.findall(r"([MmHh])([-\d.]+)(?: ([-\d.]+))?", path):
        if op in "Mm":
            x, y = (float(a), float(b)) if op == "M" else (x + float(a), y + float(b))
            continue
        end = x + float(a) if op == "h" else float(a)
        draw.rectangle([x * scale, (y - 0.5) * scale, end * scale - 1, (y + 0.5) * scale - 1],
                       fill=0)
        x = end
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _read(name: str) -> str:
    # Surrounding whitespace is not part of a code (a scanner or a file adds it).
    return (TESTDATA / name).read_text(encoding="utf-8").strip()


def _jws_in(case: Case, name: str) -> list[str]:
    document = json.loads(_read(name))
    if case.kind == "healthcard":
        return document["verifiableCredential"]
    return [p["valueString"] for p in document["parameter"] if p["name"] == "verifiableCredential"]


def _qr_texts(case: Case) -> list[str]:
    if case.kind == "qrnumeric":
        return [_read(name) for name in case.files]
    texts = []
    for name in case.files:
        picture = TESTDATA / name
        found = decode_image(render_svg(picture.read_text()) if name.endswith(".svg")
                             else picture)
        if not found:
            raise VerificationError(Reason.NO_CODE, step="image")
        texts += found
    return texts


def outcome(case: Case) -> tuple[str, str]:
    """What the checkpoint makes of a case: ``VALID`` or ``(reason, step)`` of the first
    refusal (loading the case's key sets, then each card of its files)."""
    try:
        if case.kind == "keys":
            ShcIssuers.from_bytes(case.trust, (TESTDATA / case.files[0]).read_bytes())
            return VALID
        keys = trusted(case.trust)
        if case.kind in ("qrnumeric", "qr"):
            texts = _qr_texts(case)
            text = texts[0] if len(texts) == 1 else shc.join_chunks(texts)
            verify_foreign(text, ForeignTrust(shc=keys), case.clock)
            return VALID
        for name in case.files:
            for jws in [_read(name)] if case.kind == "jws" else _jws_in(case, name):
                shc.verify_jws(jws, keys, case.clock)
    except HealthCodeError as exc:
        return exc.reason.value, exc.context.get("step", "")
    return VALID


def judge(case: Case, got: tuple[str, str]) -> str:
    """``matched``, ``not checked`` or ``mismatch`` (see the module's docstring)."""
    if not case.errors:
        return "matched" if got == VALID else "mismatch"
    if got == VALID:
        return "not checked" if all(e in NOT_CHECKED for e in case.errors) else "mismatch"
    return "matched" if any(got in REFUSES.get(e, ()) for e in case.errors) else "mismatch"


ALL = CASES + KEY_CASES


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c.source}:{c.title}:{c.files[0]}")
def test_case(case):
    got = outcome(case)
    verdict = judge(case, got)
    if verdict == "mismatch":
        assert case.title in MISMATCHES, f"{got}: not what {case.source} expects"
    else:
        assert case.title not in MISMATCHES, f"{case.title} now {verdict}: {got}"


def test_the_counts_docs_interop_report():
    verdicts = [judge(case, outcome(case)) for case in ALL]
    counts = {v: verdicts.count(v) for v in ("matched", "not checked", "mismatch")}
    by_source = {s: sum(c.source == s for c in ALL)
                 for s in ("card.test.ts", "api.test.ts", "keys.test.ts")}
    assert by_source == {"card.test.ts": 71, "api.test.ts": 3, "keys.test.ts": 15}
    assert counts == {"matched": 72, "not checked": 13, "mismatch": 4}


@pytest.mark.parametrize("name", sorted(NO_EXPECTATION))
def test_files_no_test_names(name):
    kind = "jws" if name.endswith(".txt") else "healthcard"
    assert outcome(Case(name, kind, (name,), source="none")) == NO_EXPECTATION[name]


def test_titles_and_codes_are_the_sources_own():
    """Each case's title is a test of its source file, and each code one of dev-tools'."""
    codes = set(REFUSES) | set(NOT_CHECKED) | HARMLESS_WARNINGS | {"QR_CHUNKING_DEPRECATED"}
    for case in ALL:
        text = (DEV_TOOLS / case.source).read_text()
        assert f'"{case.title}"' in text or f"'{case.title}'" in text, case.title
        assert set(case.errors) <= codes
        assert set(case.warnings) <= HARMLESS_WARNINGS, case.title
        assert all(f"ec.{code}" in text or f"ErrorCode.{code}" in text
                   for code in case.errors + case.warnings), case.title


#: card.test.ts's tests of QR codes, JWS and health cards that do not run here: why.
NOT_RUN = {
    **{f"Cards: valid 02 QR code {kind}": "its images are not in the corpus (dev-tools makes "
                                          "them from the SVGs, which run)"
       for kind in ("PNG", "JPG", "BMP")},
    "Cards: SHL QR": "a SMART Health Link (shlink:/), another protocol: fetched over the "
                     "network and decrypted, not a card",
}
_TEST = re.compile(r"""(?:test|testif\(canRunFhirValidator\))\(\s*(["'])(.*?)\1\s*,\s*"""
                   r"""testCard\(\s*(?:\[[^\]]*\]|'[^']*'|"[^"]*")\s*,\s*['"](\w+)['"]""", re.S)


def test_every_card_test_of_a_code_runs():
    """card.test.ts's 119 tests: those of a QR text or image, a JWS or a health card run
    (but NOT_RUN); the others validate unsigned payloads and FHIR bundles, or SMART Health
    Links, which no checkpoint is shown."""
    tests = [(title, kind) for _, title, kind in _TEST.findall(
        (DEV_TOOLS / "card.test.ts").read_text())]
    codes = [t for t, kind in tests if kind in ("qr", "qrnumeric", "jws", "healthcard",
                                                "fhirhealthcard")]
    run = [case.title for case in CASES if case.source == "card.test.ts"]
    assert (len(tests), len(codes)) == (119, 75)
    assert sorted(run) == sorted(t for t in codes if t not in NOT_RUN)


def test_every_card_file_of_the_corpus_runs():
    run = {Path(f).name for case in ALL for f in case.files} | set(NO_EXPECTATION)
    card_files = {p.name for p in TESTDATA.rglob("*") if p.is_file()
                  and p.suffix in (".txt", ".png", ".jpg", ".smart-health-card", ".svg",
                                   ".wrong-extension")
                  or p.name.startswith("test-example-00-fhirhealthcard")}
    card_files |= {p.name for p in EXAMPLES.glob("example-*") if p.suffix != ".json"}
    assert card_files - run == set()


# Stage by stage, the examples against the corpus's own intermediate files.

@pytest.mark.parametrize("n", range(4))
def test_example_stages(n):
    texts = [p.read_text().strip()
             for p in sorted(EXAMPLES.glob(f"example-0{n}-f-qr-code-numeric-value-*.txt"))]
    text = shc.join_chunks(texts)
    jws = (EXAMPLES / f"example-0{n}-d-jws.txt").read_text().strip()
    assert shc.jws_of(text) == jws
    card_file = json.loads((EXAMPLES / f"example-0{n}-e-file.smart-health-card").read_text())
    assert card_file["verifiableCredential"] == [jws]
    payload = json.loads((EXAMPLES / f"example-0{n}-c-jws-payload-minified.json").read_bytes())
    assert shc.decode_unverified(text) == payload


def test_what_a_checkpoint_shows_for_the_examples():
    keys = trusted("spec")
    seen = {}
    for n in (0, 1, 2):
        texts = [p.read_text().strip() for p in
                 sorted(EXAMPLES.glob(f"example-0{n}-f-qr-code-numeric-value-*.txt"))]
        seen[n] = shc.verify(shc.join_chunks(texts), keys, EXAMPLES_CLOCK)
    first = seen[0]
    assert (first.format, first.issuer, first.country, first.kind, first.alg) == (
        "shc", SPEC_ISS, None, "immunization", "ES256")
    assert (first.holder.name, first.holder.birth_date) == ("John B. Anyperson", "1951-01-20")
    assert (first.issued_at, first.not_before, first.expires_at) == (1687450764, 1687450764,
                                                                     None)
    assert first.kid == "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
    assert dict(first.shows) == {"doses": "3", "vaccine": "cvx:229", "date": "2022-09-05",
                                 "revocation_list": "checked"}
    assert seen[1].kid == "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"  # the x5c key
    assert dict(seen[1].shows)["revocation_list"] == "none published"
    lab = seen[2]  # no Patient in this bundle: nobody to compare with an ID
    assert (lab.kind, lab.holder.name, lab.holder.birth_date) == ("laboratory", "", "")
    assert dict(lab.shows)["results"] == "51"


def test_example_03_is_revoked_then_expired():
    keys = trusted("spec")
    text = (EXAMPLES / "example-03-f-qr-code-numeric-value-0.txt").read_text().strip()
    with pytest.raises(VerificationError) as revoked:
        shc.verify(text, keys, EXAMPLES_CLOCK)
    assert revoked.value.reason is Reason.REVOKED
    with pytest.raises(VerificationError) as expired:  # exp 2024-06-21
        shc.verify(text, keys, 1718986764 + 301 + 1)
    assert expired.value.reason is Reason.EXPIRED
    # Without the revocation list it is the valid card the corpus's test expects.
    bare = ShcIssuers.from_bytes(SPEC_ISS, _SPEC_SITE[1].read_bytes())
    assert shc.verify(text, bare, EXAMPLES_CLOCK).holder.name == "Johnny Revoked"


@pytest.mark.parametrize("name", ["duplicate-rid", "invalid-method", "non-base64url-rid",
                                  "too-long-rid", "version-mismatch"])
def test_a_bad_revocation_list_is_the_cards_only_fault(name):
    site = TESTDATA / "badcrl" / name / ".well-known" / "jwks.json"
    keys = ShcIssuers.from_bytes(_BADCRL_ISS + name, site.read_bytes())
    card = _read(f"badcrl/{name}/jws-crl-{name}.txt")
    assert shc.verify_jws(card, keys, DEV_TOOLS_CLOCK).issuer == _BADCRL_ISS + name
